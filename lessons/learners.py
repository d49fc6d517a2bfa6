"""Who is learning: a signed-in user, or an anonymous visitor.

Rules: an anonymous visitor gets a random key in their session the first
time they do something worth keeping (a read lesson, a submitted quiz
attempt); their rows carry that key. When they sign up or log in, the rows
move to the account: a lesson read twice is kept once, and the visitor's quiz
attempts come after the account's own, in the order they were made, counting
toward the account's attempt limit. Those beyond the limit are kept as
practice: shown, never the attempt that counts, so logging out cannot buy
more attempts. A lab run (an experiment done in the playground) is kept once:
where both have one, the further wins (more steps done, finished if either is,
the earlier start and finish). Review cards move too; where both have a card for
the same item, the rule is review.cards.move_to_user's (the one due sooner).

Deleting a learner's progress deletes every row they own: every model built on
LearnerOwned, found by that, so a model added later is deleted too (an
attempt's answers go with it). Deleting an account deletes its progress, then
the user (every other row pointing to it goes by its foreign key's cascade) and
the throttle's record of its successful log-ins (addresses and browsers); its
failed log-ins stay until their cool-off, or deleting would lift a lock.

A move and a deletion bump both learners' progress snapshots (lessons.learner_state),
now and after the commit, beside the bumps of the rows' own signals and querysets.
"""

import secrets
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Max
from django.dispatch import receiver

SESSION_KEY = "learner"


@dataclass(frozen=True)
class Learner:
    user: object | None
    key: str = ""
    # A request's learner (learner_for) keeps what it read of its progress rows here
    # (lessons.learner_state); a Learner made elsewhere reads afresh each time.
    memo: dict | None = field(default=None, compare=False, repr=False)

    @property
    def known(self) -> bool:
        return self.user is not None or bool(self.key)

    def owns(self, queryset):
        if self.user is not None:
            return queryset.filter(user=self.user)
        if self.key:
            return queryset.filter(user=None, learner_key=self.key)
        return queryset.none()

    def fields(self) -> dict:
        if self.user is not None:
            return {"user": self.user, "learner_key": ""}
        return {"user": None, "learner_key": self.key}


def learner_for(request, create: bool = False) -> Learner:
    if request.user.is_authenticated:
        return Learner(request.user, memo={})
    key = request.session.get(SESSION_KEY, "")
    if not key and create:
        from lessons.progress import READ_IN_SESSION

        key = secrets.token_hex(16)
        request.session[SESSION_KEY] = key
        # A new key has read nothing: said now, in the write that makes the key, or the
        # next lesson page's GET would fill it in (a session write on a GET), and a key
        # made after "Delete my progress" would inherit the old key's reads.
        request.session[READ_IN_SESSION] = []
    return Learner(None, key, memo={})


@receiver(user_logged_in)
def adopt_visitor_progress(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    key = request.session.pop(SESSION_KEY, "")
    if key:
        move_progress(key, user)


@transaction.atomic
def move_progress(key: str, user) -> None:
    from lessons import labs, learner_state
    from lessons.models import Attempt, LabRun, LessonRead
    from review import cards as review_cards

    already_read = set(LessonRead.objects.filter(user=user).values_list("lesson_id", flat=True))
    visitor_reads = LessonRead.objects.filter(user=None, learner_key=key)
    visitor_reads.filter(lesson_id__in=already_read).delete()
    visitor_reads.update(user=user, learner_key="")

    visitor_attempts = Attempt.objects.filter(user=None, learner_key=key).select_related("quiz")
    used = dict(
        Attempt.objects.filter(user=user, number__isnull=False)
        .values("quiz_id")
        .annotate(top=Max("number"))
        .values_list("quiz_id", "top")
    )
    for attempt in visitor_attempts.order_by("submitted_at", "pk"):
        number = used.get(attempt.quiz_id, 0) + 1
        limit = attempt.quiz.max_attempts
        if attempt.practice or (limit is not None and number > limit):
            number = None
        else:
            used[attempt.quiz_id] = number
        Attempt.objects.filter(pk=attempt.pk).update(user=user, learner_key="", number=number)

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
    review_cards.move_to_user(key, user)
    # The moves above bump through the models' querysets too; said here as well, since
    # both learners' rows changed whatever the moves found (now and on commit).
    learner_state.bump_learner(Learner(None, key))
    learner_state.bump_learner(Learner(user))
    # A playground still open records under the visitor's key: make that the account's.
    labs.visitor_moved(key, user.pk)


# The words a learner reads for each kind of row; a model added later shows its own
# plural name until it is given words here.
PROGRESS_WORDS = {
    "lessons.lessonread": "lessons read",
    "lessons.attempt": "quiz attempts",
    "lessons.labrun": "experiments started",
    "review.reviewcard": "questions in your review queue",
}


def owned_models() -> list:
    """Every LearnerOwned model, those of PROGRESS_WORDS first and in its order."""
    from lessons.models.progress import LearnerOwned

    rank = {label: n for n, label in enumerate(PROGRESS_WORDS)}
    models = [model for model in apps.get_models() if issubclass(model, LearnerOwned)]
    return sorted(models, key=lambda model: rank.get(model._meta.label_lower, len(rank)))


def progress_counts(learner: Learner) -> dict[str, int]:
    """How many rows of each kind the learner owns, by the model's plural name."""
    if not learner.known:
        return {}
    counts = {
        PROGRESS_WORDS.get(model._meta.label_lower, str(model._meta.verbose_name_plural)): (
            learner.owns(model._default_manager).count()
        )
        for model in owned_models()
    }
    return {name: count for name, count in counts.items() if count}


def delete_progress(learner: Learner) -> None:
    from lessons import learner_state

    with transaction.atomic():
        for model in owned_models():
            learner.owns(model._default_manager).delete()
        # The deletes' signals bump too; this covers a learner who had no rows left.
        learner_state.bump_learner(learner)


def delete_account(user) -> None:
    from axes.models import AccessLog

    with transaction.atomic():
        delete_progress(Learner(user))
        AccessLog.objects.filter(username=user.get_username()).delete()
        user.delete()
