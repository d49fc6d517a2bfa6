"""Labs in the engine: each sandbox's journal, its active experiment and its progress
(no Django). The check language, the journal and replay are playground.labs.checks.

Rules:
- Hooks never block the event path and never break a sandbox: the catalogue and the
  owner's progress are loaded when the sandbox is made (each bounded by HOOK_SECONDS; a
  failure is logged once until the hooks work again, and the sandbox goes on without
  experiments or without that progress); progress is recorded by at most one task per
  sandbox at a time, which sends the newest value of each experiment.
- The progress of an unknown owner ({}) lives and dies with the sandbox: nothing is
  loaded or recorded for it.
- A step that asks a prediction is not reached until the learner's prediction of it is
  recorded (Lab.predict); the first prediction of a learner's step counts, for good.
  Nothing of a step's answer or explanation leaves the server before the step is done
  in the sandbox's run (`revealed`); the prediction's prompt and choices do (`hello`).
- A step that asks for a pick is reached only by a pick (Lab.pick) of a packet the
  sandbox kept or a socket of its table, looked up here: the client names it, never
  describes it.
- An active experiment that checks packets keeps its sandbox's packet capture on
  (playground.capture) until another experiment replaces it or the sandbox closes;
  packets reach the checks as the `packet` events the sandbox sends, rate limit
  included, so a check sees what the page shows.
"""

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from playground.labs.checks import (
    UNCHECKED_OPS,
    Journal,
    PacketRow,
    Row,
    Tracker,
    compact,
    compact_packet,
    describe,
    needs_packets,
    pick_mismatch,
    picked_part,
    picks,
    steps_errors,
)
from playground.wire import events
from playground.wire.errors import SandboxError

log = logging.getLogger(__name__)

HOOK_SECONDS = 10.0  # a hook that takes longer counts as failed
CATALOGUE_SECONDS = 10.0  # one catalogue serves the sandboxes made this long after it


class LabHooks:
    """Where experiments and progress are kept; this default keeps none.

    `owner` is {"user": <user id>}, {"learner": "<learner key>"} or {} (unknown)."""

    async def catalogue(self) -> list[dict]:
        """[{"id", "title", "lesson", "teaches", "steps": [{"text", "check", and
        optionally "predict" and "explain"}]}], in order."""
        return []

    async def load(self, owner: dict) -> dict[str, dict]:
        """Experiment id -> {"done": int, "finished": bool, "predictions": {step: choice}}
        (steps counted from 1, choices from 0; "predictions" may be absent)."""
        return {}

    async def record(
        self, owner: dict, experiment: str, done: int, steps: int, finished: bool
    ) -> None:
        return None

    async def predicted(
        self, owner: dict, experiment: str, step: int, choice: int, correct: bool
    ) -> None:
        """The learner's first prediction of a step (from 1): their choice (from 0)."""
        return None


@dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    lesson: str
    teaches: str
    texts: tuple[str, ...]
    checks: tuple[dict, ...]
    packets: bool = False  # a check looks at packets: capture is on while it is active
    predictions: tuple[dict | None, ...] = ()  # each step's {prompt, choices, answer}
    explains: tuple[str, ...] = ()

    def public(self) -> dict:
        """As `hello` lists it: never an answer nor an explanation."""
        return {
            "id": self.id,
            "title": self.title,
            "lesson": self.lesson,
            "teaches": self.teaches,
            "steps": list(self.texts),
            "predict": [
                {"prompt": p["prompt"], "choices": list(p["choices"])} if p else None
                for p in self.predictions
            ],
            "pick": [picks(check) for check in self.checks],
        }

    def reveal(self, step: int, choice: int | None) -> dict:
        """What a done step (from 1) shows: its explanation and, for a prediction step,
        the learner's choice (None: none was recorded), the answer and whether they met."""
        shown: dict = {"step": step, "explain": self.explains[step - 1]}
        prediction = self.predictions[step - 1]
        if prediction:
            answer = prediction["answer"]
            correct = None if choice is None else choice == answer
            shown["prediction"] = {"choice": choice, "answer": answer, "correct": correct}
        return shown


@dataclass(frozen=True)
class Catalogue:
    experiments: dict[str, Experiment]
    public: list[dict]  # as `hello` lists them, shared by every sandbox


def catalogue_of(items: list[dict]) -> Catalogue:
    """The valid experiments of a hooks catalogue; an invalid one is left out, with a log."""
    experiments = {}
    for item in items:
        try:
            steps = item["steps"]
            problems = steps_errors(steps, experiment=True)
            if not problems:
                experiments[str(item["id"])] = Experiment(
                    str(item["id"]),
                    str(item["title"]),
                    str(item.get("lesson", "")),
                    str(item.get("teaches", "")),
                    tuple(step["text"] for step in steps),
                    tuple(step["check"] for step in steps),
                    any(needs_packets(step["check"]) for step in steps),
                    tuple(step.get("predict") or None for step in steps),
                    tuple(step.get("explain", "") for step in steps),
                )
        except (KeyError, TypeError) as error:
            problems = [f"It lacks {error}."]
        if problems:
            name = item.get("id") if isinstance(item, dict) else None
            log.error("playground: experiment %s left out: %s", name, " ".join(problems))
    return Catalogue(experiments, [e.public() for e in experiments.values()])


def _predictions(experiment: Experiment, record: dict) -> dict[int, int]:
    """The loaded predictions still valid for the experiment's steps as they are now."""
    predictions = {}
    raw = record.get("predictions") or {}
    for step, choice in raw.items() if isinstance(raw, dict) else ():
        try:
            step, choice = int(step), int(choice)
        except (TypeError, ValueError):
            continue
        prediction = (
            experiment.predictions[step - 1] if 1 <= step <= len(experiment.checks) else None
        )
        if prediction and 0 <= choice < len(prediction["choices"]):
            predictions[step] = choice
    return predictions


class _Faults:
    """One log line when the hooks start failing, one when they work again."""

    down = False

    def failed(self, what: str, error: BaseException) -> None:
        if not self.down:
            self.down = True
            log.error(
                "playground: the lab hooks failed (%s); sandboxes go on without experiments "
                "or progress",
                what,
                exc_info=error,
            )

    def worked(self) -> None:
        if self.down:
            self.down = False
            log.warning("playground: the lab hooks work again")


faults = _Faults()
EMPTY = Catalogue({}, [])


class Labs:
    """A registry's hooks and its catalogue, shared by the Labs of its sandboxes."""

    def __init__(self, hooks: LabHooks | None = None):
        self.hooks = hooks or LabHooks()
        self._catalogue: asyncio.Task | None = None
        self._fresh_until = 0.0
        self.recording: dict[asyncio.Task, dict] = {}  # each Lab's recording task -> owner

    async def settled(self, owner: dict | None = None) -> None:
        """Until the progress recorded so far (of that owner) is recorded or failed to be."""
        tasks = [task for task, whose in self.recording.items() if owner in (None, whose)]
        if tasks:
            await asyncio.wait(tasks)

    def lab(
        self,
        devices: dict[str, str],
        emit: Callable[[dict], None],
        owner: dict,
        capture: Callable[[bool], None] | None = None,
    ) -> "Lab":
        return Lab(self, devices, emit, owner, capture)

    async def catalogue(self) -> Catalogue:
        """One hooks call serves every sandbox made within CATALOGUE_SECONDS."""
        task = self._catalogue
        if task is None or (task.done() and time.monotonic() >= self._fresh_until):
            task = self._catalogue = asyncio.get_running_loop().create_task(self._fetch())
        return await asyncio.shield(task)

    async def _fetch(self) -> Catalogue:
        try:
            async with asyncio.timeout(HOOK_SECONDS):
                catalogue = catalogue_of(await self.hooks.catalogue())
        except Exception as error:
            faults.failed("catalogue", error)
            catalogue = EMPTY
        else:
            faults.worked()
        self._fresh_until = time.monotonic() + CATALOGUE_SECONDS
        return catalogue


class Lab:
    """One sandbox's table, journal, progress and active experiment.

    `seen` takes every event the sandbox emits, `answered` every command's answer;
    `emit` sends to every tab of the sandbox; `capture(on)` asks for its packets."""

    def __init__(self, labs: Labs, devices: dict[str, str], emit, owner: dict, capture=None):
        self.labs = labs
        self.emit = emit
        self._capture = capture or (lambda on: None)
        self.owner = dict(owner or {})
        self._device_of = {ip: name for name, ip in devices.items()}
        self.table: dict[str, Row] = {}
        self.journal = Journal()
        self.catalogue = EMPTY
        self.progress: dict[str, tuple[int, bool]] = {}  # id -> (done, finished)
        self.predictions: dict[str, dict[int, int]] = {}  # id -> {step (from 1): choice}
        self.active: Experiment | None = None
        self.tracker: Tracker | None = None
        self._unrecorded: dict[str, tuple[int, int, bool]] = {}
        self._unpredicted: list[tuple[str, int, int, bool]] = []
        self._recorder: asyncio.Task | None = None
        self.loading = asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        self.catalogue, loaded = await asyncio.gather(self.labs.catalogue(), self._progress())
        for experiment_id, record in loaded.items():
            experiment = self.catalogue.experiments.get(experiment_id)
            try:
                done, finished = int(record["done"]), bool(record["finished"])
            except (KeyError, TypeError, ValueError):
                continue
            if experiment is not None:
                self.progress[experiment_id] = (max(0, min(done, len(experiment.checks))), finished)
                self.predictions[experiment_id] = _predictions(experiment, record)

    async def _progress(self) -> dict:
        if not self.owner:
            return {}
        # The owner's progress still being recorded by a sandbox closed just before.
        await self.labs.settled(self.owner)
        try:
            async with asyncio.timeout(HOOK_SECONDS):
                loaded = await self.labs.hooks.load(dict(self.owner))
        except Exception as error:
            faults.failed("load", error)
            return {}
        faults.worked()
        return loaded if isinstance(loaded, dict) else {}

    def adopt(self, owner: dict | None) -> None:
        """A later WebSocket that names the owner, when the first one could not."""
        if owner and not self.owner:
            self.owner = dict(owner)

    def hello(self) -> dict:
        return {
            "experiments": self.catalogue.public,
            "experiment": self.active.id if self.active else None,
            "progress": {e.id: self._state(e) for e in self.catalogue.experiments.values()},
        }

    def _state(self, experiment: Experiment) -> dict:
        """The experiment's progress as `hello` and `experiment.progress` carry it."""
        done, finished = self.progress.get(experiment.id, (0, False))
        predicted = self.predictions.get(experiment.id, {})
        revealed = [
            experiment.reveal(step, predicted.get(step))
            for step in range(1, done + 1)
            if experiment.explains[step - 1] or experiment.predictions[step - 1]
        ]
        return {
            "done": done,
            "steps": len(experiment.checks),
            "finished": finished,
            "revealed": revealed,
            "predicted": {str(step): choice for step, choice in sorted(predicted.items())},
        }

    def _waiting(self, experiment: Experiment) -> set[int]:
        """The steps (indexes) whose prediction the learner has not made yet."""
        made = self.predictions.get(experiment.id, {})
        return {
            index
            for index, prediction in enumerate(experiment.predictions)
            if prediction and index + 1 not in made
        }

    # Moments -----------------------------------------------------------------------

    def seen(self, event: dict) -> None:
        kind = event["type"]
        if kind == "socket":
            row = compact(event["socket"], self._device_of)
            if self.table.get(row.id) == row:
                return
            self.table[row.id] = row
            self.journal.add(row)
        elif kind == "socket.gone":
            if self.table.pop(event["socket"], None) is None:
                return
            self.journal.add(("gone", event["socket"]))
        elif kind == "packet":
            packet = ("packet", compact_packet(event))
            self.journal.add(packet)
            self._moment(packet)
            return
        else:
            return
        self._moment(None)

    def answered(self, op: str, event: dict) -> None:
        if op in UNCHECKED_OPS:
            return
        op = sys.intern(op)  # one of OPS: kept once, not once per answer
        answer = ("ok", op) if event["type"] == "ok" else ("error", op, event["code"])
        self.journal.add(answer)
        self._moment(answer)

    def _moment(self, answer: tuple | None) -> None:
        if self.tracker is not None and self.tracker.moment(self.table.values(), answer):
            self._progressed()

    # The active experiment ---------------------------------------------------------

    def start(self, experiment_id: str) -> dict:
        """Make it the sandbox's active experiment: resumed at its recorded step, or
        started over when every step was done. The `ok` fields."""
        experiment = self._experiment(experiment_id)
        done, _ = self.progress.get(experiment_id, (0, False))
        if done >= len(experiment.checks):
            done = 0
        self.active = experiment
        self.tracker = Tracker(list(experiment.checks), done, self._waiting(experiment))
        self._capture(experiment.packets)
        self.tracker.moment(self.table.values())  # steps that already hold
        return self._progressed()

    def _progressed(self) -> dict:
        experiment, done = self.active, self.tracker.done
        steps = len(experiment.checks)
        finished = self.progress.get(experiment.id, (0, False))[1] or done == steps
        self.progress[experiment.id] = (done, finished)
        self._record(experiment.id, done, steps, finished)
        return self._announce(experiment)

    def _announce(self, experiment: Experiment) -> dict:
        state = self._state(experiment)
        self.emit(events.progress(experiment.id, **state))
        return {"experiment": experiment.id, **state}

    def predict(self, experiment_id: str, step: int, choice: int) -> dict:
        """Record the learner's prediction of a step (from 1): their choice (from 0). The
        first counts; a step already done in this run takes none. The `ok` fields."""
        experiment = self._experiment(experiment_id)
        steps = len(experiment.checks)
        prediction = experiment.predictions[step - 1] if 1 <= step <= steps else None
        if prediction is None:
            asking = [str(n) for n, p in enumerate(experiment.predictions, 1) if p]
            raise SandboxError(
                "no_prediction",
                f"Step {step} of {experiment.id!r} asks no prediction. Steps that ask one: "
                f"{', '.join(asking) or 'none'}.",
            )
        made = self.predictions.setdefault(experiment.id, {})
        if step in made:
            raise SandboxError(
                "already_predicted",
                f"You predicted step {step} already; your first prediction is the one that counts.",
            )
        done = self.progress.get(experiment.id, (0, False))[0]
        if step <= done:
            raise SandboxError(
                "step_done",
                f"Step {step} is done already: the kernel has answered, so a prediction of it "
                "no longer counts.",
            )
        if not 0 <= choice < len(prediction["choices"]):
            raise SandboxError(
                "bad_choice",
                f"Choose one of the {len(prediction['choices'])} choices, numbered from 0 to "
                f"{len(prediction['choices']) - 1}.",
            )
        made[step] = choice
        correct = choice == prediction["answer"]
        if self.owner:
            self._unpredicted.append((experiment.id, step, choice, correct))
            self._start_recording()
        if self.active is experiment and self.tracker is not None:
            self.tracker.waiting.discard(step - 1)
            # The state it asks about may hold already: the step is done at once.
            if self.tracker.moment(self.table.values()):
                self._progressed()
            else:
                self._announce(experiment)
        else:
            self._announce(experiment)
        return {"experiment": experiment.id, "step": step, "choice": choice}

    def _experiment(self, experiment_id: str) -> Experiment:
        experiment = self.catalogue.experiments.get(experiment_id)
        if experiment is None:
            known = ", ".join(self.catalogue.experiments) or "none here"
            raise SandboxError(
                "unknown_experiment",
                f"There is no experiment {experiment_id[:64]!r}. Experiments: {known}.",
            )
        return experiment

    def pickable(self) -> str | None:
        """What the active experiment's current step asks the learner to pick, or None."""
        tracker = self.tracker
        if self.active is None or tracker is None or tracker.done >= len(tracker.checks):
            return None
        return picks(tracker.checks[tracker.done])

    def pick(self, picked: PacketRow | Row) -> dict:
        """The learner picked a packet the sandbox kept or a socket of its table: a moment
        of its own. The `ok` fields: whether it met the step, and why not in words."""
        wanted = self.pickable()
        if wanted is None:
            raise SandboxError(
                "no_pick",
                "The current step asks you to pick nothing"
                + ("." if self.active else ": start an experiment first."),
            )
        tracker = self.tracker
        step = tracker.done
        if step in tracker.waiting:
            raise SandboxError(
                "prediction_needed", f"Make your prediction of step {step + 1} first."
            )
        check = tracker.checks[step]
        mismatch = pick_mismatch(picked_part(check), picked)
        if mismatch is None and tracker.moment(self.table.values(), ("picked", picked)):
            self._progressed()
            return {"matched": True, "message": "That is the one."}
        if mismatch is None:
            mismatch = f"That is the one to pick, but this step also needs {describe(check)}."
        return {"matched": False, "message": mismatch}

    # Recording ---------------------------------------------------------------------

    def _record(self, experiment: str, done: int, steps: int, finished: bool) -> None:
        if not self.owner:
            return
        self._unrecorded[experiment] = (done, steps, finished)
        self._start_recording()

    def _start_recording(self) -> None:
        if self._recorder is None:
            self._recorder = asyncio.get_running_loop().create_task(self._recording())
            self.labs.recording[self._recorder] = self.owner
            self._recorder.add_done_callback(self.labs.recording.pop)

    async def _recording(self) -> None:
        try:
            while self._unrecorded or self._unpredicted:
                if self._unpredicted:
                    what = "predicted"
                    args = self._unpredicted.pop(0)
                else:
                    what = "record"
                    experiment = next(iter(self._unrecorded))
                    args = (experiment, *self._unrecorded.pop(experiment))
                try:
                    async with asyncio.timeout(HOOK_SECONDS):
                        await getattr(self.labs.hooks, what)(dict(self.owner), *args)
                except Exception as error:
                    faults.failed(what, error)
                else:
                    faults.worked()
        finally:
            self._recorder = None

    def close(self) -> None:
        """The sandbox is closed: nothing more to check. What is still to be recorded is,
        in the background (Labs.settled)."""
        self.tracker = None
        self._capture(False)
        self.loading.cancel()  # no use now (a WebSocket waiting for it makes another sandbox)
