"""Progress says what was learned, no more: a lesson is ✓ only once its quiz is passed,
the quiz list and the course page say "Passed" / "Not yet passed" / "Not taken" in
words, and an unlimited quiz keeps its answer key until a pass, or until the learner
asks after two attempts (never on the first failure)."""

import re

import pytest
from django.utils.html import escape

from lessons.models import Attempt, Quiz
from tests.support.forms import form_in, submission, without_lab_questions


def take(client, quiz, wrong=frozenset()):
    page = client.get(quiz.get_absolute_url()).content.decode()
    url, _ = form_in(page, quiz.get_absolute_url(), "quiz-form")
    response = client.post(url, submission(page, quiz, wrong))
    assert response.status_code == 302, response.content.decode()[:2000]
    return client.get(response["Location"]).content.decode()


def every_key(quiz) -> set[str]:
    return set(quiz.questions.values_list("key", flat=True))


def card(page: str, slug: str) -> str:
    return page.split(f'href="/lessons/{slug}/"', 1)[1].split("</li>", 1)[0]


def listing_row(page: str, slug: str) -> str:
    return page.split(f'href="/quizzes/{slug}/"', 1)[1].split("</li>", 1)[0]


@pytest.fixture
def sockets_quiz(course):
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


@pytest.mark.django_db
def test_it_marks_a_lesson_read_with_a_failed_quiz_as_read_not_done(client, sockets_quiz):
    client.post("/lessons/sockets/read/")
    take(client, sockets_quiz, every_key(sockets_quiz))  # 0%
    sockets = card(client.get("/").content.decode(), "sockets")
    assert "✓" not in sockets
    assert 'class="status">Read</span>' in sockets
    assert "Quiz: Not yet passed (best 0%)" in sockets
    assert "status-done" not in sockets

    take(client, sockets_quiz)
    sockets = card(client.get("/").content.decode(), "sockets")
    assert '<span class="lesson-number" aria-hidden="true">✓</span>' in sockets
    assert ">Done</span>" in sockets and "Quiz: Passed (best 100%)" in sockets


@pytest.mark.django_db
def test_it_says_passed_not_yet_passed_or_not_taken_in_words_on_the_quiz_list(client, sockets_quiz):
    ports_quiz = without_lab_questions(Quiz.objects.get(slug="ports-quiz"))
    take(client, sockets_quiz, every_key(sockets_quiz))
    take(client, ports_quiz)
    page = client.get("/quizzes/").content.decode()
    assert "Not yet passed (best 0%)" in listing_row(page, "sockets-quiz")
    assert "Passed (best 100%)" in listing_row(page, "ports-quiz")
    assert "Not taken" in listing_row(page, "introduction-quiz")
    assert not re.search(r'class="lesson-number"[^>]*>\?<', page)  # no bare "?" icon
    assert "✓" not in listing_row(page, "sockets-quiz")
    assert "✓" in listing_row(page, "ports-quiz")


@pytest.mark.django_db
def test_it_shows_the_final_quiz_as_such_on_the_course_page(client, course):
    final = Quiz.objects.get(lesson=None)
    page = client.get("/").content.decode()
    assert "Final quiz — recommended after the lessons" in page
    section = page.split('class="final-quiz-card"', 1)[1].split("</section>", 1)[0]
    assert f'href="{final.get_absolute_url()}">{escape(final.title)}</a>' in section
    assert "Not taken" in section
    listing = client.get("/quizzes/").content.decode()
    assert "Recommended after the lessons" in listing_row(listing, final.slug)


def single_wrong(quiz):
    question = next(q for q in quiz.questions.all() if q.kind == "single")
    right = next(c for c in question.choices.all() if c.is_correct)
    return question, right


POLICY = "The answers are shown once you pass, or after two attempts if you ask."


@pytest.mark.django_db
def test_it_keeps_an_unlimited_quizs_answer_key_after_the_first_failure(client, sockets_quiz):
    assert (sockets_quiz.max_attempts, sockets_quiz.show_answers) == (None, "auto")
    question, right = single_wrong(sockets_quiz)
    quiz_page = client.get(sockets_quiz.get_absolute_url()).content.decode()
    assert POLICY in quiz_page
    result = take(client, sockets_quiz, every_key(sockets_quiz))
    assert "Not passed yet" in result
    assert POLICY in result
    assert escape(question.explanation) not in result
    assert escape(right.feedback) not in result
    assert "correct answer" not in result  # no right answer the learner did not choose
    assert "Show the answers" not in result  # one attempt: too soon to ask
    attempt = Attempt.objects.get()
    asked = client.get(attempt.get_absolute_url(), {"answers": "show"}).content.decode()
    assert escape(question.explanation) not in asked
    assert "You have not made enough attempts yet to ask." in asked


@pytest.mark.django_db
def test_it_shows_the_answer_key_on_request_after_two_attempts(client, sockets_quiz):
    question, right = single_wrong(sockets_quiz)
    take(client, sockets_quiz, every_key(sockets_quiz))
    second = take(client, sockets_quiz, every_key(sockets_quiz))
    assert escape(question.explanation) not in second  # not until asked
    url, _ = form_in(second, Attempt.objects.last().get_absolute_url(), "show-answers-form")
    assert url == Attempt.objects.last().get_absolute_url()
    shown = client.get(url, {"answers": "show"}).content.decode()
    assert escape(question.explanation) in shown and escape(right.feedback) in shown
    assert "correct answer" in shown
    assert "Show the answers" not in shown


@pytest.mark.django_db
def test_it_shows_the_answer_key_once_an_unlimited_quiz_is_passed(client, sockets_quiz):
    question, right = single_wrong(sockets_quiz)
    failed = take(client, sockets_quiz, every_key(sockets_quiz))
    assert escape(question.explanation) not in failed
    passed = take(client, sockets_quiz)
    assert escape(question.explanation) in passed and escape(right.feedback) in passed
    assert POLICY not in passed
    earlier = Attempt.objects.order_by("pk").first()
    assert escape(question.explanation) in client.get(earlier.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_it_asks_missed_questions_again_in_the_review_queue_of_an_unlimited_quiz(
    client, sockets_quiz
):
    """The review queue still asks an `auto` quiz's questions: a review answer is the
    learner's second try at a question they missed."""
    from datetime import timedelta

    from django.utils import timezone

    from review.models import ReviewCard

    take(client, sockets_quiz, every_key(sockets_quiz))
    ReviewCard.objects.update(due=timezone.now() - timedelta(minutes=1))
    page = client.get("/review/").content.decode()
    assert "review-form" in page and "Check my answer" in page
