"""Who is learning: a signed-in user, or an anonymous visitor known by a key in their session.

Rules:
- An anonymous visitor gets a random key in their session (SESSION_KEY) the first time
  they do something worth keeping (learner_for(..., create=True)); the rows they own
  carry that key. Making a key sends `key_made` (with the request), so an app that keeps
  something of a learner in the session starts it afresh for the new key.
- This is the site's one notion of a learner, shared by every app (lessons, labs,
  review, accounts, and the playground, which names a sandbox's owner by it). It lives
  here, beside the settings and below every app, because it imports no app: any app may
  use it without an import cycle. What a learner owns and how it moves or is deleted is
  the apps' own (lessons.learners, labs.progress, accounts.progress).
"""

import secrets
from dataclasses import dataclass, field

from django.dispatch import Signal

SESSION_KEY = "learner"

# Sent with `request` when a visitor is given a new key, before learner_for returns.
key_made = Signal()


@dataclass(frozen=True)
class Learner:
    user: object | None
    key: str = ""
    # A request's learner (learner_for) keeps what it read of its progress rows here
    # (sockets_site.learner_state); a Learner made elsewhere reads afresh each time.
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
        key = secrets.token_hex(16)
        request.session[SESSION_KEY] = key
        key_made.send(sender=Learner, request=request)
    return Learner(None, key, memo={})
