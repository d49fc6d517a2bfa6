"""Lab questions, as Django serves them: the quiz page holds the task and a link to the
playground but no input and no check; a submission is graded from the session's sandbox
only (here there is none, so it is wrong, with the "open the playground" feedback,
whatever the form claims); staff edit, preview and analyse lab questions.

Grading from a real sandbox under Daphne: tests/labs/test_quiz_live.py."""

import json
import re

import pytest
from django.utils.html import escape

from labs.grading import NO_SANDBOX
from lessons.models import Answer, Attempt, Question, Quiz
from tests.support.forms import post_data, submission

QUIZ = "connections-quiz"
KEY = "bring-a-socket-to-close-wait"


@pytest.fixture
def quiz(course):
    return Quiz.objects.get(slug=QUIZ)


@pytest.fixture
def lab(quiz):
    return quiz.questions.get(key=KEY)


@pytest.mark.django_db
def test_it_asks_a_lab_question_with_a_link_to_the_playground_and_no_input(client, quiz, lab):
    page = client.get(quiz.get_absolute_url()).content.decode()
    item = page.split(escape(lab.prompt).split("CLOSE_WAIT")[0], 1)[1].split("</li>", 1)[0]
    assert "Do it in the playground." in item
    assert re.search(r'<a href="/playground/" target="_blank" rel="noopener">', item)
    assert "looks at your playground's live sockets" in item.replace("&#x27;", "'")
    assert "<input" not in item and "<textarea" not in item
    assert f'name="q{lab.pk}"' not in page


@pytest.mark.django_db
def test_it_never_puts_a_lab_questions_checks_in_the_quiz_page(client, course):
    for quiz in Quiz.objects.filter(questions__kind="lab").distinct():
        page = client.get(quiz.get_absolute_url()).content.decode()
        for question in quiz.questions.filter(kind="lab"):
            assert escape(question.explanation) not in page
            for step in question.lab_steps:
                assert escape(step["text"]) not in page, question.key
                assert escape(json.dumps(step["check"])) not in page
            assert not re.search(r"no_socket|remote_port|closed_by_program|at_least", page)


def submit(client, quiz, extra=None):
    page = client.get(quiz.get_absolute_url()).content.decode()
    data = {**submission(page, quiz), **(extra or {})}
    response = client.post(quiz.get_absolute_url(), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


@pytest.mark.django_db
def test_it_grades_a_lab_question_wrong_without_a_sandbox_and_says_to_open_the_playground(
    client, quiz, lab
):
    result = client.get(submit(client, quiz)).content.decode()
    answer = Answer.objects.get(question=lab)
    assert answer.points == 0 and not answer.answered
    assert answer.lab_result["sandbox"] is False
    total = quiz.questions.count()
    assert f"You scored {round(100 * (total - 1) / total)}%" in result
    item = result.split(escape(lab.prompt).split("CLOSE_WAIT")[0], 1)[1].split("</li>", 1)[0]
    assert "✗ Not answered" in item
    assert escape(NO_SANDBOX) in item and "open the playground first" in NO_SANDBOX
    assert '<a href="/playground/" target="_blank" rel="noopener">' in item


@pytest.mark.django_db
def test_it_ignores_whatever_a_form_claims_for_a_lab_question(client, quiz, lab):
    forged = {
        f"q{lab.pk}": "CLOSE_WAIT",
        "lab": "complete",
        "lab_result": json.dumps({"sandbox": True, "complete": True}),
        "complete": "true",
    }
    result = client.get(submit(client, quiz, forged)).content.decode()
    answer = Answer.objects.get(question=lab)
    assert answer.points == 0 and answer.text == ""
    assert answer.lab_result["complete"] is False
    assert escape(NO_SANDBOX) in result


@pytest.mark.django_db
def test_it_retries_a_missed_lab_question(client, quiz, lab):
    result = submit(client, quiz)
    first = Attempt.objects.get()
    retry = client.get(f"{result}retry/").content.decode()
    assert "retrying the questions you missed" in retry
    assert escape(lab.prompt.split("CLOSE_WAIT")[0]) in retry
    assert first.answers.get(question=lab).points == 0


@pytest.mark.django_db
def test_it_previews_a_lab_question_for_staff_with_its_checks_in_words(staff_client, quiz, lab):
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/preview/").content.decode()
    item = page.split(f'id="question-{KEY}"', 1)[1].split("</li>\n", 1)[0]
    for step in lab.lab_steps:
        assert escape(step["text"]) in item
    assert "in state CLOSE_WAIT" in item


def change_url(quiz):
    return f"/admin/lessons/quiz/{quiz.pk}/change/"


def question_url(question):
    return f"/admin/lessons/question/{question.pk}/change/"


def question_form(staff_client, question):
    """The question's own admin page's form, as the browser would post it back."""
    return post_data(staff_client.get(question_url(question)).content.decode())


@pytest.mark.django_db
def test_it_edits_a_lab_questions_steps_in_the_question_admin(staff_client, quiz, lab):
    data = question_form(staff_client, lab)
    steps = [
        {"text": "A listener on server port 3100.", "check": {"socket": {"port": 3100}}},
    ]
    data["lab_steps"] = json.dumps(steps)
    response = staff_client.post(question_url(lab), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response["Location"] == change_url(quiz)
    assert Question.objects.get(pk=lab.pk).lab_steps == steps


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("[]", "Steps must be a list of one step or more"),
        ('[{"text": "x", "check": {"socket": {"port": 70000}}}]', "a port number from 1 to 65535"),
        (
            '[{"text": "x", "check": {"sockets": {"device": "server"}}}]',
            "needs &#x27;at_least&#x27;",
        ),
    ],
)
def test_it_refuses_a_lab_question_with_bad_steps_in_the_question_admin(
    staff_client, quiz, lab, steps, message
):
    before = quiz.content_hash()
    data = question_form(staff_client, lab)
    data["lab_steps"] = steps
    response = staff_client.post(question_url(lab), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Quiz.objects.get(pk=quiz.pk).content_hash() == before


@pytest.mark.django_db
def test_it_refuses_lab_steps_on_a_question_of_another_kind_in_the_admin(staff_client, quiz):
    text = next(q for q in quiz.questions.all() if q.kind == "text")
    data = question_form(staff_client, text)
    data["lab_steps"] = '[{"text": "x", "check": {"socket": {}}}]'
    response = staff_client.post(question_url(text), data)
    assert response.status_code == 200
    assert "Only lab questions have lab steps" in response.content.decode()


@pytest.mark.django_db
def test_it_counts_no_sandbox_as_the_most_common_wrong_answer_in_the_item_analysis(
    staff_client, client, quiz, lab
):
    submit(client, quiz)
    page = staff_client.get(f"/admin/lessons/quiz/{quiz.pk}/analysis/").content.decode()
    row = page.split(escape(lab.prompt), 1)[1].split("</tr>", 1)[0]
    assert "Lab (done in the playground" in row
    assert "no sandbox (1)" in row
