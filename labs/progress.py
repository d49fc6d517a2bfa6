"""A learner's labs: the experiments they finished, for the pages, and moving a visitor's
runs to their account.

Rules:
- Finished experiments come from the learner's progress snapshot
  (sockets_site.learner_state; its `finished` part is read by finished_runs, registered
  by LabsConfig.ready()), so a lesson page asks the database nothing for them once known.
- A lab run is kept once per learner: when a visitor who logs in has a run of an
  experiment the account has too, the further wins (more steps done, finished if either
  is, the earlier start and finish) and each step's first prediction is kept (move_runs).
"""

from dataclasses import dataclass

from labs.models import LabRun
from sockets_site import learner_state
from sockets_site.learner_state import FinishedRun


def finished_runs(learner) -> tuple[FinishedRun, ...]:
    """The snapshot's `finished` part: the learner's finished runs of published experiments."""
    runs = learner.owns(
        LabRun.objects.filter(finished_at__isnull=False, experiment__published=True)
    ).values_list("experiment_id", "experiment__slug", "experiment__lesson__slug")
    return tuple(sorted(FinishedRun(*row) for row in runs))


def finished_in_lesson(learner, lesson_slug: str) -> tuple[str, ...]:
    """The ids of the published experiments of the lesson the learner finished, sorted."""
    runs = learner_state.of(learner).finished
    return tuple(sorted(run.experiment_slug for run in runs if run.lesson_slug == lesson_slug))


@dataclass
class LabProgress:
    """A lesson's lab on the course page: its published experiments, how many finished."""

    done: int
    total: int

    @property
    def complete(self) -> bool:
        return self.done >= self.total


def finished_experiment_ids(learner, experiment_ids: list[int]) -> set[int]:
    """Of these (published) experiments, the ones the learner finished."""
    if not experiment_ids:
        return set()
    return set(experiment_ids) & learner_state.of(learner).finished_ids()


def move_runs(key: str, user) -> None:
    """The visitor's runs become the account's (in the caller's transaction)."""
    mine = {run.experiment_id: run for run in LabRun.objects.filter(user=user)}
    for run in LabRun.objects.filter(user=None, learner_key=key):
        kept = mine.get(run.experiment_id)
        if kept is None:
            LabRun.objects.filter(pk=run.pk).update(user=user, learner_key="")
            continue
        kept.steps_done = max(kept.steps_done, run.steps_done)
        if kept.steps_done == run.steps_done:
            kept.steps = run.steps
        kept.started_at = min(kept.started_at, run.started_at)
        finishes = [at for at in (kept.finished_at, run.finished_at) if at is not None]
        kept.finished_at = min(finishes, default=None)
        kept.predictions = {**run.predictions, **kept.predictions}  # each step's first kept
        run.delete()
        kept.save()
