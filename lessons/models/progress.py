"""A learner's progress: lessons read and quiz attempts (lab runs: labs.models).

A learner is a user, or, before signing up, an anonymous visitor known by a
random key kept in their session (see sockets_site.learners). Every row belongs to
exactly one of the two, and moves to the user when the visitor logs in.
"""

from django.db import models
from django.urls import reverse
from django.utils import timezone

from lessons.models.course import Lesson
from lessons.models.quizzes import Question, Quiz
from sockets_site.models_base import LEARNER, LearnerOwned, learner_constraints


class LessonRead(LearnerOwned):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reads")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = learner_constraints("one_read", "lesson")

    def __str__(self):
        return f"{self.lesson} read"


class Attempt(LearnerOwned):
    """A submitted attempt. Nothing is written before the learner submits (lessons.attempts)."""

    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    # A retry of the missed questions of an earlier attempt: it answers only
    # those, and keeps the points the earlier attempt earned on the rest.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # The learner's 1st, 2nd… attempt at the quiz; unique per learner, so two racing
    # submissions cannot both take the last allowed number. Empty for a practice attempt:
    # one made as a visitor beyond the account's limit, kept but never counted.
    number = models.PositiveSmallIntegerField(null=True, blank=True)
    # The nonce of the quiz page it was submitted from: a page is recorded once. NULL,
    # not "", for attempts made before pages had nonces, since NULLs never collide.
    token = models.CharField(max_length=32, unique=True, null=True, editable=False)  # noqa: DJ001
    # The shuffled order the learner saw.
    question_ids = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(default=timezone.now, db_index=True)
    points = models.FloatField(null=True, blank=True)
    max_points = models.PositiveIntegerField(default=0)
    percent = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["submitted_at", "pk"]
        # Practice attempts have no number: as many as the learner likes.
        constraints = learner_constraints(
            "one_attempt_number", "quiz", LEARNER, "number", number__isnull=False
        )

    def __str__(self):
        return f"{self.quiz} attempt {self.pk}"

    def get_absolute_url(self):
        return reverse("lessons:attempt", args=[self.quiz.slug, self.pk])

    @property
    def practice(self) -> bool:
        return self.number is None

    @property
    def passed(self) -> bool:
        return self.percent is not None and self.percent >= self.quiz.pass_mark


class Answer(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    choice_ids = models.JSONField(default=list, blank=True)
    text = models.CharField(max_length=300, blank=True)
    number = models.FloatField(null=True, blank=True)
    points = models.FloatField(default=0)
    # A lab question's grading, kept as it was at submission (the sandbox changes after):
    # {"sandbox": bool, "complete": bool, "reached": n, "total": m, "found": [...],
    # "missing": "..."} (labs.grading.grade_lab_questions).
    lab_result = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["attempt", "question"], name="one_answer_per_question")
        ]

    def __str__(self):
        return f"Answer to {self.question_id} in attempt {self.attempt_id}"

    @property
    def correct(self) -> bool:
        return self.points >= 1

    @property
    def answered(self) -> bool:
        if self.lab_result:
            return bool(self.lab_result.get("sandbox"))
        return bool(self.choice_ids or self.text.strip() or self.number is not None)
