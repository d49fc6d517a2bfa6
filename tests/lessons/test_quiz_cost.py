"""What a quiz costs the server (issue 21, item 11: a class on one process): the same few
queries however many attempts a learner has made, the questions read once per content
version, and an edit to a question or a choice still shown on the next page."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lessons.models import Quiz
from tests.support.forms import submission, without_lab_questions


@pytest.fixture
def quiz(course):
    Quiz.objects.filter(slug="sockets-quiz").update(max_attempts=None)
    return without_lab_questions(Quiz.objects.get(slug="sockets-quiz"))


def take(client, quiz) -> str:
    """One attempt through the quiz page's form, every answer wrong (no attempt passes,
    so every one is looked at); the result page's URL."""
    page = client.get(quiz.get_absolute_url()).content.decode()
    wrong = {question.key for question in quiz.questions.all()}
    response = client.post(quiz.get_absolute_url(), submission(page, quiz, wrong))
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def queries(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return [query["sql"] for query in captured]


@pytest.mark.django_db
def test_it_shows_a_quiz_and_a_result_in_as_many_queries_after_many_attempts(client, quiz):
    first = take(client, quiz)
    page, result = queries(client, quiz.get_absolute_url()), queries(client, first)
    for _ in range(4):
        last = take(client, quiz)
    assert len(queries(client, quiz.get_absolute_url())) == len(page)
    assert len(queries(client, last)) == len(result)
    history = client.get(last).content.decode().split('id="history-heading"')[1]
    assert history.count("/attempts/") == 5


@pytest.mark.django_db
def test_it_reads_the_questions_once_per_content_version(client, quiz):
    client.get(quiz.get_absolute_url())
    again = queries(client, quiz.get_absolute_url())
    assert not any("lessons_question" in sql or "lessons_choice" in sql for sql in again), again
    assert "Question 1" in client.get(quiz.get_absolute_url()).content.decode()


@pytest.mark.django_db
def test_it_shows_an_edited_question_and_choice_on_the_next_quiz_page(client, quiz):
    client.get(quiz.get_absolute_url())  # the questions are now kept
    question = quiz.questions.filter(kind="single").first()
    question.prompt = "Which `port` does the edited question ask about?"
    question.save()
    page = client.get(quiz.get_absolute_url()).content.decode()
    assert "Which <code>port</code> does the edited question ask about?" in page
    choice = question.choices.first()
    choice.text = "An edited choice"
    choice.save()
    assert "An edited choice" in client.get(quiz.get_absolute_url()).content.decode()
    choice.delete()
    assert "An edited choice" not in client.get(quiz.get_absolute_url()).content.decode()
