from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from labs import progress as lab_progress
from lessons import page_extras, page_parts, progress
from lessons.models import GlossaryTerm, Lesson
from lessons.views.next_url import next_url
from sockets_site import learner_state, page_cache
from sockets_site.learners import learner_for


@page_cache.one_generation()
def course(request):
    """The course and the reader's progress through it. A visitor's page is kept whole,
    one per state of their progress (page_cache.variant of what it is computed from):
    the same for everyone in that state, one page for all who have none."""
    lessons, quizzes, experiments = page_parts.course_outline(request.user)
    learner = learner_for(request)
    # What other apps add (review: the reviews due), a part of the page's variant.
    extras = page_extras.course_page(request, learner, timezone.now())

    def context() -> dict:
        course = progress.course_progress(learner, lessons, quizzes, experiments)
        return {"lessons": lessons, "progress": course, **page_extras.context(extras)}

    if not page_cache.whole_page_allowed(request):
        return render(request, "lessons/course.html", context())
    state = "new"
    if learner.known:
        lesson_ids = {item.pk for item in lessons}
        read = learner_state.of(learner).read_ids & lesson_ids
        scores = progress.quiz_scores(learner, quizzes)
        finished = lab_progress.finished_experiment_ids(learner, [item.pk for item in experiments])
        state = page_cache.variant(
            sorted(read),
            sorted((pk, score.attempts, score.score) for pk, score in scores.items()),
            sorted(finished),
            [extra.variant for extra in extras],
        )
    page = page_cache.whole_page(
        request,
        f"course:{state}",
        lambda: render_to_string("lessons/course.html", context(), request),
    )
    return HttpResponse(page)


@page_cache.one_generation()
def lesson_detail(request, slug):
    """The shared parts come from the cache; only the read and lab states are looked up
    per reader. A reader who is not logged in gets the whole page from the cache
    (page_cache), one page per read state, set of the lesson's finished experiments and
    extras (lessons.page_extras; review's warm-up: the questions it asks, never a page
    showing its result)."""
    learner = learner_for(request)
    read = progress.has_read(request, learner, slug)
    finished = lab_progress.finished_in_lesson(learner, slug)
    extras = page_extras.lesson_page(request, learner, slug, timezone.now())

    def page():
        lesson = page_parts.lesson_page(request.user, slug)
        if lesson is None:
            raise Http404("No such lesson.")
        experiments = [
            {"id": id_, "title": title, "url": url, "finished": id_ in finished}
            for id_, title, url in lesson.experiments
        ]
        context = {
            "lesson": lesson,
            "read": read,
            "experiments": experiments,
            "lab_done": bool(experiments) and all(e["finished"] for e in experiments),
            "lab_count": sum(e["finished"] for e in experiments),
            **page_extras.context(extras),
        }
        return render_to_string("lessons/lesson_detail.html", context, request)

    if page_cache.whole_page_allowed(request) and all(extra.shareable for extra in extras):
        named = ":".join(extra.variant for extra in extras)
        variant = f"lesson:{slug}:{read:d}:{'+'.join(finished)}:{named}"
        return HttpResponse(page_cache.whole_page(request, variant, page))
    return HttpResponse(page())


@require_POST
def mark_read(request, slug):
    """Reaching the end of a lesson: the end-of-lesson button, or the page script."""
    lesson = get_object_or_404(Lesson.objects.visible_to(request.user), slug=slug)
    learner = learner_for(request, create=True)
    progress.mark_read(learner, lesson.pk)
    progress.remember_read(request, learner, lesson.slug)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"read": True})
    return redirect(next_url(request, fallback=lesson.get_absolute_url()))


@page_cache.one_generation()
def glossary(request):
    """The same for every reader of an audience: its terms rendered once per generation
    and audience, the page kept whole for visitors."""

    def terms_html():
        terms = list(GlossaryTerm.objects.all())
        lessons = Lesson.objects.visible_to(request.user).only("title", "slug", "terms")
        taught_in: dict[str, list[Lesson]] = {}
        for lesson in lessons:
            for slug in lesson.terms:
                taught_in.setdefault(slug, []).append(lesson)
        for term in terms:
            term.lessons = taught_in.get(term.slug, [])
        return render_to_string("lessons/_glossary_terms.html", {"terms": terms})

    def page():
        audience = "staff" if request.user.is_staff else "public"
        terms = mark_safe(page_cache.part(("glossary", audience), terms_html))  # noqa: S308 - ours
        return render_to_string("lessons/glossary.html", {"terms_html": terms}, request)

    if page_cache.whole_page_allowed(request):
        return HttpResponse(page_cache.whole_page(request, "glossary", page))
    return HttpResponse(page())
