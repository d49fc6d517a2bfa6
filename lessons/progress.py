"""A learner's progress through the course, computed in a fixed number of queries.

The course is a path: each lesson (read it), its experiments in the playground
(finish each), then its quiz (pass it), and at the end the course quiz. "Continue"
points at the first step not yet done. A lesson is done only when its quiz is passed
(LessonProgress.done): reading it is a step, not the lesson learned. A lesson's lab is
done when every published experiment of it is finished (labs.hooks records the runs).
A learner's rows are read from their snapshot (sockets_site.learner_state), not queried here.
"""

from dataclasses import dataclass, field

from labs.progress import LabProgress, finished_experiment_ids
from lessons.attempts import counted, used
from lessons.models import LessonRead
from sockets_site import learner_state


@dataclass
class QuizScore:
    quiz: object
    attempts: int = 0
    score: float | None = None

    @property
    def passed(self) -> bool:
        return self.score is not None and self.score >= self.quiz.pass_mark


@dataclass
class LessonProgress:
    """One lesson on the course page. It is done (✓) when its quiz is passed, or, for a
    lesson without a quiz, when it is read: read alone is said as read, never as done."""

    lesson: object
    read: bool
    score: QuizScore | None = None
    lab: LabProgress | None = None  # None when the lesson has no experiment

    @property
    def done(self) -> bool:
        return self.score.passed if self.score else self.read


@dataclass
class Step:
    label: str
    url: str
    done: bool


@dataclass
class CourseProgress:
    lessons: list[LessonProgress] = field(default_factory=list)
    final: QuizScore | None = None
    steps: list[Step] = field(default_factory=list)

    @property
    def done(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def total(self) -> int:
        return len(self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done / self.total) if self.total else 0

    @property
    def next_step(self) -> Step | None:
        return next((step for step in self.steps if not step.done), None)

    @property
    def started(self) -> bool:
        return self.done > 0


def mark_read(learner, lesson_id: int) -> None:
    """Once per learner and lesson, however often it is reached (the database enforces it)."""
    LessonRead.objects.get_or_create(lesson_id=lesson_id, **learner.fields())


# A visitor's read lessons (slugs), kept in their session beside the database rows, so
# a lesson page asks the database nothing for them (sockets_site.page_cache).
READ_IN_SESSION = "read_lessons"


def has_read(request, learner, slug: str) -> bool:
    if not learner.known:
        return False
    if learner.user is not None:
        return learner_state.of(learner).has_read(slug)
    kept = request.session.get(READ_IN_SESSION)
    if kept is None:  # a session from before this was kept: filled once
        reads = learner.owns(LessonRead.objects.all()).values_list("lesson__slug", flat=True)
        kept = request.session[READ_IN_SESSION] = sorted(reads)
    return slug in kept


def remember_read(request, learner, slug: str) -> None:
    """After mark_read, for a visitor: the session's copy too."""
    if learner.user is None and not has_read(request, learner, slug):
        request.session[READ_IN_SESSION] = sorted([*request.session[READ_IN_SESSION], slug])


def quiz_scores(learner, quizzes: list) -> dict[int, QuizScore]:
    scores = {quiz.pk: QuizScore(quiz) for quiz in quizzes}
    by_quiz: dict[int, list] = {}
    for attempt in learner_state.of(learner).attempts:  # in submitted_at, pk order
        if attempt.quiz_id in scores:
            by_quiz.setdefault(attempt.quiz_id, []).append(attempt)
    for quiz_id, done in by_quiz.items():
        score = scores[quiz_id]
        score.attempts = used(done)
        best = counted(done, score.quiz.counts)
        score.score = best.percent if best else None
    return scores


def course_progress(learner, lessons: list, quizzes: list, experiments=()) -> CourseProgress:
    read = learner_state.of(learner).read_ids
    scores = quiz_scores(learner, quizzes)
    by_lesson = {quiz.lesson_id: scores[quiz.pk] for quiz in quizzes if quiz.lesson_id}
    finished = finished_experiment_ids(learner, [e.pk for e in experiments])
    labs: dict[int, list] = {}
    for experiment in experiments:
        labs.setdefault(experiment.lesson_id, []).append(experiment)
    progress = CourseProgress()
    for lesson in lessons:
        score = by_lesson.get(lesson.pk)
        is_read = lesson.pk in read or bool(score and score.passed)
        lab = None
        if lesson.pk in labs:
            done = [e for e in labs[lesson.pk] if e.pk in finished]
            lab = LabProgress(done=len(done), total=len(labs[lesson.pk]))
        progress.lessons.append(LessonProgress(lesson, is_read, score, lab))
        progress.steps.append(Step(f"Read “{lesson.title}”", lesson.get_absolute_url(), is_read))
        for experiment in labs.get(lesson.pk, ()):
            progress.steps.append(
                Step(
                    f"Try “{experiment.title}”",
                    experiment.get_absolute_url(),
                    experiment.pk in finished,
                )
            )
        if score:
            progress.steps.append(
                Step(f"Take “{score.quiz.title}”", score.quiz.get_absolute_url(), score.passed)
            )
    finals = [scores[q.pk] for q in quizzes if not q.lesson_id]
    if finals:
        progress.final = finals[0]
        progress.steps.append(
            Step(
                f"Take “{finals[0].quiz.title}”",
                finals[0].quiz.get_absolute_url(),
                finals[0].passed,
            )
        )
    return progress
