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
  post_delete signals of every LearnerOwned model do it (`connect` is given them all,
  sockets_site.models_base.owned_models, so a model added later is covered; a saved row
  whose owner changed bumps both), and so do `update`, `bulk_create` and `bulk_update`
  of their querysets (`LearnerRowsQuerySet`, the manager of
  sockets_site.models_base.LearnerOwned), which send no signals. A write of nothing a
  snapshot holds (a lab run's steps, a card's review count) bumps nothing.
- A reader tags the snapshot it stores with the version it read BEFORE reading the
  database, the page generation (experiments published, slugs) and the epoch; a
  snapshot is used only when its tag equals all three now. A learner whose version is
  missing gets a new one (`cache.add`); when another reader made it first, the rows
  are read and nothing is stored.
- Redis away (sockets_site.cache): a read is a miss, so the rows come from the
  database, the truth. A learner's write is never refused for the cache (nothing a
  learner does is lost, issue 21): a bump that cannot reach Redis is noted by the
  process, which replaces the epoch as soon as Redis answers (a thread tries every
  SETTLE_EVERY, and once more at exit), so every snapshot kept from before is dropped
  at once; until then it asks Redis nothing for its bumps. What no bump can cover (a
  process killed between its commit and the bump after it, or while Redis is away) is
  bounded by TIMEOUT: a snapshot lives at most that long.
- Only in a cache every process shares (settings.PROGRESS_SNAPSHOTS, on with Redis):
  otherwise each request reads the rows (once per request).
- Within one request (the Learner sockets_site.learners.learner_for made) the snapshot is
  read once; any bump made by this process since forgets that copy. A Learner made
  elsewhere keeps no copy.
- Each part of a snapshot is read by the app that owns its rows, registered in its
  AppConfig.ready() (`register`): lessons its reads and attempts, labs its finished runs,
  review its cards. A part no installed app registers stays empty. So this module, below
  every app, imports none.
"""

import atexit
import logging
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save, pre_save

from sockets_site import page_cache

log = logging.getLogger(__name__)

try:  # the redis extra; without it the cache is in this process's memory, never away
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - the test environment has redis
    RedisError = ()

# A snapshot's life in the cache: the bound on the staleness no bump can prevent (module
# docstring); rebuilding an active learner's once a minute costs a few small queries.
TIMEOUT = 60
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


# In the snapshot's key, made from the fields themselves: a process of new code never
# unpickles a snapshot an older one stored in a shape it no longer has (a TypeError there
# is no cache miss but a failed page).
_FIELDS = (list(Snapshot.__dataclass_fields__), AttemptRow._fields, FinishedRun._fields)
SHAPE = zlib.crc32(repr((*_FIELDS, CardRow._fields)).encode())


def _keys(owner: str) -> tuple[str, str]:
    return f"lessons:learner:{owner}:version", f"lessons:learner:{owner}:rows:{SHAPE}"


EPOCH_KEY = "lessons:learner:epoch"
SETTLE_EVERY = 0.5  # seconds between tries to replace the epoch after a lost bump

_lock = threading.Lock()
# bumps: made by this process (a request's copy older than one is dropped); lost: bumps
# that never reached Redis; settled: the `lost` count the last epoch replaced covers.
_state = {"bumps": 0, "lost": 0, "settled": 0}
_settler: list[threading.Thread] = []


def enabled() -> bool:
    """Snapshots are kept only in a cache every process shares (settings.py says when)."""
    return settings.PROGRESS_SNAPSHOTS


def _strict():
    return getattr(cache, "strict", cache)


def _settle_lost() -> bool:
    """After a lost bump: a new epoch, so no snapshot from before is used. False while
    Redis still does not answer. A loss noted while the epoch is written stays unsettled."""
    lost = _state["lost"]
    if lost == _state["settled"]:
        return True
    try:
        _strict().set(EPOCH_KEY, secrets.token_hex(8), None)
    except RedisError:
        return False
    with _lock:
        _state["settled"] = max(_state["settled"], lost)
    log.warning("progress snapshots: Redis is back; every snapshot kept before is dropped")
    return True


def _settle_soon() -> None:
    """Replace the epoch as soon as Redis answers, not at this process's next request:
    until then other processes may read a snapshot this one's lost bump should have
    dropped (and this process may be about to stop)."""

    def settle():
        while not _settle_lost():
            time.sleep(SETTLE_EVERY)

    with _lock:
        if _settler and _settler[0].is_alive():
            return
        _settler[:] = [threading.Thread(target=settle, name="progress-snapshots", daemon=True)]
    _settler[0].start()


@atexit.register
def _settle_at_exit() -> None:
    _settle_lost()


def _set_version(owner: str) -> None:
    with _lock:
        _state["bumps"] += 1
    if not enabled():
        return
    # While a loss is unsettled, Redis is not asked again (a cascade of thousands of rows
    # would wait out a refused connection each): the epoch to come covers these too.
    if _state["lost"] == _state["settled"]:
        try:
            _strict().set(_keys(owner)[0], secrets.token_hex(8), VERSION_TIMEOUT)
            return
        except RedisError:
            log.warning("progress snapshots: Redis is away; kept ones are dropped once it is back")
    with _lock:
        _state["lost"] += 1
    _settle_soon()


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
    if memo is not None and memo[0] == _state["bumps"]:
        return memo[1]
    bumps = _state["bumps"]
    if not enabled() or not _settle_lost():  # first: the epoch read below must be the new one
        snapshot = _read(learner)  # never stored: no shared cache, or Redis is away
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


# Snapshot field -> the function that reads that part of a learner's rows (`register`).
_parts: dict[str, Callable[[object], tuple]] = {}


def register(part: str, read: Callable[[object], tuple]) -> None:
    """`read(learner)` gives the snapshot's `part` (a field of Snapshot, in its shape);
    called by the app that owns the rows, from its AppConfig.ready()."""
    if part not in Snapshot.__dataclass_fields__:
        raise ValueError(f"a snapshot has no part {part!r}")
    _parts[part] = read


def _read(learner) -> Snapshot:
    # In the order the fields are declared, whatever order the apps registered in.
    return Snapshot(
        **{part: _parts[part](learner) for part in Snapshot.__dataclass_fields__ if part in _parts}
    )


# Writes: signals, and the writes that bypass them.

_OWNER_FIELDS = {"user", "user_id", "learner_key"}
# What a snapshot is made of (`_read`): a write of none of these (a lab run's steps done,
# a card's review count) leaves every snapshot as it is, and bumps nothing.
_READ_FIELDS = _OWNER_FIELDS | {
    *("lesson", "lesson_id", "quiz", "quiz_id", "percent", "submitted_at", "number"),
    *("experiment", "experiment_id", "finished_at", "kind", "ref", "due"),
}


def _read_by_snapshots(fields) -> bool:
    return fields is None or bool(_READ_FIELDS & set(fields))


def _owners(queryset) -> set[tuple]:
    return set(queryset.order_by().values_list("user_id", "learner_key").distinct())


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


def _changed(sender, instance, update_fields=None, **kwargs):
    if not _read_by_snapshots(update_fields):
        return
    owners = {_row_owner(instance), *instance.__dict__.pop("_learner_state_before", ())}
    for owner in owners:
        bump(owner)


class LearnerRowsQuerySet(QuerySet):
    """A LearnerOwned model's queryset: the writes that send no signal bump the learners
    of the rows they touch (before and after, as an update may move rows)."""

    def update(self, **kwargs):
        if not _read_by_snapshots(kwargs):
            return super().update(**kwargs)
        owners = _owners(self)
        moves = _OWNER_FIELDS & kwargs.keys()
        pks = list(self.values_list("pk", flat=True)) if moves else []
        count = super().update(**kwargs)
        if moves:
            owners |= _owners(self.model._base_manager.filter(pk__in=pks))
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
        fields = kwargs.get("fields", args[0] if args else ())
        if not _read_by_snapshots(fields):
            return super().bulk_update(objs, *args, **kwargs)
        before = set()
        if _OWNER_FIELDS & set(fields):
            before = _owners(self.model._base_manager.filter(pk__in=[row.pk for row in objs]))
        count = super().bulk_update(objs, *args, **kwargs)
        for owner in {_row_owner(row) for row in objs} | {_owner(*row) for row in before}:
            bump(owner)
        return count


def connect(models) -> None:
    """The saves and deletes of `models` (every LearnerOwned model: call once models are
    loaded) bump their learners; their querysets' bulk writes bump through
    LearnerRowsQuerySet."""
    for model in models:
        uid = f"learner_state:{model._meta.label_lower}"
        pre_save.connect(_saving, sender=model, dispatch_uid=uid)
        post_save.connect(_changed, sender=model, dispatch_uid=uid)
        post_delete.connect(_changed, sender=model, dispatch_uid=uid)
