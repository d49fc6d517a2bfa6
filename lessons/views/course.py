from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lessons import progress
from lessons.learners import learner_for
from lessons.models import GlossaryTerm, Lesson, LessonRead, Quiz
from lessons.views.next_url import next_url


def course(request):
    lessons = list(
        Lesson.objects.visible_to(request.user).only(
            "title", "slug", "summary", "order", "published"
        )
    )
    quizzes = list(Quiz.objects.visible_to(request.user))
    course = progress.course_progress(learner_for(request), lessons, quizzes)
    return render(request, "lessons/course.html", {"lessons": lessons, "progress": course})


def _neighbours(lessons: list[Lesson], lesson: Lesson):
    index = next(i for i, item in enumerate(lessons) if item.pk == lesson.pk)
    previous = lessons[index - 1] if index > 0 else None
    following = lessons[index + 1] if index + 1 < len(lessons) else None
    return previous, following, index + 1


def lesson_detail(request, slug):
    visible = Lesson.objects.visible_to(request.user)
    lesson = get_object_or_404(visible, slug=slug)
    outline = list(visible.only("title", "slug", "order"))
    previous, following, position = _neighbours(outline, lesson)
    quiz = Quiz.objects.visible_to(request.user).filter(lesson=lesson).first()
    learner = learner_for(request)
    read = learner.owns(LessonRead.objects.filter(lesson=lesson)).exists()
    return render(
        request,
        "lessons/lesson_detail.html",
        {
            "lesson": lesson,
            "previous": previous,
            "next": following,
            "position": position,
            "count": len(outline),
            "quiz": quiz,
            "read": read,
        },
    )


@require_POST
def mark_read(request, slug):
    """Reaching the end of a lesson: the end-of-lesson button, or the page script."""
    lesson = get_object_or_404(Lesson.objects.visible_to(request.user), slug=slug)
    learner = learner_for(request, create=True)
    progress.mark_read(learner, lesson.pk)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"read": True})
    return redirect(next_url(request, fallback=lesson.get_absolute_url()))


def glossary(request):
    terms = list(GlossaryTerm.objects.all())
    lessons = Lesson.objects.visible_to(request.user).only("title", "slug", "terms")
    taught_in: dict[str, list[Lesson]] = {}
    for lesson in lessons:
        for slug in lesson.terms:
            taught_in.setdefault(slug, []).append(lesson)
    for term in terms:
        term.lessons = taught_in.get(term.slug, [])
    return render(request, "lessons/glossary.html", {"terms": terms})
