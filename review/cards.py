"""What goes into a learner's review queue, and when it comes back.

Rules:
- Items are quiz questions (kind "question", ref str(Question.pk)) and experiment
  predictions (kind "prediction", ref "<experiment slug>/<step number, 1-based>").
- A wrong answer puts the item in the queue: a new card, reviewed with Rating.Again,
  or, when the item is in the queue already, that card reviewed with Again. A right
  answer reviews a card already in the queue with Rating.Good; a right answer on an
  item not in the queue changes nothing: the queue holds what the learner missed.
- The schedule is FSRS's (the `fsrs` package), never our own: SCHEDULER is the
  library's scheduler with its default parameters and retention, but one learning
  step of ten minutes instead of one minute then ten: a missed item comes back later
  in the same sitting (at the next lesson's warm-up, say), not while its explanation
  is still on the screen, and one right answer then sends it days away.
- The clock is an argument (`now`, by default django.utils.timezone.now()): an answer
  is recorded at the time it was given (a quiz attempt's submit time), and tests move
  the clock instead of waiting.
- One card per learner and item (the database's constraints); two racing first misses
  make one card, the other's miss is already in the queue.
- A visitor's cards move to their account on log-in (move_to_user, called by
  accounts.progress): where both have a card for the same item, the one due sooner is
  kept (on the same due time, the one with more misses), since it is the one the
  learner knows less; the reviews and misses of the two add up, being one learner's.

- A learner's cards are a part of their progress snapshot (sockets_site.learner_state;
  snapshot_cards, registered by ReviewConfig.ready()).
- Every write of a card reaches the learner's progress snapshot (sockets_site.learner_state):
  a save or delete by its signals, record_many's bulk_create and move_to_user's UPDATE
  by the queryset of its manager (learner_state.LearnerRowsQuerySet, from LearnerOwned).

Sync ORM code: async callers wrap it in database_sync_to_async.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from fsrs import Card, Rating, Scheduler

from review.models import ReviewCard
from sockets_site.learner_state import CardRow

KINDS = tuple(ReviewCard.Kind.values)
SCHEDULER = Scheduler(learning_steps=(timedelta(minutes=10),))


def _utc(moment: datetime | None) -> datetime:
    # fsrs wants datetime.timezone.utc itself, not merely an aware time.
    return (moment or timezone.now()).astimezone(UTC)


def _review(row: ReviewCard, rating: Rating, now: datetime) -> None:
    card, _log = SCHEDULER.review_card(Card.from_dict(row.state), rating, now)
    row.state = card.to_dict()
    row.due = card.due
    row.reviews += 1
    row.misses += rating == Rating.Again
    row.reviewed_at = now


def record(learner, kind: str, ref: str, correct: bool, now: datetime | None = None):
    """Record one answer; returns the item's card (None when it is not in the queue)."""
    return record_many(learner, kind, {ref: correct}, now).get(str(ref))


@transaction.atomic
def record_many(
    learner, kind: str, results: Mapping[str, bool], now: datetime | None = None
) -> dict[str, ReviewCard]:
    """Record answers to several items of one kind at once (a quiz attempt's questions):
    ref -> right or wrong. Returns ref -> card, for the items now in the queue."""
    if kind not in KINDS:
        raise ValueError(f"Unknown review item kind {kind!r}: one of {', '.join(KINDS)}.")
    if not learner.known:
        raise ValueError("A learner with neither an account nor a visitor key has no queue.")
    now = _utc(now)
    results = {str(ref): bool(correct) for ref, correct in results.items()}
    mine = learner.owns(ReviewCard.objects.filter(kind=kind, ref__in=list(results)))
    cards = {row.ref: row for row in mine.select_for_update()}
    new = []
    for ref, correct in results.items():
        row = cards.get(ref)
        if row is None:
            if correct:
                continue
            row = ReviewCard(
                kind=kind,
                ref=ref,
                # card_id given: the library's default sleeps a millisecond to make one.
                state=Card(card_id=int(now.timestamp() * 1000), due=now).to_dict(),
                created_at=now,
                **learner.fields(),
            )
            new.append(row)
            cards[ref] = row
        _review(row, Rating.Good if correct else Rating.Again, now)
        if row.pk is not None:
            row.save(update_fields=["state", "due", "reviews", "misses", "reviewed_at"])
    ReviewCard.objects.bulk_create(new, ignore_conflicts=True)
    return cards


def due(learner, now: datetime | None = None):
    """The learner's cards due at `now`, soonest first (servable or not: review.items)."""
    if not learner.known:
        return ReviewCard.objects.none()
    return learner.owns(ReviewCard.objects.filter(due__lte=_utc(now))).order_by("due", "pk")


def upcoming(learner, now: datetime | None = None):
    """The learner's cards not due yet, soonest first."""
    if not learner.known:
        return ReviewCard.objects.none()
    return learner.owns(ReviewCard.objects.filter(due__gt=_utc(now))).order_by("due", "pk")


def of_items(learner, kind: str, refs) -> list[ReviewCard]:
    """The learner's cards for these items (those in the queue)."""
    if not learner.known:
        return []
    refs = [str(ref) for ref in refs]
    return list(learner.owns(ReviewCard.objects.filter(kind=kind, ref__in=refs)))


def move_to_user(key: str, user) -> None:
    """A visitor's cards become the account's (the rule for a card both have: above)."""
    mine = {(c.kind, c.ref): c for c in ReviewCard.objects.filter(user=user)}
    for card in ReviewCard.objects.filter(user=None, learner_key=key):
        kept = mine.get((card.kind, card.ref))
        if kept is None:
            ReviewCard.objects.filter(pk=card.pk).update(user=user, learner_key="")
            continue
        if (card.due, -card.misses) < (kept.due, -kept.misses):
            kept.state, kept.due, kept.reviewed_at = card.state, card.due, card.reviewed_at
        kept.reviews += card.reviews
        kept.misses += card.misses
        kept.created_at = min(kept.created_at, card.created_at)
        card.delete()
        kept.save()


def snapshot_cards(learner) -> tuple[CardRow, ...]:
    """The snapshot's `cards` part: every card of the learner, due first, ties by pk."""
    rows = learner.owns(ReviewCard.objects.order_by("due", "pk"))
    return tuple(CardRow(*row) for row in rows.values_list("pk", "kind", "ref", "due"))


def record_quiz_answers(sender, learner, results, at, **kwargs) -> None:
    """lessons.attempts.answers_recorded: a quiz attempt's answers, in its transaction."""
    record_many(learner, "question", results, at)
