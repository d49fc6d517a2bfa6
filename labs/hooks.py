"""The playground engine's lab hooks, backed by the labs' models (playground.labs.lab.LabHooks).

Rules:
- DjangoLabHooks is what the engine is given (named by playground.conf.lab_hooks). Its
  owner is {"user": <id>}, {"learner": <visitor key>} or {} (unknown: nothing is loaded,
  nothing recorded). Only published experiments are offered and recorded.
- record() is an upsert done in one UPDATE (or one INSERT for the first record):
  `steps_done` never goes down and a finished run is never unfinished, however the
  calls race or are repeated (an experiment started over records from 0 again).
- The catalogue is kept in this process and rebuilt when the page_cache generation
  changed (every save of an experiment, lesson or quiz and every load_course starts a
  new one), or when it is older than CATALOGUE_MAX_AGE (so a cache that lost the
  notice, e.g. while Redis was away, catches up), so the engine follows admin edits.
- A learner's prediction of a step is kept once, in their run's `predictions`: the first
  counts, whatever later calls say (record_prediction). Each one also goes to the
  learner's review queue (review.cards.record, kind "prediction", ref
  "<experiment>/<step>") where the review app is installed: named, not imported, since
  the review app builds on this one.
- A sandbox keeps the owner it was made for; a visitor who logs in meanwhile has their
  runs moved to the account (accounts.progress), and what the sandbox records after that
  goes to the account too (visitor_moved).
- record()'s UPDATE bumps the learner's snapshot (sockets_site.learner_state) when it finishes
  a run, as every write of a run does (LearnerOwned's queryset,
  learner_state.LearnerRowsQuerySet, and the signals learner_state.connect wires).
"""

import time

from channels.db import database_sync_to_async
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.module_loading import import_string

from labs.models import Experiment, ExperimentStep, LabRun
from sockets_site import page_cache
from sockets_site.learners import Learner

# The review app builds on this one (its items grade lab questions and show experiments),
# so its queue is named here rather than imported: no cycle, and labs work without it.
REVIEW_RECORD = "review.cards.record"

CATALOGUE_MAX_AGE = 30  # seconds
_catalogue: dict = {"generation": None, "at": 0.0, "items": [], "ids": {}}


def _owner_fields(owner: dict) -> dict | None:
    """The LearnerOwned fields of an engine owner, or None for an unknown owner. A visitor
    who has since logged in is their account (a sandbox keeps the owner it was made for)."""
    if not isinstance(owner, dict):
        return None
    user = owner.get("user")
    if isinstance(user, int) and not isinstance(user, bool):
        return {"user_id": user, "learner_key": ""}
    key = owner.get("learner")
    if isinstance(key, str) and 0 < len(key) <= 32:
        moved = cache.get(_moved_key(key))
        if moved is not None:
            return {"user_id": moved, "learner_key": ""}
        return {"user_id": None, "learner_key": key}
    return None


def _moved_key(learner_key: str) -> str:
    return f"lessons:labs:moved:{learner_key}"


def visitor_moved(learner_key: str, user_id: int) -> None:
    """The visitor logged in: what their open sandboxes record from now on is the
    account's (accounts.progress.move_progress); kept as long as a sandbox can live."""
    cache.set(_moved_key(learner_key), user_id, page_cache.TIMEOUT)


def _catalogue_items() -> tuple[list[dict], dict[str, int]]:
    generation = page_cache.current_generation()
    now = time.monotonic()
    fresh = now - _catalogue["at"] < CATALOGUE_MAX_AGE
    if _catalogue["generation"] != generation or not fresh:
        experiments = (
            Experiment.objects.filter(published=True, lesson__published=True)
            .select_related("lesson")
            .prefetch_related("steps")
            .order_by("lesson__order", "order", "pk")
        )
        items, ids = [], {}
        for experiment in experiments:
            ids[experiment.slug] = experiment.pk
            items.append(
                {
                    "id": experiment.slug,
                    "title": experiment.title,
                    "lesson": experiment.lesson.slug,
                    "teaches": experiment.teaches,
                    "steps": [s.as_step() for s in experiment.steps.all()],
                }
            )
        _catalogue.update(generation=generation, at=now, items=items, ids=ids)
    return _catalogue["items"], _catalogue["ids"]


def catalogue() -> list[dict]:
    """The published experiments with their steps, as the engine takes them."""
    return _catalogue_items()[0]


def load(owner: dict) -> dict[str, dict]:
    fields = _owner_fields(owner)
    if fields is None:
        return {}
    runs = LabRun.objects.filter(**fields).values_list(
        "experiment__slug", "steps_done", "finished_at", "predictions"
    )
    loaded = {}
    for slug, done, finished, predictions in runs:
        loaded[slug] = {"done": done, "finished": finished is not None}
        if predictions:
            loaded[slug]["predictions"] = predictions
    return loaded


def record(owner: dict, experiment: str, done: int, steps: int, finished: bool) -> None:
    fields = _owner_fields(owner)
    if fields is None:
        return
    experiment_id = _catalogue_items()[1].get(experiment)
    if experiment_id is None:
        return  # unpublished or unknown: nothing to count
    done = max(0, min(int(done), int(steps)))
    now = timezone.now()
    changes = {"steps_done": Greatest(F("steps_done"), Value(done)), "steps": steps}
    changes["updated_at"] = now
    if finished:
        changes["finished_at"] = Coalesce(F("finished_at"), Value(now))
    runs = LabRun.objects.filter(experiment_id=experiment_id, **fields)
    if not runs.update(**changes):
        try:
            with transaction.atomic():
                LabRun.objects.create(
                    experiment_id=experiment_id,
                    steps_done=done,
                    steps=steps,
                    finished_at=now if finished else None,
                    **fields,
                )
        except IntegrityError:  # another call created it first: go forward from there
            runs.update(**changes)


def record_prediction(owner: dict, experiment: str, step: int, choice: int, correct: bool) -> bool:
    """Keep the learner's prediction of a step (from 1) unless one is kept already; then
    put it in their review queue. Whether it was kept."""
    fields = _owner_fields(owner)
    if fields is None:
        return False
    experiment_id = _catalogue_items()[1].get(experiment)
    if experiment_id is None:
        return False
    with transaction.atomic():
        steps = ExperimentStep.objects.filter(experiment_id=experiment_id).count()
        run, _ = LabRun.objects.select_for_update().get_or_create(
            experiment_id=experiment_id, **fields, defaults={"steps": steps}
        )
        if str(step) in run.predictions:
            return False
        run.predictions = {**run.predictions, str(step): choice}
        run.save(update_fields=["predictions", "updated_at"])
    _review(fields, f"{experiment}/{step}", correct)
    return True


def _review(fields: dict, ref: str, correct: bool) -> None:
    """To the learner's review queue, where the review app is installed (a prediction is
    kept without it)."""
    if not apps.is_installed("review"):
        return
    if fields["user_id"] is not None:
        learner = Learner(get_user_model().objects.get(pk=fields["user_id"]))
    else:
        learner = Learner(None, fields["learner_key"])
    import_string(REVIEW_RECORD)(learner, "prediction", ref, correct)


class DjangoLabHooks:
    """The engine's hooks (playground.labs.lab.LabHooks), backed by the course's models."""

    async def catalogue(self) -> list[dict]:
        return await database_sync_to_async(catalogue)()

    async def load(self, owner: dict) -> dict[str, dict]:
        return await database_sync_to_async(load)(owner)

    async def record(
        self, owner: dict, experiment: str, done: int, steps: int, finished: bool
    ) -> None:
        await database_sync_to_async(record)(owner, experiment, done, steps, finished)

    async def predicted(
        self, owner: dict, experiment: str, step: int, choice: int, correct: bool
    ) -> None:
        await database_sync_to_async(record_prediction)(owner, experiment, step, choice, correct)
