"""Every text question of the course accepts its natural answers as learners type them:
any case, spacing, punctuation, curly quotes, a leading article or a plural."""

import pytest

from lessons.grading import Response, grade, wrong_answer_feedback
from lessons.models import Question


def variations(answer: str) -> list[str]:
    last = answer.split()[-1]
    plural = answer if last.endswith("s") else f"{answer}s"
    return [
        answer,
        answer.upper(),
        answer.lower(),
        f"  {answer}  ",
        answer.replace(" ", "   "),
        f"{answer}.",
        f"“{answer}”",
        f"‘{answer}’!",
        f"the {answer}",
        f"The {answer}",
        f"a {answer}",
        plural,
        answer.replace("'", "’"),
    ]


@pytest.mark.django_db
def test_it_accepts_every_text_answer_with_ordinary_variations(course):
    questions = list(Question.objects.filter(kind="text"))
    assert len(questions) >= 5
    for question in questions:
        for answer in question.accepted:
            for typed in variations(answer):
                assert grade(question, Response(text=typed)) == 1, (question.key, typed)


@pytest.mark.django_db
def test_it_accepts_the_natural_answers_the_review_found_rejected(course):
    natural = {
        "device-identifier": ["an IP address", "the IP address", "its IP address", "IPv4 address"],
        "listener-has-no-remote": [
            "Server, listening",
            "server listener",
            "the server's listener",
            "listen socket",
            "the server’s listening socket",
        ],
        "what-the-docks-are": ["the ports", "the port", "Ports."],
        "connection-oriented-protocol": ["TCP/IP", "TCP."],
        "what-stays-when-socket-destroyed": ["TIME-WAIT", "time_wait", "TIME WAIT"],
    }
    for key, answers in natural.items():
        question = Question.objects.get(key=key)
        for typed in answers:
            assert grade(question, Response(text=typed)) == 1, (key, typed)


@pytest.mark.django_db
def test_it_marks_predictable_wrong_text_answers_wrong_with_feedback(course):
    for question in Question.objects.filter(kind="text"):
        for wrong in question.wrong_answers:
            typed = f"The {wrong['answer']}."
            assert grade(question, Response(text=typed)) == 0, (question.key, typed)
            assert wrong_answer_feedback(question, text=typed) == wrong["feedback"]
