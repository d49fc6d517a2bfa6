"""Prediction and picked steps. As course content: a step's `predict` {prompt, choices,
answer} and its `explain` load from the experiment files (validated, errors naming the file
and the step), export back in the same shape, and are edited in the admin as a question, one
choice per line and the right one's number, with errors in staff's words. Through the real
consumer: prompts and choices go out, answers and explanations only once a step is done; a
prediction is kept once and goes to the review queue; a picked step is reached only by a
pick the server checks against its own table and packets."""

import json
from io import StringIO

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command

from labs.models import Experiment, ExperimentStep, LabRun
from lessons.models import Lesson
from tests.support.consumer_helpers import next_of, open_ws
from tests.support.forms import post_data

EXPERIMENT = """\
title: Connect to nothing
lesson: sockets
teaches: sockets#ports-and-sockets-are-not-the-same-thing
order: 90
published: true
steps:
  - text: Connect from the laptop to server port 4100.
    predict:
      prompt: What will connect() return?
      choices:
        - It connects
        - ECONNREFUSED
        - It waits until a program listens
      answer: 1
    explain: "ECONNREFUSED: the port number is fine, but no socket listens there."
    check: {error: ECONNREFUSED, op: tcp.connect}
  - text: Listen on server port 4100.
    check: {socket: {device: server, port: 4100, state: LISTEN}}
"""


def load(content_dir, *args) -> str:
    out = StringIO()
    call_command("load_course", "--content-dir", str(content_dir), *args, stdout=out)
    return out.getvalue()


def write(content_dir, text, slug="connect-to-nothing"):
    path = content_dir / "experiments" / f"{slug}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.django_db
def test_it_loads_a_steps_prediction_and_explanation(content_dir):
    write(content_dir, EXPERIMENT)
    load(content_dir)
    first, second = Experiment.objects.get(slug="connect-to-nothing").steps.all()
    assert first.prediction == {
        "prompt": "What will connect() return?",
        "choices": ["It connects", "ECONNREFUSED", "It waits until a program listens"],
        "answer": 1,
    }
    assert first.explain == "ECONNREFUSED: the port number is fine, but no socket listens there."
    assert (second.prediction, second.explain) == ({}, "")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("        - It waits until a program listens\n", "", None),  # two choices: fine
        (
            "        - It connects\n        - ECONNREFUSED\n        - It waits until a program "
            "listens\n",
            "        - ECONNREFUSED\n",
            r"Step 1's prediction needs 'choices': a list of 2 to 6 answers",
        ),
        (
            "        - It connects\n",
            "".join(f"        - Choice {n}\n" for n in range(5)),
            r"Step 1's prediction needs 'choices': a list of 2 to 6 answers",
        ),
        (
            "answer: 1",
            "answer: 3",
            r"Step 1's prediction: 'answer' is 3, but the choices are numbered 0 to 2",
        ),
        ("answer: 1", "answer: -1", r"'answer' is -1, but the choices are numbered 0 to 2"),
        ("answer: 1", "answer: true", r"Step 1's prediction needs an 'answer'"),
        ("      answer: 1\n", "", r"Step 1's prediction needs an 'answer'"),
        (
            "prompt: What will connect() return?",
            'prompt: "  "',
            r"Step 1's prediction needs a 'prompt'",
        ),
        ("        - It connects\n", "        - ECONNREFUSED\n", r"two choices say the same thing"),
        ("      answer: 1\n", "      answer: 1\n      hint: no\n", r"'hint' is not a prediction"),
        ("    explain: ", "    explanation: ", r"step 1: a step has exactly 'text' and 'check'"),
    ],
)
def test_it_refuses_a_broken_prediction_naming_the_file_and_step(content_dir, old, new, message):
    assert old in EXPERIMENT
    write(content_dir, EXPERIMENT.replace(old, new))
    if message is None:
        load(content_dir)
        assert (
            len(
                Experiment.objects.get(slug="connect-to-nothing")
                .steps.first()
                .prediction["choices"]
            )
            == 2
        )
        return
    with pytest.raises(CommandError, match=r"experiments/connect-to-nothing\.yaml.*" + message):
        load(content_dir)
    assert not Experiment.objects.exists()


@pytest.mark.django_db
def test_it_refuses_a_prediction_in_a_lab_question(content_dir):
    path = content_dir / "quizzes" / "sockets-quiz.yaml"
    path.write_text(
        path.read_text()
        + """\
  - key: lab-with-prediction
    kind: lab
    prompt: Listen.
    explanation: Because.
    teaches: sockets#ports-and-sockets-are-not-the-same-thing
    lab_steps:
      - text: Listen on server port 4100.
        predict: {prompt: "Will it listen?", choices: ["Yes", "No"], answer: 0}
        check: {socket: {device: server, port: 4100, state: LISTEN}}
"""
    )
    with pytest.raises(
        CommandError, match=r"'lab-with-prediction', lab_steps, step 1: a step has exactly"
    ):
        load(content_dir)


@pytest.mark.django_db
def test_it_exports_predictions_in_the_shape_it_loads(content_dir, tmp_path):
    write(content_dir, EXPERIMENT)
    load(content_dir)
    out = tmp_path / "exported"
    call_command("export_course", "--content-dir", str(out), verbosity=0)
    text = (out / "experiments" / "connect-to-nothing.yaml").read_text()
    assert (
        "  - text: Connect from the laptop to server port 4100.\n"
        "    predict:\n"
        "      prompt: What will connect() return?\n"
        "      choices:\n"
        "        - It connects\n"
        "        - ECONNREFUSED\n"
        "        - It waits until a program listens\n"
        "      answer: 1\n"
        "    explain: 'ECONNREFUSED: the port number is fine, but no socket listens there.'\n"
        "    check: {error: ECONNREFUSED, op: tcp.connect}\n"
    ) in text
    output = load(out)
    assert "Experiments: 0 created, 0 updated" in output and "Skipped" not in output


def change_url(experiment):
    return f"/admin/labs/experiment/{experiment.pk}/change/"


@pytest.fixture
def experiment(content_dir):
    write(content_dir, EXPERIMENT)
    load(content_dir)
    return Experiment.objects.get(slug="connect-to-nothing")


@pytest.mark.django_db
def test_it_shows_a_prediction_in_the_admin_as_staff_count(staff_client, experiment):
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    assert data["steps-0-predict_prompt"] == "What will connect() return?"
    assert data["steps-0-predict_choices"].splitlines() == [
        "It connects",
        "ECONNREFUSED",
        "It waits until a program listens",
    ]
    assert data["steps-0-predict_answer"] == "2"  # the second line
    assert data["steps-1-predict_prompt"] == ""


@pytest.mark.django_db
def test_it_adds_and_removes_a_prediction_in_the_admin(staff_client, experiment):
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data["steps-1-predict_prompt"] = "What will ss show for the server?"
    data["steps-1-predict_choices"] = "LISTEN\r\nESTABLISHED\r\n\r\nnothing\r\n"
    data["steps-1-predict_answer"] = "1"
    data["steps-1-explain"] = "A listening socket is in state LISTEN."
    for name in ("predict_prompt", "predict_choices", "predict_answer", "explain"):
        data[f"steps-0-{name}"] = ""
    response = staff_client.post(change_url(experiment), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first, second = experiment.steps.all()
    assert (first.prediction, first.explain) == ({}, "")
    assert second.prediction == {
        "prompt": "What will ss show for the server?",
        "choices": ["LISTEN", "ESTABLISHED", "nothing"],
        "answer": 0,
    }
    assert second.explain == "A listening socket is in state LISTEN."


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"predict_answer": "4"}, "There are 3 choices: the right one is a number from 1 to 3."),
        ({"predict_answer": ""}, "Give the line number of the right choice."),
        ({"predict_prompt": ""}, "A prediction needs its question."),
        ({"predict_choices": "ECONNREFUSED"}, "Write 2 to 6 choices, one per line (there are 1)."),
        ({"predict_choices": "A\nB\nA"}, "Two lines say the same thing."),
        ({"predict_answer": "0"}, "Ensure this value is greater than or equal to 1."),
    ],
)
def test_it_refuses_a_prediction_staff_got_wrong_saying_why(
    staff_client, experiment, changes, message
):
    before = experiment.content_hash()
    data = post_data(staff_client.get(change_url(experiment)).content.decode())
    data.update({f"steps-0-{name}": value for name, value in changes.items()})
    response = staff_client.post(change_url(experiment), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert Experiment.objects.get(pk=experiment.pk).content_hash() == before  # nothing saved


# Through the real consumer: predictions and picks as the playground's protocol carries them.

REFUSED_STEPS = [
    {
        "text": "Connect from laptop to server port 3000.",
        "prediction": {
            "prompt": "What will connect() return?",
            "choices": ["It connects", "ECONNREFUSED", "It waits"],
            "answer": 1,
        },
        "explain": "SECRET-1: no socket listens there.",
        "check": {"error": "ECONNREFUSED", "op": "tcp.connect"},
    },
    {
        "text": "Listen on server port 3000.",
        "prediction": {"prompt": "Its state?", "choices": ["LISTEN", "ESTABLISHED"], "answer": 0},
        "explain": "SECRET-2: a listener is in state LISTEN.",
        "check": {"socket": {"device": "server", "port": 3000, "role": "listener"}},
    },
    {
        "text": "Find the listener in the table, and pick it.",
        "explain": "SECRET-3: that one.",
        "check": {"picked": {"socket": {"device": "server", "role": "listener", "port": 3000}}},
    },
]
PACKET_STEPS = [
    {
        "text": "Listen on server port 3000 and connect from laptop.",
        "check": {"connection": {"client": {"device": "laptop"}}},
    },
    {
        "text": "Find the packet that answers the SYN, and pick it.",
        "explain": "SECRET-4: the server's kernel answers.",
        "check": {
            "picked": {"packet": {"from": "server", "to": "laptop", "flags": ["SYN", "ACK"]}}
        },
    },
]
TO_SERVER = {"device": "server", "port": 3000}


def make_experiment(lesson, slug, steps, order):
    experiment = Experiment.objects.create(
        slug=slug, title=slug, lesson=lesson, order=order, published=True
    )
    for n, step in enumerate(steps):
        ExperimentStep.objects.create(
            experiment=experiment,
            order=n,
            text=step["text"],
            prediction=step.get("prediction", {}),
            explain=step.get("explain", ""),
            step_check=step["check"],
        )


@pytest.fixture
def lab_course(transactional_db):
    """Two experiments of the playground's own, whatever the course files hold now.
    Asked for before `registry`, so the sandboxes (and what they still record) are gone
    before the database is emptied."""
    lesson = Lesson.objects.create(
        title="Lab", slug="lab", order=99, summary="Lab.", body="## Lab\n\nText.", published=True
    )
    make_experiment(lesson, "refused", REFUSED_STEPS, 1)
    make_experiment(lesson, "packets", PACKET_STEPS, 2)


@sync_to_async
def visitor_session(learner="f" * 32) -> str:
    session = SessionStore()
    session["learner"] = learner
    session.create()
    return session.session_key


class Tab:
    """One WebSocket: everything it received, so a test can look back at it."""

    def __init__(self, ws, hello):
        self.ws, self.hello, self.log = ws, hello, []

    @classmethod
    async def open(cls, key):
        ws = await open_ws(key)
        return cls(ws, await next_of(ws, "hello"))

    async def command(self, **message) -> dict:
        message.setdefault("ref", f"r{len(self.log)}-{id(message)}")
        await self.ws.send_json_to(message)
        while True:
            event = await self.ws.receive_json_from(timeout=10)
            self.log.append(event)
            if event["type"] in ("ok", "error") and event.get("ref") == message["ref"]:
                return event

    async def until(self, predicate) -> dict:
        for event in self.log:
            if predicate(event):
                return event
        while True:
            event = await self.ws.receive_json_from(timeout=10)
            self.log.append(event)
            if predicate(event):
                return event

    def progress(self) -> dict:
        """The last experiment.progress received."""
        return [e for e in self.log if e["type"] == "experiment.progress"][-1]


@sync_to_async
def predictions_kept(learner="f" * 32) -> dict:
    return LabRun.objects.get(learner_key=learner, experiment__slug="refused").predictions


async def test_it_sends_each_prompt_and_its_choices_but_no_answer_nor_explanation(
    lab_course, registry
):
    tab = await Tab.open(await visitor_session())
    experiment = next(e for e in tab.hello["experiments"] if e["id"] == "refused")
    assert experiment["predict"] == [
        {
            "prompt": "What will connect() return?",
            "choices": ["It connects", "ECONNREFUSED", "It waits"],
        },
        {"prompt": "Its state?", "choices": ["LISTEN", "ESTABLISHED"]},
        None,
    ]
    assert experiment["pick"] == [None, None, "socket"]
    assert "SECRET" not in json.dumps(tab.hello) and '"answer"' not in json.dumps(tab.hello)
    assert tab.hello["progress"]["refused"]["revealed"] == []
    await tab.ws.disconnect()


async def test_it_waits_for_the_prediction_then_reveals_it_beside_the_kernels_answer(
    lab_course, registry
):
    tab = await Tab.open(await visitor_session())
    await tab.command(op="experiment.start", experiment="refused")
    refused = await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    assert refused["code"] == "ECONNREFUSED"
    assert tab.progress()["done"] == 0  # asked first: acting before predicting counts nothing
    assert "SECRET" not in json.dumps(tab.log)

    ok = await tab.command(op="experiment.predict", experiment="refused", step=1, choice=1)
    assert ok == {**ok, "type": "ok", "experiment": "refused", "step": 1, "choice": 1}
    assert (tab.progress()["done"], tab.progress()["predicted"]) == (0, {"1": 1})
    # An error check is met by an answer after the prediction: the learner acts again.
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    done = tab.progress()
    assert done["done"] == 1
    assert done["revealed"] == [
        {
            "step": 1,
            "explain": "SECRET-1: no socket listens there.",
            "prediction": {"choice": 1, "answer": 1, "correct": True},
        }
    ]
    assert "SECRET-2" not in json.dumps(tab.log)

    # A state that holds already is met the moment the prediction is made, right or wrong.
    await tab.command(op="tcp.listen", device="server", port=3000)
    assert tab.progress()["done"] == 1
    await tab.command(op="experiment.predict", experiment="refused", step=2, choice=1)
    assert tab.progress()["done"] == 2
    assert tab.progress()["revealed"][1] == {
        "step": 2,
        "explain": "SECRET-2: a listener is in state LISTEN.",
        "prediction": {"choice": 1, "answer": 0, "correct": False},
    }
    await registry().labs.settled()
    assert await predictions_kept() == {"1": 1, "2": 1}
    await tab.ws.disconnect()


async def test_it_keeps_the_first_prediction_and_refuses_the_others_saying_why(
    lab_course, registry
):
    tab = await Tab.open(await visitor_session())
    await tab.command(op="experiment.start", experiment="refused")
    predict = {"op": "experiment.predict", "experiment": "refused"}
    cases = [
        ({"step": 1, "choice": 3}, "bad_choice"),
        ({"step": 1, "choice": -1}, "bad_choice"),
        ({"step": 3, "choice": 0}, "no_prediction"),
        ({"step": 4, "choice": 0}, "no_prediction"),
        ({"step": 1}, "missing_field"),
        ({"step": "1", "choice": 0}, "wrong_type"),
        ({"experiment": "nothing", "step": 1, "choice": 0}, "unknown_experiment"),
    ]
    for fields, code in cases:
        error = await tab.command(**{**predict, **fields})
        assert (error["type"], error["code"]) == ("error", code), fields
    assert (await tab.command(**predict, step=1, choice=0))["type"] == "ok"
    again = await tab.command(**predict, step=1, choice=1)
    assert again["code"] == "already_predicted"
    assert "your first prediction is the one that counts" in again["message"]
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    assert tab.progress()["revealed"][0]["prediction"] == {
        "choice": 0,
        "answer": 1,
        "correct": False,
    }
    await tab.command(op="tcp.listen", device="server", port=3000)
    await tab.command(**predict, step=2, choice=0)
    assert tab.progress()["done"] == 2
    await registry().labs.settled()
    assert await predictions_kept() == {"1": 0, "2": 0}
    await tab.ws.disconnect()


async def test_it_shows_what_was_revealed_again_after_a_reload_and_in_a_fresh_sandbox(
    lab_course, registry
):
    key = await visitor_session()
    tab = await Tab.open(key)
    await tab.command(op="experiment.start", experiment="refused")
    await tab.command(op="experiment.predict", experiment="refused", step=1, choice=2)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    revealed = tab.progress()["revealed"]
    assert [r["step"] for r in revealed] == [1]
    await tab.ws.disconnect()
    reloaded = await Tab.open(key)
    assert reloaded.hello["progress"]["refused"]["revealed"] == revealed
    await reloaded.ws.disconnect()
    await registry().discard(key)
    await registry().labs.settled()
    fresh = await Tab.open(key)
    progress = fresh.hello["progress"]["refused"]
    assert (progress["done"], progress["predicted"], progress["revealed"]) == (
        1,
        {"1": 2},
        revealed,
    )
    assert "SECRET-2" not in json.dumps(fresh.hello)
    again = await fresh.command(op="experiment.predict", experiment="refused", step=1, choice=1)
    assert again["code"] == "already_predicted"
    await fresh.ws.disconnect()


@sync_to_async
def review_cards(learner="f" * 32) -> list:
    from review.models import ReviewCard

    return list(
        ReviewCard.objects.filter(learner_key=learner, kind="prediction").values_list(
            "ref", flat=True
        )
    )


async def test_it_puts_a_wrong_prediction_in_the_learners_review_queue(lab_course, registry):
    tab = await Tab.open(await visitor_session())
    await tab.command(op="experiment.start", experiment="refused")
    await tab.command(op="experiment.predict", experiment="refused", step=1, choice=1)  # right
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    await tab.command(op="experiment.predict", experiment="refused", step=2, choice=1)  # wrong
    await registry().labs.settled()
    assert await review_cards() == ["refused/2"]
    await tab.ws.disconnect()


async def test_it_reaches_a_picked_step_only_by_the_learners_pick_of_a_matching_socket(
    lab_course, registry
):
    tab = await Tab.open(await visitor_session())
    await tab.command(op="experiment.start", experiment="refused")
    no_pick = await tab.command(op="experiment.pick", socket="s1")
    assert no_pick["code"] == "no_pick"
    await tab.command(op="experiment.predict", experiment="refused", step=1, choice=1)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    listener = (await tab.command(op="tcp.listen", device="server", port=3000))["socket"]
    client = (await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER))["socket"]
    await tab.command(op="experiment.predict", experiment="refused", step=2, choice=0)
    # The listener is in the table, as step 3 asks; still only a pick does it.
    assert tab.progress()["done"] == 2
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    assert tab.progress()["done"] == 2
    wrong = await tab.command(op="experiment.pick", socket=client["id"])
    assert wrong == {**wrong, "type": "ok", "matched": False}
    assert wrong["message"].startswith(
        f"That is socket {client['id']}, a TCP client socket on laptop"
    )
    assert wrong["message"].endswith("; look for a listening socket on server port 3000.")
    assert tab.progress()["done"] == 2
    unknown = await tab.command(op="experiment.pick", socket="s999")
    assert unknown["code"] == "unknown_socket"
    both = await tab.command(op="experiment.pick", socket=listener["id"], packet=1)
    assert both["code"] == "missing_field"
    right = await tab.command(op="experiment.pick", socket=listener["id"])
    assert (right["matched"], tab.progress()["done"], tab.progress()["finished"]) == (
        True,
        3,
        True,
    )
    assert tab.progress()["revealed"][-1] == {"step": 3, "explain": "SECRET-3: that one."}
    await tab.ws.disconnect()


async def test_it_checks_a_picked_packet_against_the_packets_it_kept_itself(lab_course, registry):
    tab = await Tab.open(await visitor_session())
    await tab.command(op="experiment.start", experiment="packets")
    await tab.command(op="tcp.listen", device="server", port=3000)
    await tab.command(op="tcp.connect", device="laptop", to=TO_SERVER)
    syn = await tab.until(lambda e: e["type"] == "packet" and e["flags"] == ["SYN"])
    syn_ack = await tab.until(lambda e: e["type"] == "packet" and e["flags"] == ["SYN", "ACK"])
    await tab.until(lambda e: e["type"] == "experiment.progress" and e["done"] == 1)
    assert tab.progress()["done"] == 1  # the SYN-ACK went by: only a pick does this step
    wrong = await tab.command(op="experiment.pick", packet=syn["n"])
    assert (wrong["matched"], wrong["message"]) == (
        False,
        "That packet is from the laptop; look for one from the server.",
    )
    socket = await tab.command(op="experiment.pick", socket="s1")
    assert (socket["matched"], socket["message"]) == (
        False,
        "This step asks you to pick a packet, not a socket.",
    )
    unknown = await tab.command(op="experiment.pick", packet=10_000)
    assert unknown["code"] == "unknown_packet"
    assert tab.progress()["done"] == 1
    right = await tab.command(op="experiment.pick", packet=syn_ack["n"])
    assert right["matched"] and tab.progress()["done"] == 2
    assert tab.progress()["revealed"] == [
        {"step": 2, "explain": "SECRET-4: the server's kernel answers."}
    ]
    await tab.ws.disconnect()


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_first_prediction_of_each_step_when_a_visitor_logs_in(
    lab_course, django_user_model
):
    from accounts.progress import move_progress
    from labs.hooks import record_prediction

    user = django_user_model.objects.create_user("ada", password="correct-horse-battery")
    visitor = {"learner": "e" * 32}
    assert record_prediction({"user": user.pk}, "refused", 1, 0, False)
    assert record_prediction(visitor, "refused", 1, 1, True)
    assert record_prediction(visitor, "refused", 2, 0, True)
    assert not record_prediction(visitor, "refused", 2, 1, False)  # the first counts
    move_progress("e" * 32, user)
    assert LabRun.objects.get(user=user, experiment__slug="refused").predictions == {
        "1": 0,  # the account's own, made first
        "2": 0,
    }
    assert not LabRun.objects.filter(learner_key="e" * 32).exists()
