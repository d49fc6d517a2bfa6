"""Labs: the playground's guided experiments as course content, and learners' runs of them.

Rules:
- An experiment is content like a lesson or a quiz: loaded from
  `content/experiments/<slug>.yaml` (the slug is the experiment's id, the name the
  lessons' "Try it" links and the playground's protocol use), editable in the admin,
  never overwritten by the loader after an admin edit (`loaded_hash`).
- Its steps are reached in order; each step's check is in playground.labs.lab's check
  language, validated by the same rules in the loader and the admin
  (playground.labs.checks.check_errors and steps_errors). A step may ask a prediction
  (`prediction`: {prompt, choices, answer}, {} for none) before the learner acts, and
  `explain` what it showed; the playground shows neither the answer nor the explanation
  before the step is done.
- A learner has at most one run of an experiment (the database keeps it so, like
  LessonRead). A run only goes forward: `steps_done` never goes down and a finished
  run stays finished, however often the experiment is started over (labs.hooks).
- The tables keep the names they had when these models were the lessons app's
  (lessons_experiment, ...): moving them here moved no row (migrations: labs 0001 and
  lessons 0008 change Django's state only).
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone

from playground.labs import checks as lab_checks
from sockets_site.models_base import CourseItem, LearnerOwned, learner_constraints


class Experiment(CourseItem):
    slug = models.SlugField(
        "id",
        max_length=80,
        unique=True,
        help_text="Stable id: the name of its content file and of the lessons' “Try it” links.",
    )
    lesson = models.ForeignKey(
        "lessons.Lesson", on_delete=models.CASCADE, related_name="experiments"
    )
    anchor = models.CharField(
        "section anchor",
        max_length=120,
        blank=True,
        help_text="The id of the lesson heading this experiment belongs to, e.g. "
        "a-port-with-nothing-at-it.",
    )

    class Meta(CourseItem.Meta):
        db_table = "lessons_experiment"

    def get_absolute_url(self):
        return f"{reverse('playground:index')}?experiment={self.slug}"

    @property
    def teaches(self) -> str:
        slug = self.lesson.slug if self.lesson_id else ""
        return f"{slug}#{self.anchor}" if self.anchor else slug

    def clean(self):
        if self.lesson_id and self.anchor:
            anchors = {entry["id"] for entry in self.lesson.toc}
            if self.anchor not in anchors:
                raise ValidationError(
                    {"anchor": f"The lesson “{self.lesson}” has no section '{self.anchor}'."}
                )

    def source_fields(self) -> dict:
        """The experiment as its content file holds it (the slug is the file's name)."""
        return {
            "title": self.title,
            "lesson": self.lesson.slug,
            "teaches": self.teaches,
            "order": self.order,
            "published": self.published,
            "steps": [s.as_step() for s in self.steps.all()],
        }


class ExperimentStep(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField(default=0)
    text = models.TextField(
        help_text="Plain text: what to do, or what to look for; never its result (that is "
        "for the explanation)."
    )
    prediction = models.JSONField(
        default=dict,
        blank=True,
        help_text="Asked before the learner acts: {prompt, choices, answer} (answer counted "
        "from 0), or {} for none.",
    )
    explain = models.TextField(
        "explanation",
        blank=True,
        help_text="Plain text: what the step showed, and why. Shown only once the step is done.",
    )
    # Not `check`: that name is Model.check(), Django's system checks.
    step_check = models.JSONField(
        "check",
        help_text='What the sandbox must show, e.g. {"socket": {"device": "server", '
        '"port": 3000, "state": "LISTEN"}} (see docs/playground-protocol.md, labs).',
    )

    class Meta:
        db_table = "lessons_experimentstep"
        ordering = ["order", "pk"]

    def __str__(self):
        return self.text[:80]

    def as_step(self) -> dict:
        """The step as course files and the engine take it (lab_checks.EXPERIMENT_STEP)."""
        step = {"text": self.text, "check": self.step_check}
        if self.prediction:
            step["predict"] = self.prediction
        if self.explain:
            step["explain"] = self.explain
        return step

    def clean(self):
        errors = {}
        if problems := lab_checks.check_errors(self.step_check):
            errors["step_check"] = problems
        if self.prediction and (problems := lab_checks.prediction_errors(self.prediction)):
            errors["prediction"] = problems
        if errors:
            raise ValidationError(errors)


class LabRun(LearnerOwned):
    """A learner's progress through one experiment, recorded by the playground's engine."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=timezone.now)
    steps_done = models.PositiveSmallIntegerField(default=0)
    steps = models.PositiveSmallIntegerField(default=0, help_text="The experiment's steps then.")
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Step number (1-based, as text: a JSON key) -> the choice the learner predicted,
    # counted from 0. The first prediction of a step counts; it is never changed.
    predictions = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "lessons_labrun"
        constraints = learner_constraints("one_lab_run", "experiment")

    def __str__(self):
        return f"{self.experiment} run"

    @property
    def finished(self) -> bool:
        return self.finished_at is not None
