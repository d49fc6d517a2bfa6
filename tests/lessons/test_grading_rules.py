"""The grader's rules one by one, on questions made for them: text answers read as
word runs (negation, ambiguity, word boundaries), number answers read from what a
learner types, and the staff rules that keep wrong and accepted answers apart."""

import pytest
from django.core.exceptions import ValidationError

from lessons.grading import Response, grade, wrong_answer_errors, wrong_answer_feedback
from lessons.models import Question
from lessons.number_answers import read_number
from lessons.quiz_forms import AttemptForm

UDP = {"answer": "UDP", "feedback": "UDP has no connections."}


def text_question(accepted, wrong=()):
    return Question(kind="text", accepted=list(accepted), wrong_answers=list(wrong))


def right(question, typed: str) -> bool:
    return grade(question, Response(text=typed)) == 1


def test_it_accepts_an_accepted_answer_inside_a_longer_one():
    question = text_question(["TCP"], [UDP])
    for typed in ("It's TCP", "TCP (Transmission Control Protocol)", "tcp, the reliable one"):
        assert right(question, typed), typed


def test_it_finds_short_answers_only_as_whole_words():
    question = text_question(["IP"])
    assert right(question, "its IP (203.0.113.7)")
    for typed in ("ZIP code", "TCPIP", "IPC", "skip it"):
        assert not right(question, typed), typed


def test_it_does_not_count_a_negated_answer():
    question = text_question(["TCP"], [UDP])
    for typed in ("not TCP", "it isn't TCP", "It is not really TCP", "neither TCP nor UDP"):
        assert not right(question, typed), typed
    for typed in ("TCP, not UDP", "TCP (not UDP)", "No, it is TCP", "not UDP but TCP"):
        assert right(question, typed), typed
    assert wrong_answer_feedback(question, text="UDP, not TCP") == UDP["feedback"]
    # A negation reaches over filler words only, not over the rest of a sentence.
    listener = text_question(["listener"])
    assert right(listener, "the socket with no remote address is the listener")


def test_it_never_accepts_an_answer_that_also_names_a_wrong_one_and_says_why():
    question = text_question(["TCP"], [UDP])
    for typed in ("TCP or UDP", "UDP/TCP", "tcp and udp"):
        assert not right(question, typed), typed
    feedback = wrong_answer_feedback(question, text="TCP or UDP")
    assert feedback == "Your answer names both \u201cTCP\u201d and \u201cUDP\u201d; give one."


def test_it_lets_an_accepted_answer_end_without_state_error_or_socket():
    question = text_question(["listening socket", "TIME_WAIT state"])
    for typed in ("listening", "the listening one", "TIME_WAIT", "TCP_TIME_WAIT"):
        assert right(question, typed), typed


def test_it_reads_python_spellings_as_words():
    question = text_question(["Connection refused", "ECONNREFUSED"])
    for typed in ("ConnectionRefusedError", "[Errno 111] Connection refused", "ECONNREFUSED error"):
        assert right(question, typed), typed


def test_it_refuses_staff_wrong_answers_that_overlap_accepted_ones():
    wrong = [{"answer": "the TCP stack", "feedback": "f"}]
    assert "contains the accepted answer" in " ".join(wrong_answer_errors("text", wrong, ["TCP"]))
    wrong = [{"answer": "UDP", "feedback": "f"}]
    errors = wrong_answer_errors("text", wrong, ["TCP or UDP"])
    assert "contains the wrong answer" in " ".join(errors)
    assert wrong_answer_errors("text", [{"answer": "tcp.", "feedback": "f"}], ["TCP"])
    assert wrong_answer_errors(
        "text", [{"answer": "listening", "feedback": "f"}], ["listening socket"]
    )
    assert wrong_answer_errors("text", wrong, ["TCP, not UDP"]) == []
    assert wrong_answer_errors("text", wrong, ["TCP"]) == []


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("131,072", 131072),
        ("131 072", 131072),
        ("131\u00a0072", 131072),
        ("131\u2009072", 131072),
        ("131\u202f072", 131072),
        ("131_072", 131072),
        ("1,000,000", 1000000),
        ("2 sockets", 2),
        ("0 connections", 0),
        ("5 rows.", 5),
        ("two", 2),
        ("Two", 2),
        ("twelve", 12),
        ("Twenty", 20),
        ("zero", 0),
        ("none", 0),
        ("None.", 0),
        ("no", 0),
        ("no connections", 0),
        ("\u22123", -3),
        ("2.5", 2.5),
        ("0.001", 0.001),
        ("1,000.5", 1000.5),
        ("", None),
        ("   ", None),
    ],
)
def test_it_reads_a_typed_number(typed, number):
    assert read_number(typed) == number


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("about 3?", "Enter one number, such as 3 or 131072."),
        ("no idea", "Enter one number, such as 3 or 131072."),
        ("three hundred", "Enter one number, such as 3 or 131072."),
        ("one thousand", "Enter one number, such as 3 or 131072."),
        ("2,5", "Enter one number, such as 3 or 131072."),
        ("2 or 3", "Enter one number: \u201c2 or 3\u201d gives more than one."),
        ("two or three", "Enter one number: \u201ctwo or three\u201d gives more than one."),
        ("2-3", "Enter one number: \u201c2-3\u201d gives more than one."),
        (
            "1.000",
            "\u201c1.000\u201d could be read as 1 or as 1000: type the number without the point, "
            "such as 1000.",
        ),
    ],
)
def test_it_says_what_to_type_when_it_cannot_read_one_number(typed, message):
    with pytest.raises(ValidationError) as refused:
        read_number(typed)
    assert refused.value.messages == [message]


def test_it_reads_a_point_before_three_digits_as_decimal_only_where_the_answer_is():
    assert read_number("1.000", decimal=True) == 1
    assert read_number("131.072", decimal=True) == 131.072
    with pytest.raises(ValidationError):
        read_number("131.072")


def test_it_gives_number_questions_a_text_field_for_the_right_keyboard():
    whole = AttemptForm._field(Question(kind="number", prompt="p", number_answer=3), [])
    html = whole.widget.render("q1", "131,072")
    assert 'type="text"' in html and 'inputmode="numeric"' in html and 'value="131,072"' in html
    fraction = Question(kind="number", prompt="p", number_answer=0.5, tolerance=0)
    assert 'inputmode="decimal"' in AttemptForm._field(fraction, []).widget.render("q1", "")
    assert whole.clean("131,072") == 131072


def test_it_does_not_count_an_answer_the_learner_takes_back_after_naming_it():
    question = text_question(["TCP"])  # no wrong answer listed: nothing else refuses these
    for typed in (
        "TCP? no, UDP",
        "TCP? No. UDP",
        "TCP is wrong, it's UDP",
        "TCP, not really",
        "TCP is not right",
        "TCP? Nope.",
    ):
        assert not right(question, typed), typed
    for typed in ("TCP, not UDP", "TCP, isn't it?", "TCP, no doubt", "It's TCP. Not UDP."):
        assert right(question, typed), typed
    assert right(text_question(["no"]), "No, not really")


def test_it_refuses_a_number_longer_than_any_answer_instead_of_reading_infinity():
    for typed in ("1" * 400, "9" * 10_000, "1" * 10_000 + " or 2"):
        with pytest.raises(ValidationError) as refused:
            read_number(typed)
        message = refused.value.messages[0]
        assert message.startswith("A number answer is at most 100 characters"), typed
        assert len(message) < 200  # the 10 KB typed are not echoed back


def test_it_refuses_raised_small_or_fraction_digits_instead_of_reading_other_digits():
    for typed in ("5\u00b2", "2\u00b9\u2076", "\u2460", "3\u00bd"):  # 5², 2¹⁶, ①, 3½
        with pytest.raises(ValidationError) as refused:
            read_number(typed)
        assert refused.value.messages == [
            f"Type the number in plain digits: \u201c{typed}\u201d has a digit written raised, "
            "small or as a fraction, such as 3 or 131072."
        ], typed
    # Other scripts' ordinary digits and full-width digits are digits.
    assert read_number("\u0663") == 3
    assert read_number("\uff11\uff12") == 12


def test_it_reads_minus_zero_as_zero():
    assert f"{read_number('-0'):g}" == "0"
