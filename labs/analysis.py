"""The lab analysis for staff: where learners stop in the playground's experiments.

Rules: every experiment, in course order, counted from its runs in one query: how many
learners started it, finished it, and, of the ones who have not finished, at which step
they stopped (the first step not reached). Runs recorded against more steps than the
experiment has now (it was edited) are counted under "(a step since removed)".
"""

from collections import Counter
from dataclasses import dataclass, field

from labs.models import Experiment, LabRun


@dataclass
class StepStop:
    number: int  # 1-based: the step the learners had not reached yet
    text: str
    learners: int


@dataclass
class ExperimentStats:
    """A playground experiment: how many learners started it, finished it, and, of the
    ones who have not finished, at which step they stopped (the first step not reached)."""

    experiment: object
    started: int = 0
    finished: int = 0
    stops: list[StepStop] = field(default_factory=list)

    @property
    def percent_finished(self) -> float | None:
        return round(100 * self.finished / self.started, 1) if self.started else None

    @property
    def widest(self) -> int:
        return max((stop.learners for stop in self.stops), default=0) or 1


def lab_stats() -> list[ExperimentStats]:
    """Every experiment, in course order, from its runs (one query for all of them)."""
    experiments = list(
        Experiment.objects.select_related("lesson")
        .prefetch_related("steps")
        .order_by("lesson__order", "order", "pk")
    )
    runs = LabRun.objects.values_list("experiment_id", "steps_done", "finished_at")
    by_experiment: dict[int, list] = {}
    for experiment_id, done, finished_at in runs:
        by_experiment.setdefault(experiment_id, []).append((done, finished_at))
    stats = []
    for experiment in experiments:
        rows = by_experiment.get(experiment.pk, [])
        item = ExperimentStats(experiment, started=len(rows))
        item.finished = sum(1 for _, finished_at in rows if finished_at is not None)
        stopped = Counter(done for done, finished_at in rows if finished_at is None)
        steps = list(experiment.steps.all())
        for number, step in enumerate(steps, start=1):
            item.stops.append(StepStop(number, step.text, stopped.pop(number - 1, 0)))
        # Runs recorded against more steps than the experiment has now (it was edited).
        beyond = sum(stopped.values())
        if beyond:
            item.stops.append(StepStop(len(steps) + 1, "(a step since removed)", beyond))
        stats.append(item)
    return stats
