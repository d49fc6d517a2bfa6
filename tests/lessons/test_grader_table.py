"""The grader against a teacher, on the course's real questions: for every text and
number question, answers a teacher accepts and answers a teacher rejects, as learners
type them. Number answers go through the quiz form's own field first, as a submitted
page does. A question without rows here fails the test, so a new question brings its
rows."""

import re

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError

from lessons.course_files import read_quizzes
from lessons.grading import Response, grade, wrong_answer_feedback
from lessons.models import Question, Quiz
from lessons.number_answers import NUMBER_WORDS
from lessons.quiz_forms import AttemptForm
from tests.support.forms import form_in, post_data, submission, without_lab_questions

# The review's 22 natural answers the old grader marked wrong
# (course-review-2026-12-04.md, section 3, "The real text grader").
REVIEW_MISGRADED = {
    "connection-oriented-protocol": [
        "TCP (Transmission Control Protocol)",
        "It's TCP",
        "TCP, not UDP",
    ],
    "device-identifier": [
        "its IP",
        "the machine's IP address",
        "Its IP address (e.g. 203.0.113.7)",
        "Internet Protocol (IP) address",
    ],
    "what-stays-when-socket-destroyed": [
        "TIME_WAIT state",
        "the TIME-WAIT state",
        "TCP_TIME_WAIT",
        "TIME_WAIT (2MSL)",
    ],
    "listener-has-no-remote": [
        "The listening socket on the server",
        "the socket that listens",
        "the listening socket (port 3000)",
        "server's listening socket at port 3000",
    ],
    "what-the-docks-are": ["the ports on the server", "ports (port numbers)", "network ports"],
    "econnrefused-meaning": [
        "ConnectionRefusedError",
        "[Errno 111] Connection refused",
        "Errno 111: Connection refused",
        "ECONNREFUSED error",
    ],
}

# key: (answers a teacher accepts, answers a teacher rejects)
TABLE = {
    # connections-quiz
    "connection-oriented-protocol": (
        ["TCP", "tcp.", "the TCP protocol", "Transmission Control Protocol", "TCP/IP",
         "TCP and not UDP", "TCP (not UDP)", "TCP: it opens a connection with a handshake"],
        ["UDP", "not TCP", "it isn't TCP", "UDP, not TCP", "HTTP", "HTTPS",
         "User Datagram Protocol", "neither TCP nor UDP", "IP", "STCP", "I don't know"],
    ),
    "udp-messages-connections": (
        ["0", "zero", "Zero.", "none", "None", "0 connections", "no connections",
         "no connection", "zero connections"],
        ["4", "four", "4 connections", "1", "one", "no idea", "0 or 1"],
    ),
    "ack-after-five-bytes": (
        ["6", "six", "Six", "6.", "ack 6", "acknowledgement number 6"],
        ["5", "five", "1", "7", "5 or 6", "ack 5"],
    ),
    # ports-quiz
    "device-identifier": (
        ["IP address", "an IP address", "the IP address", "IP addresses", "its IP address",
         "IPv4 address", "IPv6", "its public IP address", "the IP", "ip"],
        ["port", "the port number", "MAC address", "the MAC", "domain name", "its hostname",
         "ZIP code", "not its IP address", "its name", "the socket"],
    ),
    "tcp-listeners-in-ss": (
        ["2", "two", "Two", "2 sockets", "two sockets", "2 listeners"],
        ["3", "three", "5", "6", "1", "2 or 3"],
    ),
    "port-zero": (
        ["0", "zero", "Zero", "port 0", "Port zero", "0.", "port number 0"],
        ["65535", "1", "one", "49152", "1024", "any port", "0 or 1"],
    ),
    # sockets-quiz
    "sockets-after-two-tabs": (
        ["3", "three", "Three", "3 sockets", "three sockets", "3."],
        ["2", "two", "4", "5", "five sockets", "2 or 3", "3-4"],
    ),
    "sockets-in-one-connection": (
        ["2", "two", "Two", "2 sockets", "two sockets.", "2 endpoints"],
        ["3", "three", "1", "one socket", "2-3", "2 or 3"],
    ),
    "what-stays-when-socket-destroyed": (
        ["TIME_WAIT", "time wait", "TIME-WAIT", "TIMEWAIT", "TimeWait", "in TIME_WAIT",
         "It is in TIME-WAIT.", "time_wait state"],
        ["CLOSE_WAIT", "CLOSE-WAIT state", "CLOSED", "FIN_WAIT_2", "FIN-WAIT-2", "LISTEN",
         "LAST_ACK", "ESTABLISHED", "not TIME_WAIT", "wait"],
    ),
    # the-5-tuple-quiz
    "listener-has-no-remote": (
        ["listener", "the listening one", "the LISTEN socket", "server, listening",
         "listening server socket", "the server's listener", "the socket in LISTEN state",
         "Listening socket."],
        ["accepted socket", "the accepted one", "the client socket", "the laptop's socket",
         "the connected socket", "the server socket", "not the listening socket",
         "the socket that is not listening"],
    ),
    "listener-and-accepted-shared-values": (
        ["2", "two", "Two.", "2 values", "two of them"],
        ["3", "three", "5", "5 values", "0", "2 or 3"],
    ),
    # course-quiz
    "what-the-docks-are": (
        ["ports", "Ports.", "a port", "port numbers", "the ports", "TCP ports"],
        ["sockets", "connections", "workers", "deliveries", "the sockets, not the ports",
         "not ports", "IP addresses"],
    ),
    "ephemeral-ports-per-destination": (
        ["28232", "28,232", "28 232", "28\u00a0232", "28\u202f232", "28_232",
         "28232 connections", "28,232 connections."],
        ["65535", "65,535", "28231", "16384", "28000", "28.232", "about 28232",
         "28232 or 28231"],
    ),
    "econnrefused-meaning": (
        ["ECONNREFUSED", "econnrefused", "Connection refused", "connection refused.",
         "Connection refused (ECONNREFUSED)", "ECONNREFUSED, not ETIMEDOUT"],
        ["EADDRINUSE", "Address already in use", "ETIMEDOUT", "Connection timed out",
         "TimeoutError", "EPIPE", "Broken pipe", "ECONNRESET", "ConnectionResetError",
         "Connection reset by peer", "not ECONNREFUSED", "refused"],
    ),
    "rows-after-two-connects": (
        ["5", "five", "Five", "5 rows", "5 sockets", "five sockets"],
        ["3", "4", "2", "three", "about 5", "5 or 6"],
    ),
    "connections-waiting-with-backlog-one": (
        ["2", "two", "Two", "2 clients", "two connections", "2."],
        ["1", "one", "0", "3", "1 or 2", "one client"],
    ),
    "prefork-listeners-in-ss": (
        ["1", "one", "One", "1 line", "one LISTEN line", "1."],
        ["4", "four", "5", "0", "1 or 4", "4 lines"],
    ),
    # introduction-quiz
    "sockets-per-connection-in-rfc-793": (
        ["2", "two", "Two", "2 sockets", "two sockets.", "2 endpoints"],
        ["1", "one", "5", "4", "four", "2 or 4"],
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def questions():
    """The course's text and number questions by key, as the loader reads them from the
    content files (unsaved: grading reads only their fields; the test below checks the
    loaded ones are the same)."""
    found = [
        Question(
            key=data["key"],
            kind=data["kind"],
            prompt=data["prompt"],
            accepted=data.get("accepted", []),
            number_answer=data.get("answer") if data["kind"] == "number" else None,
            tolerance=data.get("tolerance", 0.0),
            wrong_answers=data.get("wrong_answers", []),
        )
        for quiz in read_quizzes(settings.COURSE_CONTENT_DIR)
        for data in quiz["questions"]
        if data["kind"] in ("text", "number")
    ]
    by_key = {question.key: question for question in found}
    assert len(by_key) == len(found), "question keys are not unique across quizzes"
    return by_key


def _graded_right(question, typed: str) -> bool:
    """As a submitted page is graded: a number through the form's own field (a
    message for the learner counts as not right), then the grader."""
    if question.kind == "number":
        try:
            number = AttemptForm._field(question, []).clean(typed)
        except ValidationError:
            return False
        return grade(question, Response(number=number)) == 1
    return grade(question, Response(text=typed)) == 1


def _rows(right: bool):
    column = 0 if right else 1
    return [(key, typed) for key, answers in TABLE.items() for typed in answers[column]]


@pytest.mark.django_db
def test_it_has_a_table_of_natural_answers_for_every_loaded_text_and_number_question(
    course, questions
):
    fields = ("kind", "prompt", "accepted", "number_answer", "tolerance", "wrong_answers")
    loaded = Question.objects.filter(kind__in=["text", "number"])
    assert {q.key: [getattr(q, f) for f in fields] for q in loaded} == {
        key: [getattr(q, f) for f in fields] for key, q in questions.items()
    }
    keys = set(questions)
    assert keys <= set(TABLE), f"add rows for {sorted(keys - set(TABLE))}"
    for key in keys:
        accepted, rejected = TABLE[key]
        assert len(accepted) >= 5 and len(rejected) >= 3, key


@pytest.mark.parametrize(("key", "typed"), _rows(right=True))
def test_it_accepts_what_a_teacher_accepts(questions, key, typed):
    assert _graded_right(questions[key], typed)


@pytest.mark.parametrize(("key", "typed"), _rows(right=False))
def test_it_rejects_what_a_teacher_rejects(questions, key, typed):
    assert not _graded_right(questions[key], typed)


@pytest.mark.parametrize(
    ("key", "typed"),
    [(key, typed) for key, answers in REVIEW_MISGRADED.items() for typed in answers],
)
def test_it_accepts_the_answers_the_review_found_misgraded(questions, key, typed):
    assert _graded_right(questions[key], typed)


def test_it_lists_all_22_answers_the_review_found_misgraded():
    assert sum(len(answers) for answers in REVIEW_MISGRADED.values()) == 22


def test_it_never_accepts_a_listed_wrong_answer_however_it_is_typed(questions):
    for question in questions.values():
        for wrong in question.wrong_answers:
            answer = str(wrong["answer"])
            for typed in (answer, f"the {answer}.", f"{answer.lower()}!", f"It's {answer}"):
                assert not _graded_right(question, typed), (question.key, typed)
            # Nor beside a right one, nor with the right one denied.
            for right in question.accepted:
                for typed in (f"{right} or {answer}", f"{answer}, not {right}", f"not {right}"):
                    assert not _graded_right(question, typed), (question.key, typed)


def test_it_tells_a_learner_whose_answer_names_both_a_right_and_a_wrong_one(questions):
    question = questions["connection-oriented-protocol"]
    for typed, named in (("TCP or UDP", ("TCP", "UDP")), ("tcp/udp", ("tcp", "udp"))):
        assert grade(question, Response(text=typed)) == 0
        assert wrong_answer_feedback(question, text=typed) == (
            f"Your answer names both \u201c{named[0]}\u201d and \u201c{named[1]}\u201d; give one."
        )
    udp = next(w for w in question.wrong_answers if w["answer"] == "UDP")
    assert wrong_answer_feedback(question, text="UDP, not TCP") == udp["feedback"]
    assert wrong_answer_feedback(question, text="TCP, not UDP") == ""


def natural_spellings(answers: list[float]) -> list[str]:
    """How learners type these number answers: thousands with a separator, small ones
    in turn as a word ("two") and with a unit ("2 sockets")."""
    typed = []
    for n, answer in enumerate(answers):
        if answer >= 1000:
            typed.append(f"{int(answer):,}")
        elif n % 2 == 0 and answer in NUMBER_WORDS.values():
            typed.append(next(word for word, value in NUMBER_WORDS.items() if value == answer))
        else:
            typed.append(f"{answer:g} sockets")
    return typed


@pytest.mark.django_db
def test_it_grades_numbers_typed_as_learners_type_them_in_the_quiz_form(client, course):
    typed_everywhere = []
    for quiz in Quiz.objects.filter(questions__kind="number").distinct():
        without_lab_questions(quiz)
        url = quiz.get_absolute_url()
        page = client.get(url).content.decode()
        action, form = form_in(page, f"http://testserver{url}", "quiz-form")
        data = {**post_data(form), **submission(page, quiz)}
        numbers = list(quiz.questions.filter(kind="number"))
        typed = natural_spellings([q.number_answer for q in numbers])
        for question, spelling in zip(numbers, typed, strict=True):
            assert f'name="q{question.pk}"' in form
            data[f"q{question.pk}"] = spelling
        response = client.post(action, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        result = client.get(response["Location"]).content.decode()
        assert result.count("✓ Right") == quiz.questions.count(), (quiz.slug, typed)
        typed_everywhere += typed
    assert "two" in typed_everywhere and "2 sockets" in typed_everywhere
    assert any("," in spelling for spelling in typed_everywhere)


@pytest.mark.django_db
def test_it_shows_why_an_answer_naming_both_a_right_and_a_wrong_one_scored_nothing(client, course):
    question = Question.objects.get(key="connection-oriented-protocol")
    quiz = without_lab_questions(question.quiz)
    url = quiz.get_absolute_url()
    page = client.get(url).content.decode()
    action, form = form_in(page, f"http://testserver{url}", "quiz-form")
    data = {**post_data(form), **submission(page, quiz), f"q{question.pk}": "TCP or UDP"}
    result = client.get(client.post(action, data)["Location"]).content.decode()
    assert result.count("✗ Wrong") == 1
    assert "Your answer names both “TCP” and “UDP”; give one." in result


@pytest.mark.django_db
def test_it_keeps_a_number_it_cannot_read_and_says_what_to_type_beside_the_field(client, course):
    question = Question.objects.filter(kind="number").first()
    quiz = without_lab_questions(question.quiz)
    url = quiz.get_absolute_url()
    page = client.get(url).content.decode()
    action, form = form_in(page, f"http://testserver{url}", "quiz-form")
    data = {**post_data(form), **submission(page, quiz), f"q{question.pk}": "2 or 3"}
    response = client.post(action, data)
    assert response.status_code == 200
    html = response.content.decode()
    field = re.search(rf'<input[^>]*name="q{question.pk}"[^>]*>', html).group(0)
    assert 'value="2 or 3"' in field and 'aria-invalid="true"' in field
    described_by = re.search(r'aria-describedby="([^"]+)"', field).group(1)
    message = re.search(rf'<p class="field-error" id="{described_by}">([^<]*)</p>', html)
    assert message.group(1) == "Enter one number: “2 or 3” gives more than one."
