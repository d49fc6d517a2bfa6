import pytest

from lessons.grading import Response, grade, wrong_answer_errors, wrong_answer_feedback
from lessons.models import Choice, Question, Quiz


@pytest.fixture
def quiz(db):
    return Quiz.objects.create(title="Q", slug="q", published=True)


def question(quiz, kind, choices=(), **fields):
    q = Question.objects.create(
        quiz=quiz,
        key=f"k{quiz.questions.count()}",
        kind=kind,
        prompt="p",
        explanation="e",
        **fields,
    )
    for order, (text, correct) in enumerate(choices):
        Choice.objects.create(question=q, text=text, is_correct=correct, order=order)
    return q


def ids(q, *texts):
    return [c.pk for c in q.choices.all() if c.text in texts]


def test_it_grades_single_choice_all_or_nothing(quiz):
    q = question(quiz, "single", [("a", True), ("b", False), ("c", False)])
    assert grade(q, Response(choice_ids=ids(q, "a"))) == 1
    assert grade(q, Response(choice_ids=ids(q, "b"))) == 0
    assert grade(q, Response(choice_ids=ids(q, "a", "b"))) == 0  # a forged second pick
    assert grade(q, Response()) == 0


def test_it_gives_partial_credit_on_multiple_choice(quiz):
    q = question(quiz, "multiple", [("a", True), ("b", True), ("c", True), ("d", False)])
    assert grade(q, Response(choice_ids=ids(q, "a", "b", "c"))) == 1
    assert grade(q, Response(choice_ids=ids(q, "a", "b"))) == pytest.approx(2 / 3)
    assert grade(q, Response(choice_ids=ids(q, "a", "b", "d"))) == pytest.approx(1 / 3)
    assert grade(q, Response(choice_ids=ids(q, "a", "d"))) == 0
    # Ticking every box is not a free pass.
    assert grade(q, Response(choice_ids=ids(q, "a", "b", "c", "d"))) == pytest.approx(2 / 3)
    assert grade(q, Response(choice_ids=ids(q, "d"))) == 0


def test_it_grades_true_or_false(quiz):
    q = question(quiz, "true_false", [("True", False), ("False", True)])
    assert grade(q, Response(choice_ids=ids(q, "False"))) == 1
    assert grade(q, Response(choice_ids=ids(q, "True"))) == 0


def test_it_accepts_text_answers_ignoring_case_and_spaces(quiz):
    q = question(quiz, "text", accepted=["TCP", "Transmission Control Protocol"])
    for typed in ("tcp", "  TCP  ", "transmission   control protocol", "Tcp\n", "TCP/IP"):
        assert grade(q, Response(text=typed)) == 1, typed
    for typed in ("UDP", "", "   ", "not TCP", "the", "..."):
        assert grade(q, Response(text=typed)) == 0, typed


def test_it_ignores_punctuation_quotes_articles_and_plurals_in_text_answers(quiz):
    q = question(quiz, "text", accepted=["server's listening socket", "IP address", "TIME_WAIT"])
    for typed in (
        "The server’s listening socket.",
        "the servers listening sockets",
        "A server's listening-socket!",
        "an IP address",
        "IP addresses",
        "‘IP address’",
        "time-wait",
        "TIME WAIT",
    ):
        assert grade(q, Response(text=typed)) == 1, typed
    for typed in ("listening", "IP", "CLOSE_WAIT", "the server", "time"):
        assert grade(q, Response(text=typed)) == 0, typed


def test_it_gives_feedback_for_a_predictable_wrong_answer(quiz):
    number = question(
        quiz,
        "number",
        number_answer=65536,
        wrong_answers=[{"answer": 65535, "feedback": "Count 0 too."}],
    )
    assert wrong_answer_feedback(number, number=65535) == "Count 0 too."
    assert wrong_answer_feedback(number, number=65536) == ""
    assert wrong_answer_feedback(number, number=None) == ""
    text = question(
        quiz,
        "text",
        accepted=["TCP"],
        wrong_answers=[{"answer": "UDP", "feedback": "UDP has no connections."}],
    )
    assert wrong_answer_feedback(text, text="  the udp. ") == "UDP has no connections."
    assert wrong_answer_feedback(text, text="TCP") == ""


def test_it_refuses_wrong_answers_that_would_be_graded_right(quiz):
    assert wrong_answer_errors("number", [{"answer": 3, "feedback": "f"}], number_answer=3)
    assert wrong_answer_errors(
        "number", [{"answer": 3.05, "feedback": "f"}], number_answer=3, tolerance=0.1
    )
    assert wrong_answer_errors("text", [{"answer": "the TCP", "feedback": "f"}], ["TCP"])
    assert wrong_answer_errors("single", [{"answer": "x", "feedback": "f"}])
    assert wrong_answer_errors("text", [{"answer": "x"}], ["TCP"])
    assert wrong_answer_errors("number", [{"answer": 2, "feedback": "f"}], number_answer=3) == []


def test_it_grades_numbers_exactly_or_within_tolerance(quiz):
    exact = question(quiz, "number", number_answer=3)
    assert grade(exact, Response(number=3.0)) == 1
    assert grade(exact, Response(number=3.0001)) == 0
    assert grade(exact, Response()) == 0
    near = question(quiz, "number", number_answer=0.3, tolerance=0.05)
    assert grade(near, Response(number=0.1 + 0.2)) == 1
    assert grade(near, Response(number=0.35)) == 1
    assert grade(near, Response(number=0.36)) == 0
