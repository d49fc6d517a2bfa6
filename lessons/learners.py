"""A learner's progress in the course: what they own, counted, moved and deleted.

Who a learner is (a user, or a visitor's key) is sockets_site.learners'; this module is
what the course keeps of them. Rules:
- When a visitor signs up or logs in their rows move to the account
  (accounts.progress.move_progress calls each app's part; the course's is
  move_reads_and_attempts): a lesson read twice is kept once, and the visitor's quiz
  attempts come after the account's own, in the order they were made, counting toward
  the account's attempt limit. Those beyond the limit are kept as practice: shown,
  never the attempt that counts, so logging out cannot buy more attempts.
- Deleting a learner's progress deletes every row they own: every model built on
  LearnerOwned, found by that, so a model added later (in any app) is deleted too (an
  attempt's answers go with it). A deletion bumps the learner's progress snapshot
  (sockets_site.learner_state), beside the bumps of the rows' own signals and querysets.
- A learner's reads and attempts are parts of their progress snapshot
  (sockets_site.learner_state): lessons_read and attempt_rows read them, registered by
  LessonsConfig.ready().
- A visitor's new key has read nothing (nothing_read_yet): said in the write that makes
  the key, or the next lesson page's GET would fill it in (a session write on a GET),
  and a key made after "Delete my progress" would inherit the old key's reads.
"""

from django.apps import apps
from django.db import transaction
from django.db.models import Max
from django.dispatch import receiver

from lessons.models import Attempt, LessonRead
from lessons.progress import READ_IN_SESSION
from sockets_site import learner_state, learners
from sockets_site.learner_state import AttemptRow
from sockets_site.models_base import LearnerOwned


@receiver(learners.key_made)
def nothing_read_yet(sender, request, **kwargs):
    request.session[READ_IN_SESSION] = []


def lessons_read(learner) -> tuple[tuple[int, str], ...]:
    """The snapshot's `read` part: (lesson id, lesson slug) of every lesson read, sorted."""
    read = learner.owns(LessonRead.objects.all()).values_list("lesson_id", "lesson__slug")
    return tuple(sorted(read))


def attempt_rows(learner) -> tuple[AttemptRow, ...]:
    """The snapshot's `attempts` part: every quiz attempt, in submitted_at, pk order."""
    attempts = learner.owns(Attempt.objects.order_by("submitted_at", "pk")).values_list(
        "pk", "quiz_id", "percent", "submitted_at", "number"
    )
    return tuple(AttemptRow(*row) for row in attempts)


def move_reads_and_attempts(key: str, user) -> None:
    """The visitor's reads and attempts become the account's (in the caller's transaction)."""
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


# The words a learner reads for each kind of row; a model added later shows its own
# plural name until it is given words here.
PROGRESS_WORDS = {
    "lessons.lessonread": "lessons read",
    "lessons.attempt": "quiz attempts",
    "labs.labrun": "experiments started",
    "review.reviewcard": "questions in your review queue",
}


def owned_models() -> list:
    """Every LearnerOwned model, those of PROGRESS_WORDS first and in its order."""
    rank = {label: n for n, label in enumerate(PROGRESS_WORDS)}
    models = [model for model in apps.get_models() if issubclass(model, LearnerOwned)]
    return sorted(models, key=lambda model: rank.get(model._meta.label_lower, len(rank)))


def progress_counts(learner: learners.Learner) -> dict[str, int]:
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


def delete_progress(learner: learners.Learner) -> None:
    with transaction.atomic():
        for model in owned_models():
            learner.owns(model._default_manager).delete()
        # The deletes' signals bump too; this covers a learner who had no rows left.
        learner_state.bump_learner(learner)
