"""The shapes every app's models share: published content, content hashes, learners' rows.

Rules:
- Only abstract models, querysets and plain functions: no table, so nothing here needs
  an app or a migration, and every app (labs, lessons, review) can build on it without
  importing another app.
- PublishedQuerySet: staff see drafts too; everyone else sees what is published.
- hash_fields: the hash the loader keeps of a content row's source fields
  (`loaded_hash`), to tell an admin's edit from the file's.
- LearnerOwned: a row belongs to exactly one learner, a user or a visitor's key
  (sockets_site.learners), and moves to the user when the visitor logs in. Its
  queryset's bulk writes bump the learners' progress snapshots
  (sockets_site.learner_state.LearnerRowsQuerySet); `owned_models` finds every model
  built on it, so a model added later (in any app) is counted, moved and deleted too.
"""

import hashlib
import json

from django.apps import apps
from django.conf import settings
from django.db import models

from sockets_site.learner_state import LearnerRowsQuerySet


class PublishedQuerySet(models.QuerySet):
    """Staff see drafts too; everyone else sees what is published."""

    def visible_to(self, user):
        if user.is_staff:
            return self
        return self.filter(published=True)


def hash_fields(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


class LearnerOwned(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    learner_key = models.CharField(max_length=32, blank=True, db_index=True)

    # Its bulk writes, which send no signal, still reach the learners' progress snapshots.
    objects = LearnerRowsQuerySet.as_manager()

    class Meta:
        abstract = True


def owned_models() -> list:
    """Every installed model built on LearnerOwned, in the registry's order."""
    return [model for model in apps.get_models() if issubclass(model, LearnerOwned)]
