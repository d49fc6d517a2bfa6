"""A learner's progress rows as one small immutable snapshot, read in one cache round trip.

What a page with a session shows of a learner's progress (lessons read, quiz attempts'
scores, finished experiments, review cards due) comes from a `Snapshot` of their rows,
kept in Django's cache under the learner (user id or visitor key). A page reads it with
ONE `cache.get_many`: the snapshot, the learner's version and the page generation.

Rules (a wrong progress mark is our worst bug, issue 21):
- The learner's version is a random token, replaced (never counted up) by `bump`, so a
  version the cache evicted can never bring back a snapshot of an older one.
- Every write that changes a learner's rows bumps them: now (so the writing request
  reads its own change) and again after the transaction commits (so a reader that read
  the database before the commit cannot keep what it read). The post_save and
  post_delete signals of every LearnerOwned model do it (found as lessons.learners
  finds them, so a model added later is covered; a saved row whose owner changed bumps
  both), and so do `update`, `bulk_create` and `bulk_update` of their querysets
  (`LearnerRowsQuerySet`, the manager of lessons.models.progress.LearnerOwned), which
  send no signals.
- A reader tags the snapshot it stores with the version it read BEFORE reading the
  database, the page generation (experiments published, slugs) and the epoch; a
  snapshot is used only when its tag equals all three now. A learner whose version is
  missing gets a new one (`cache.add`); when another reader made it first, the rows
  are read and nothing is stored.
- Redis away (sockets_site.cache): a read is a miss, so the rows come from the
  database, the truth. A learner's write is never refused for the cache (nothing a
  learner does is lost, issue 21): a bump that cannot reach Redis is noted by the
  process, and before this process reads or bumps again through a Redis that answers,
  it replaces the epoch, so every snapshot kept from before is dropped at once. What
  remains (another process reading an old snapshot between Redis coming back and this
  process's next request) is bounded by TIMEOUT: a snapshot lives at most that long.
- Within one request (the Learner lessons.learners.learner_for made) the snapshot is
  read once; any bump made by this process since forgets that copy. A Learner made
  elsewhere keeps no copy.
"""

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.apps import apps
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from lessons import page_cache

log = logging.getLogger(__name__)

try:  # the redis extra; without it the cache is in this process's memory, never away
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - the test environment has redis
    RedisError = ()

# A snapshot's life in the cache: the bound on the staleness the strict bump cannot
# prevent (module docstring). A learner's version lives as long as page parts do.
TIMEOUT = 10 * 60
VERSION_TIMEOUT = page_cache.TIMEOUT


class AttemptRow(NamedTuple):
    """The fields of an attempt lessons.progress.quiz_scores (lessons.attempts) reads."""

    pk: int
    quiz_id: int
    percent: float | None
    submitted_at: datetime
    number: int | None

    @property
    def practice(self) -> bool:
        return self.number is None


class FinishedRun(NamedTuple):
    experiment_id: int
    experiment_slug: str
    lesson_slug: str


class CardRow(NamedTuple):
    pk: int
    kind: str
    ref: str
    due: datetime


@dataclass(frozen=True)
class Snapshot:
    read: tuple[tuple[int, str], ...] = ()  # (lesson id, lesson slug)
    attempts: tuple[AttemptRow, ...] = ()  # submitted_at, pk order
    finished: tuple[FinishedRun, ...] = ()  # of published experiments
    cards: tuple[CardRow, ...] = ()  # due, pk order

    @property
    def read_ids(self) -> frozenset[int]:
        return frozenset(lesson_id for lesson_id, _ in self.read)

    def has_read(self, slug: str) -> bool:
        return any(read == slug for _, read in self.read)

    def finished_ids(self) -> frozenset[int]:
        return frozenset(run.experiment_id for run in self.finished)

    def due_cards(self, now: datetime, kind: str | None = None) -> list[CardRow]:
        """Cards due at `now`, soonest first, ties by pk (as review.cards.due orders)."""
        return [c for c in self.cards if c.due <= now and (kind is None or c.kind == kind)]


EMPTY = Snapshot()


def _owner(user_id, learner_key: str) -> str | None:
    if user_id is not None:
        return f"user:{user_id}"
    return f"visitor:{learner_key}" if learner_key else None


def _learner_owner(learner) -> str | None:
    return _owner(learner.user.pk if learner.user is not None else None, learner.key)


# In the snapshot's key: a change to Snapshot's fields must change it, so a process of the
# new code never unpickles a snapshot an older one stored in a shape it no longer has.
SHAPE = 1


def _keys(owner: str) -> tuple[str, str]:
    return f"lessons:learner:{owner}:version", f"lessons:learner:{owner}:rows:{SHAPE}"


EPOCH_KEY = "lessons:learner:epoch"

_bumps = {"count": 0}  # bumps made by this process: a request's copy older than one is dropped
_lost = threading.Event()  # a bump of this process never reached Redis
_lock = threading.Lock()


def _strict():
    return getattr(cache, "strict", cache)


def _settle_lost() -> bool:
    """After a lost bump: a new epoch, so no snapshot from before is used. False while
    Redis still does not answer."""
    if not _lost.is_set():
        return True
    try:
        _strict().set(EPOCH_KEY, secrets.token_hex(8), None)
    except RedisError:
        return False
    _lost.clear()
    return True


def _set_version(owner: str) -> None:
    with _lock:
        _bumps["count"] += 1
    try:
        if _settle_lost():
            _strict().set(_keys(owner)[0], secrets.token_hex(8), VERSION_TIMEOUT)
            return
    except RedisError:
        pass
    if not _lost.is_set():
        log.warning("progress snapshots: Redis is away; kept ones are dropped once it is back")
    _lost.set()


def bump(owner: str | None) -> None:
    """The learner's rows changed: a new version now and again once the transaction commits."""
    if owner is None:
        return
    _set_version(owner)
    transaction.on_commit(lambda: _set_version(owner))


def bump_learner(learner) -> None:
    bump(_learner_owner(learner))


def of(learner) -> Snapshot:
    """The learner's snapshot: one cache round trip when it is kept and current."""
    owner = _learner_owner(learner)
    if owner is None:
        return EMPTY
    memo = learner.memo.get("state") if learner.memo is not None else None
    if memo is not None and memo[0] == _bumps["count"]:
        return memo[1]
    bumps = _bumps["count"]
    if not _settle_lost():  # first: the epoch read below must be the new one
        snapshot = _read(learner)  # never stored: Redis is away
        if learner.memo is not None:
            learner.memo["state"] = (bumps, snapshot)
        return snapshot
    version_key, rows_key = _keys(owner)
    found = cache.get_many([version_key, rows_key, page_cache.GENERATION_KEY, EPOCH_KEY])
    version = found.get(version_key)
    generation = found.get(page_cache.GENERATION_KEY) or page_cache.current_generation()
    tag = (version, generation, found.get(EPOCH_KEY))
    kept = found.get(rows_key)
    if version is not None and kept is not None and kept[0] == tag:
        snapshot = kept[1]
    else:
        if version is None:
            token = secrets.token_hex(8)
            version = token if cache.add(version_key, token, VERSION_TIMEOUT) else None
            tag = (version, *tag[1:])
        snapshot = _read(learner)
        if version is not None:
            cache.set(rows_key, (tag, snapshot), TIMEOUT)
    if learner.memo is not None:
        learner.memo["state"] = (bumps, snapshot)
    return snapshot


def _read(learner) -> Snapshot:
    from lessons.models import Attempt, LabRun, LessonRead

    read = learner.owns(LessonRead.objects.all()).values_list("lesson_id", "lesson__slug")
    attempts = learner.owns(Attempt.objects.order_by("submitted_at", "pk")).values_list(
        "pk", "quiz_id", "percent", "submitted_at", "number"
    )
    runs = learner.owns(
        LabRun.objects.filter(finished_at__isnull=False, experiment__published=True)
    ).values_list("experiment_id", "experiment__slug", "experiment__lesson__slug")
    cards = ()
    if apps.is_installed("review"):
        from review.models import ReviewCard

        rows = learner.owns(ReviewCard.objects.order_by("due", "pk"))
        cards = tuple(CardRow(*row) for row in rows.values_list("pk", "kind", "ref", "due"))
    return Snapshot(
        read=tuple(sorted(read)),
        attempts=tuple(AttemptRow(*row) for row in attempts),
        finished=tuple(sorted(FinishedRun(*row) for row in runs)),
        cards=cards,
    )


# Writes: signals, and the writes that bypass them.

_OWNER_FIELDS = {"user", "user_id", "learner_key"}


def _row_owner(row) -> str | None:
    return _owner(row.user_id, row.learner_key)


def _saving(sender, instance, update_fields=None, **kwargs):
    """Before a save that may give an existing row another owner (the admin's form, say),
    the owner it had: that learner's snapshot changes too."""
    if instance.pk is None or (
        update_fields is not None and not _OWNER_FIELDS & set(update_fields)
    ):
        return
    before = sender._base_manager.filter(pk=instance.pk).values_list("user_id", "learner_key")
    instance._learner_state_before = [_owner(*row) for row in before]


def _changed(sender, instance, **kwargs):
    owners = {_row_owner(instance), *instance.__dict__.pop("_learner_state_before", ())}
    for owner in owners:
        bump(owner)


class LearnerRowsQuerySet(QuerySet):
    """A LearnerOwned model's queryset: the writes that send no signal bump the learners
    of the rows they touch (before and after, as an update may move rows)."""

    def update(self, **kwargs):
        owners = set(self.values_list("user_id", "learner_key").distinct())
        moves = _OWNER_FIELDS & kwargs.keys()
        pks = list(self.values_list("pk", flat=True)) if moves else []
        count = super().update(**kwargs)
        if moves:
            moved = self.model._base_manager.filter(pk__in=pks)
            owners |= set(moved.values_list("user_id", "learner_key").distinct())
        for owner in owners:
            bump(_owner(*owner))
        return count

    def bulk_create(self, objs, *args, **kwargs):
        objs = super().bulk_create(objs, *args, **kwargs)
        for owner in {_row_owner(row) for row in objs}:
            bump(owner)
        return objs

    def bulk_update(self, objs, *args, **kwargs):
        objs = list(objs)
        before = set()
        if _OWNER_FIELDS & set(kwargs.get("fields", args[0] if args else ())):
            pks = [row.pk for row in objs]
            rows = self.model._base_manager.filter(pk__in=pks)
            before = set(rows.values_list("user_id", "learner_key").distinct())
        count = super().bulk_update(objs, *args, **kwargs)
        for owner in {_row_owner(row) for row in objs} | {_owner(*row) for row in before}:
            bump(owner)
        return count


def connect() -> None:
    """Every LearnerOwned model's saves and deletes bump its learners (call once models
    are loaded); their querysets' bulk writes bump through LearnerRowsQuerySet."""
    from lessons.learners import owned_models

    for model in owned_models():
        uid = f"learner_state:{model._meta.label_lower}"
        pre_save.connect(_saving, sender=model, dispatch_uid=uid)
        post_save.connect(_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_changed, sender=model, dispatch_uid=uid)
