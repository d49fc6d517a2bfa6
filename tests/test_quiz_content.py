"""The course's quizzes as written: shape, links, and the qualities a quiz that tests
understanding needs (varied multiple-choice keys, no length cue, no duplicates, no
recall of the course's own wording, targeted feedback on predictable wrong numbers)."""

import re
from difflib import SequenceMatcher

import pytest

from lessons.models import Lesson, Question, Quiz

KINDS = {"single", "multiple", "true_false", "text", "number", "lab"}


@pytest.mark.django_db
def test_it_has_a_quiz_for_every_lesson_using_every_question_type(course):
    """A lab question too: every lesson after the introduction has its experiments."""
    for lesson in Lesson.objects.exclude(slug="introduction"):
        quiz = Quiz.objects.get(lesson=lesson)
        kinds = list(quiz.questions.values_list("kind", flat=True))
        assert len(kinds) >= 6, quiz
        assert set(kinds) == KINDS, quiz


@pytest.mark.django_db
def test_it_keeps_the_introduction_quiz_to_three_or_four_questions(course):
    quiz = Quiz.objects.get(lesson__slug="introduction")
    assert 3 <= quiz.questions.count() <= 4


@pytest.mark.django_db
def test_it_has_a_final_course_quiz_of_at_least_twelve_questions(course):
    final = Quiz.objects.get(lesson=None)
    kinds = list(final.questions.values_list("kind", flat=True))
    assert len(kinds) >= 12
    assert set(kinds) == KINDS
    assert kinds.count("lab") == 2
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


def choice_questions(kind):
    return list(Question.objects.filter(kind=kind).prefetch_related("choices"))


@pytest.mark.django_db
def test_it_varies_the_number_of_right_options_in_multiple_choice(course):
    questions = choice_questions("multiple")
    counts = [sum(c.is_correct for c in q.choices.all()) for q in questions]
    assert len(set(counts)) >= 3, counts
    for question, count in zip(questions, counts, strict=True):
        # Every question keeps at least one wrong option to tell apart.
        assert count < question.choices.count(), question.key


@pytest.mark.django_db
def test_it_does_not_make_the_right_option_the_longest_or_the_shortest(course):
    questions = choice_questions("single")
    longest = shortest = 0
    for question in questions:
        lengths = [len(c.text) for c in question.choices.all()]
        right = next(len(c.text) for c in question.choices.all() if c.is_correct)
        longest += right == max(lengths) and lengths.count(right) == 1
        shortest += right == min(lengths) and lengths.count(right) == 1
    assert longest <= len(questions) / 4, longest
    assert shortest <= len(questions) / 3, shortest


def words(text):
    return " ".join(re.findall(r"\w+", text.lower()))


@pytest.mark.django_db
def test_it_asks_nothing_twice(course):
    prompts = [(q.key, words(q.prompt)) for q in Question.objects.all()]
    keys = [key for key, _ in prompts]
    assert len(keys) == len(set(keys)), "a question key is used by two quizzes"
    for i, (key, prompt) in enumerate(prompts):
        for other_key, other in prompts[i + 1 :]:
            similarity = SequenceMatcher(None, prompt, other).ratio()
            assert similarity < 0.75, (key, other_key, similarity)


@pytest.mark.django_db
def test_it_asks_about_ideas_not_about_the_course_s_own_wording(course):
    recall = re.compile(
        r"course outline|what does the course say|the course (says|treats)|"
        r"in the course's picture|from the course\b",
        re.IGNORECASE,
    )
    for question in Question.objects.all():
        assert not recall.search(question.prompt), question.key


@pytest.mark.django_db
def test_it_does_not_give_a_number_answer_away_in_its_prompt(course):
    for question in Question.objects.filter(kind="number"):
        answer = f"{question.number_answer:g}"
        assert not re.search(rf"(?<![\w.]){answer}(?![\w.-])", question.prompt), question.key


@pytest.mark.django_db
def test_it_gives_targeted_feedback_for_predictable_wrong_numbers(course):
    numbers = list(Question.objects.filter(kind="number"))
    assert numbers
    for question in numbers:
        assert question.wrong_answers, question.key
        for wrong in question.wrong_answers:
            assert wrong["answer"] != question.number_answer and wrong["feedback"], question.key
    wrong = {w["answer"] for q in numbers for w in q.wrong_answers}
    assert {65535, 2, 3}.issubset(wrong)


@pytest.mark.django_db
def test_it_asks_about_the_errors_states_and_bindings_learners_meet(course):
    texts = " ".join(
        f"{q.prompt} {' '.join(c.text for c in q.choices.all())} {' '.join(q.accepted)}"
        for q in Question.objects.prefetch_related("choices")
    )
    for topic in (
        "TIME_WAIT",
        "EADDRINUSE",
        "ECONNREFUSED",
        "ss -tan",
        "0.0.0.0",  # noqa: S104 - text, not a bind
        "127.0.0.1",
        "In the playground",
        "SYN-ACK",
    ):
        assert topic in texts, topic
