import pytest

from lessons.models import Lesson, Quiz

KINDS = {"single", "multiple", "true_false", "text", "number"}


@pytest.mark.django_db
def test_it_has_a_quiz_for_every_lesson_using_every_question_type(course):
    for lesson in Lesson.objects.all():
        quiz = Quiz.objects.get(lesson=lesson)
        kinds = list(quiz.questions.values_list("kind", flat=True))
        assert len(kinds) >= 6, quiz
        assert set(kinds) == KINDS, quiz


@pytest.mark.django_db
def test_it_has_a_final_course_quiz_of_at_least_twelve_questions(course):
    final = Quiz.objects.get(lesson=None)
    kinds = list(final.questions.values_list("kind", flat=True))
    assert len(kinds) >= 12
    assert set(kinds) == KINDS
    assert {q.lesson.slug for q in final.questions.select_related("lesson")} == set(
        Lesson.objects.values_list("slug", flat=True)
    )


@pytest.mark.django_db
def test_it_links_every_question_to_a_real_lesson_section(course, client):
    pages = {}
    for quiz in Quiz.objects.prefetch_related("questions__lesson"):
        for question in quiz.questions.all():
            assert question.explanation and question.anchor, question.key
            lesson = question.lesson
            if lesson.slug not in pages:
                pages[lesson.slug] = client.get(lesson.get_absolute_url()).content.decode()
            assert f'id="{question.anchor}"' in pages[lesson.slug], question.key
