"""A learner's progress: lessons read and quiz attempts.

A learner is a user, or, before signing up, an anonymous visitor known by a
random key kept in their session (see lessons.learners). Every row belongs to
exactly one of the two, and moves to the user when the visitor logs in.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lessons.models.course import Lesson
from lessons.models.quizzes import Question, Quiz


class LearnerOwned(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    learner_key = models.CharField(max_length=32, blank=True, db_index=True)

    class Meta:
        abstract = True


class LessonRead(LearnerOwned):
    lesson = models.ForeignKey(Lesson, on_delete=models.CASCADE, related_name="reads")
    read_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "lesson"], condition=Q(user__isnull=False), name="one_read_per_user"
            ),
            models.UniqueConstraint(
                fields=["learner_key", "lesson"],
                condition=Q(user__isnull=True),
                name="one_read_per_visitor",
            ),
        ]

    def __str__(self):
        return f"{self.lesson} read"


class Attempt(LearnerOwned):
    quiz = models.ForeignKey(Quiz, on_delete=models.CASCADE, related_name="attempts")
    # A retry of the missed questions of an earlier attempt: it answers only
    # those, and keeps the points the earlier attempt earned on the rest.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # The shuffled order drawn when the attempt began, so a reload shows the same.
    question_ids = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    points = models.FloatField(null=True, blank=True)
    max_points = models.PositiveIntegerField(default=0)
    percent = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self):
        return f"{self.quiz} attempt {self.pk}"

    @property
    def submitted(self) -> bool:
        return self.submitted_at is not None

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
        return bool(self.choice_ids or self.text.strip() or self.number is not None)
