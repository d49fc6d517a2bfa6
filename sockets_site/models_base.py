"""The shapes every app's models share: published content, content hashes, learners' rows.

Rules:
- Only abstract models, querysets and plain functions: no table, so nothing here needs
  an app or a migration, and every app (labs, lessons, review) can build on it without
  importing another app.
- PublishedQuerySet: staff see drafts too; everyone else sees what is published.
- hash_fields: the hash the loader keeps of a content row's source fields
  (`loaded_hash`), to tell an admin's edit from the file's.
- CourseItem: a piece of the course loaded from a content file (a lesson, a quiz, an
  experiment): titled, published or a draft, in the course's order, and edited in the admin
  when its fields no longer hash to `loaded_hash`. It defines `source_fields()`.
- LearnerOwned: a row belongs to exactly one learner, a user or a visitor's key
  (sockets_site.learners), and moves to the user when the visitor logs in. Its
  queryset's bulk writes bump the learners' progress snapshots
  (sockets_site.learner_state.LearnerRowsQuerySet); `owned_models` finds every model
  built on it, so a model added later (in any app) is counted, moved and deleted too.
  `learner_constraints` keeps it one row per learner and thing: the pair of unique
  constraints, one for users and one for visitors, since NULL users never collide.
"""

import hashlib
import json

from django.apps import apps
from django.conf import settings
from django.db import models
from django.db.models import Q

from sockets_site.learner_state import LearnerRowsQuerySet


class PublishedQuerySet(models.QuerySet):
    """Staff see drafts too; everyone else sees what is published."""

    def visible_to(self, user):
        if user.is_staff:
            return self
        return self.filter(published=True)


def hash_fields(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class CourseItem(models.Model):
    title = models.CharField(max_length=120)
    order = models.PositiveIntegerField(default=0, db_index=True)
    published = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)
    # Hash of the source fields as last loaded from (or exported to) the content
    # files: when it differs from the current fields, staff edited the item.
    loaded_hash = models.CharField(max_length=64, blank=True, editable=False)

    objects = PublishedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title

    def source_fields(self) -> dict:
        raise NotImplementedError

    def content_hash(self) -> str:
        return hash_fields(self.source_fields())

    @property
    def edited_since_load(self) -> bool:
        return bool(self.loaded_hash) and self.loaded_hash != self.content_hash()


class LearnerOwned(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    learner_key = models.CharField(max_length=32, blank=True, db_index=True)

    # Its bulk writes, which send no signal, still reach the learners' progress snapshots.
    objects = LearnerRowsQuerySet.as_manager()

    class Meta:
        abstract = True


# Stands in `learner_constraints`' fields for the learner's column (user or learner_key).
LEARNER = "learner"


def learner_constraints(name: str, *fields: str, **when) -> list[models.UniqueConstraint]:
    """`name`_per_user and `name`_per_visitor: `fields` unique per learner, where `when` holds.

    The learner's column comes first unless `fields` places it with LEARNER.
    """
    if LEARNER not in fields:
        fields = (LEARNER, *fields)
    return [
        models.UniqueConstraint(
            fields=[column if f == LEARNER else f for f in fields],
            # One Q of keywords, which Q sorts, so the migrations' conditions match.
            condition=Q(user__isnull=is_visitor, **when),
            name=f"{name}_per_{who}",
        )
        for column, is_visitor, who in (("user", False, "user"), ("learner_key", True, "visitor"))
    ]


def owned_models() -> list:
    """Every installed model built on LearnerOwned, in the registry's order."""
    return [model for model in apps.get_models() if issubclass(model, LearnerOwned)]
