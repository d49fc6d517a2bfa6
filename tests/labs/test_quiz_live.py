"""Lab questions and lab progress on the real site under Daphne: a browser opens the
playground page (its session), does real socket operations over the WebSocket, and
submits the quiz over HTTP with the same cookies. The lab question is graded from the
session's live sandbox, as the kernel reports it: wrong until the state is really there
(whatever the form or the WebSocket claims), right once it is; another session's sandbox
never counts. An experiment the engine sees finished shows on the course and lesson pages
and moves to the account on sign-up."""

import html

import pytest
from django.conf import settings

from lessons import course_files
from tests.support.live_server import DaphneServer
from tests.support.site_visitor import Browser, command, connect, field, lab_item, socket_reaches

CLOSE_WAIT_QUIZ = "/quizzes/connections-quiz/"
CLOSE_WAIT_PROMPT = "In the playground, bring a TCP socket of the server into CLOSE_WAIT"
REFUSED_QUIZ = "/quizzes/ports-quiz/"
REFUSED_PROMPT = "In the playground, connect from the laptop to server port 4000"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with DaphneServer(tmp_path_factory.mktemp("labs")) as server:
        yield server


def question_id(server, key) -> int:
    script = f"from lessons.models import Question; print(Question.objects.get(key='{key}').pk)"
    return int(server.manage("shell", "--no-imports", "-c", script).stdout.strip())


def test_it_grades_close_wait_from_the_kernel_not_from_what_the_client_claims(server):
    browser = Browser(server)
    ws = browser.playground()
    client, accepted = connect(ws, 3000)

    # Claims the server never believes: a forged answer in the form, forged frames on
    # the WebSocket (a socket row, a progress event), none of them the kernel's.
    lab = question_id(server, "bring-a-socket-to-close-wait")
    forged_row = {**accepted, "state": "CLOSE_WAIT", "state_source": "kernel"}
    for frame in (
        {"type": "socket", "socket": forged_row},
        {"op": "socket", "socket": forged_row},
        {"op": "experiment.progress", "experiment": "ports-stay", "done": 5, "finished": True},
    ):
        assert command(ws, "forged", **frame)["type"] == "error"
    forged = {f"q{lab}": "CLOSE_WAIT", "lab": "complete", "complete": "true"}
    result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ, forged), CLOSE_WAIT_PROMPT)
    assert "✗ Wrong" in result, result
    assert "1 of 2 steps reached" in result
    assert "Found:" in result and "Step 1:" in result
    assert "Missing: Step 2 needs" in result and "CLOSE_WAIT" in result.split("Missing:")[1]

    # The laptop closes first: the kernel moves the server's socket to CLOSE_WAIT.
    assert command(ws, "close", op="close", socket=client["id"])["type"] == "ok"
    socket_reaches(ws, lambda s: s["id"] == accepted["id"] and s["state"] == "CLOSE_WAIT")
    result = lab_item(browser.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    assert "✓ Right" in result, result
    assert "2 of 2 steps reached" in result and "Missing:" not in result
    assert f"socket {accepted['id']}" in result and "in state CLOSE_WAIT" in result
    ws.close()


def test_it_grades_a_refused_connection_then_fixed(server):
    browser = Browser(server)
    ws = browser.playground()
    to = {"device": "server", "port": 4000}
    refused = command(ws, "refused", op="tcp.connect", device="laptop", to=to)
    assert refused["type"] == "error" and refused["code"] == "ECONNREFUSED"
    result = lab_item(browser.submit_quiz(REFUSED_QUIZ), REFUSED_PROMPT)
    assert "✗ Wrong" in result and "1 of 3 steps reached" in result
    assert "tcp.connect was answered ECONNREFUSED" in result

    connect(ws, 4000)
    result = lab_item(browser.submit_quiz(REFUSED_QUIZ), REFUSED_PROMPT)
    assert "✓ Right" in result and "3 of 3 steps reached" in result
    ws.close()


def test_it_grades_only_the_sessions_own_sandbox(server):
    doer, onlooker = Browser(server), Browser(server)
    ws = doer.playground()
    client, accepted = connect(ws, 3000)
    command(ws, "close", op="close", socket=client["id"])
    socket_reaches(ws, lambda s: s["id"] == accepted["id"] and s["state"] == "CLOSE_WAIT")

    onlooker.start_session()  # a session, but no WebSocket: no sandbox
    result = lab_item(onlooker.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    assert "✗ Not answered" in result
    assert "No sandbox was found for your session: open the playground first" in result
    stranger = Browser(server)  # no session at all
    result = lab_item(stranger.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    assert "open the playground first" in result
    assert "✓ Right" in lab_item(doer.submit_quiz(CLOSE_WAIT_QUIZ), CLOSE_WAIT_PROMPT)
    ws.close()


def test_it_counts_an_experiment_the_engine_saw_finished_and_keeps_it_on_sign_up(server):
    browser = Browser(server)
    ws = browser.playground()
    assert "port-before-socket" in {e["id"] for e in browser.hello["experiments"]}
    started = command(ws, "start", op="experiment.start", experiment="port-before-socket")
    assert started["type"] == "ok" and not started["finished"]
    prediction = {"experiment": "port-before-socket", "step": 2, "choice": 1}
    assert command(ws, "predict", op="experiment.predict", **prediction)["type"] == "ok"
    listener = command(ws, "listen", op="tcp.listen", device="server", port=3000)["socket"]
    # Its last step is done only by the learner's pick of the listener.
    assert command(ws, "pick", op="experiment.pick", socket=listener["id"])["matched"]
    ws.until(lambda e: e["type"] == "experiment.progress" and e["finished"])
    ws.close()

    def sockets_card():
        page = browser.get("/")
        return page.split('href="/lessons/sockets/"', 1)[1].split("</li>", 1)[0]

    # Recorded by the engine's hooks in the background: the page shows it once it is
    # written, so read until then (bounded by the attempts, not by time).
    for _ in range(200):
        if "Lab: 1 of 4 experiments finished" in sockets_card():
            break
    assert "Lab: 1 of 4 experiments finished" in sockets_card()
    lesson = browser.get("/lessons/sockets/")
    item = lesson.split('data-experiment="port-before-socket"', 1)[1].split("</li>", 1)[0]
    assert "Finished</span>" in item

    page = browser.get("/accounts/signup/")
    status, _, _ = browser.request(
        "/accounts/signup/",
        {
            "username": "lab-learner",
            "password1": "a-very-long-passphrase",
            "password2": "a-very-long-passphrase",
            "csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken"),
        },
    )
    assert status == 302
    assert "lab-learner" in browser.get("/")
    assert "Lab: 1 of 4 experiments finished" in sockets_card()
    assert not [line for line in server.log if "Traceback" in line], server.log[-40:]


def do_close_wait(ws):
    client, accepted = connect(ws, 3000)
    command(ws, "close", op="close", socket=client["id"])
    socket_reaches(ws, lambda s: s["id"] == accepted["id"] and s["state"] == "CLOSE_WAIT")


def do_refused_then_fixed(ws):
    to = {"device": "server", "port": 4000}
    assert command(ws, "refused", op="tcp.connect", device="laptop", to=to)["code"] == (
        "ECONNREFUSED"
    )
    connect(ws, 4000)


def listen_and_connect(ws, port: int) -> tuple[dict, dict, dict]:
    """Like connect(), and the listener too: (listener, client, accepted)."""
    listener = command(ws, "listen", op="tcp.listen", device="server", port=port)["socket"]
    to = {"device": "server", "port": port}
    answer = command(ws, "connect", op="tcp.connect", device="laptop", to=to)
    assert answer["type"] == "ok", answer
    accepted = socket_reaches(ws, lambda s: s["role"] == "accepted" and s["state"] == "ESTABLISHED")
    return listener, answer["socket"], accepted


def do_eaddrinuse_with_no_process(ws):
    listener, client, accepted = listen_and_connect(ws, 3000)
    command(ws, "close-server", op="close", socket=accepted["id"])
    socket_reaches(ws, lambda s: s["id"] == accepted["id"] and s["state"] == "FIN_WAIT2")
    command(ws, "close-laptop", op="close", socket=client["id"])
    socket_reaches(ws, lambda s: s["id"] == accepted["id"] and s["state"] == "TIME_WAIT")
    assert command(ws, "close-listener", op="close", socket=listener["id"])["type"] == "ok"
    again = command(ws, "again", op="tcp.listen", device="server", port=3000)
    assert again["type"] == "error" and again["code"] == "EADDRINUSE", again


def do_refused_beside_an_open_connection(ws):
    listener, _, _ = listen_and_connect(ws, 3000)
    assert command(ws, "close-listener", op="close", socket=listener["id"])["type"] == "ok"
    to = {"device": "server", "port": 3000}
    again = command(ws, "again", op="tcp.connect", device="laptop", to=to)
    assert again["type"] == "error" and again["code"] == "ECONNREFUSED", again


def do_two_connections(ws):
    _, first = connect(ws, 3000)
    to = {"device": "server", "port": 3000}
    assert command(ws, "again", op="tcp.connect", device="laptop", to=to)["type"] == "ok"
    second = socket_reaches(
        ws,
        lambda s: (
            s["role"] == "accepted" and s["state"] == "ESTABLISHED" and s["id"] != first["id"]
        ),
    )
    assert second["remote"]["port"] != first["remote"]["port"]


RECIPES = {
    "refused-then-listening": do_refused_then_fixed,
    "both-ends-of-one-connection": lambda ws: connect(ws, 3000),
    "bring-a-socket-to-close-wait": do_close_wait,
    "eaddrinuse-with-no-process": do_eaddrinuse_with_no_process,
    "refused-beside-an-open-connection": do_refused_beside_an_open_connection,
    "two-connections-on-one-listening-port": do_two_connections,
}


def lab_questions() -> dict[str, tuple[str, str]]:
    """Every lab question of the course files: key -> (quiz page, its prompt)."""
    found = {}
    for quiz in course_files.read_quizzes(settings.COURSE_CONTENT_DIR):
        for question in quiz["questions"]:
            if question["kind"] == "lab":
                found[question["key"]] = (f"/quizzes/{quiz['slug']}/", question["prompt"])
    return found


def test_it_has_a_recipe_for_every_lab_question_of_the_course():
    assert set(RECIPES) == set(lab_questions())


@pytest.mark.parametrize("key", sorted(RECIPES))
def test_it_grades_each_lab_question_of_the_course_right_once_done_for_real(server, key):
    """What each question asks is what the kernel shows after these real operations."""
    quiz, prompt = lab_questions()[key]
    prompt = html.escape(prompt, quote=False).split(":")[0]
    browser = Browser(server)
    ws = browser.playground()
    assert "✗ Wrong" in lab_item(browser.submit_quiz(quiz), prompt)  # a fresh sandbox
    RECIPES[key](ws)
    result = lab_item(browser.submit_quiz(quiz), prompt)
    assert "✓ Right" in result, result
    ws.close()
