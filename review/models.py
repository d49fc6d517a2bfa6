"""The review queue: one card per learner and item they missed (review.cards has the rules).

A card belongs to a user or to a visitor's key, like every other learner's row
(sockets_site.models_base.LearnerOwned), and moves to the account on log-in.
"""

from django.db import models
from django.utils import timezone

from sockets_site.models_base import LearnerOwned, learner_constraints


class ReviewCard(LearnerOwned):
    class Kind(models.TextChoices):
        QUESTION = "question", "Quiz question"
        PREDICTION = "prediction", "Experiment prediction"

    kind = models.CharField(max_length=12, choices=Kind)
    # A question's pk, or "<experiment slug>/<step number, 1-based>": a string, so a
    # card outlives the row it names (a question deleted is skipped, never an error).
    ref = models.CharField(max_length=120)
    # The FSRS card as the `fsrs` library writes it (fsrs.Card.to_dict()).
    state = models.JSONField()
    # The card's due time, copied out of `state` so the queue is one indexed query.
    due = models.DateTimeField(db_index=True)
    reviews = models.PositiveIntegerField(default=0, help_text="Answers recorded since added.")
    misses = models.PositiveIntegerField(default=0, help_text="Wrong answers, the first included.")
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due", "pk"]
        constraints = learner_constraints("one_review_card", "kind", "ref")

    def __str__(self):
        return f"{self.kind} {self.ref}, due {self.due:%Y-%m-%d %H:%M}"
