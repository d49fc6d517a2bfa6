from django.shortcuts import get_object_or_404, render

from lessons.models import GlossaryTerm, Lesson


def course(request):
    lessons = list(
        Lesson.objects.visible_to(request.user).only(
            "title", "slug", "summary", "order", "published"
        )
    )
    return render(request, "lessons/course.html", {"lessons": lessons})


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
    return render(
        request,
        "lessons/lesson_detail.html",
        {
            "lesson": lesson,
            "previous": previous,
            "next": following,
            "position": position,
            "count": len(outline),
        },
    )


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
