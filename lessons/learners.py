"""Who is learning: a signed-in user, or an anonymous visitor.

Rules: an anonymous visitor gets a random key in their session the first
time they do something worth keeping (a read lesson, a submitted quiz
attempt); their rows carry that key. When they sign up or log in, the rows
move to the account: a lesson read twice is kept once, and the visitor's quiz
attempts come after the account's own, in the order they were made, counting
toward the account's attempt limit. Those beyond the limit are kept as
practice: shown, never the attempt that counts, so logging out cannot buy
more attempts.
"""

import secrets
from dataclasses import dataclass

from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.db.models import Max
from django.dispatch import receiver

SESSION_KEY = "learner"


@dataclass(frozen=True)
class Learner:
    user: object | None
    key: str = ""

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
        return Learner(request.user)
    key = request.session.get(SESSION_KEY, "")
    if not key and create:
        key = secrets.token_hex(16)
        request.session[SESSION_KEY] = key
    return Learner(None, key)


@receiver(user_logged_in)
def adopt_visitor_progress(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    key = request.session.pop(SESSION_KEY, "")
    if key:
        move_progress(key, user)


@transaction.atomic
def move_progress(key: str, user) -> None:
    from lessons.models import Attempt, LessonRead

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
