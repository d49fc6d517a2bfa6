"""What happens to a learner's progress when they log in or delete their account.

Rules:
- Logging in (or signing up) moves the visitor's rows to the account, in one
  transaction: the course's reads and attempts (lessons.learners), the lab runs
  (labs.progress), the review cards (review.cards.move_to_user: where both have a card
  for the same item, the one due sooner). It bumps both learners' progress snapshots
  (sockets_site.learner_state), now and after the commit, beside the bumps of the rows' own
  signals and querysets; a playground still open then records for the account.
- Deleting an account deletes its progress, then the user (every other row pointing to
  it goes by its foreign key's cascade) and the throttle's record of its successful
  log-ins (addresses and browsers); its failed log-ins stay until their cool-off, or
  deleting would lift a lock.
"""

from axes.models import AccessLog
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver

from labs import hooks as lab_hooks
from labs import progress as lab_progress
from lessons import learners as course_progress
from review import cards as review_cards
from sockets_site import learner_state
from sockets_site.learners import SESSION_KEY, Learner


@receiver(user_logged_in)
def adopt_visitor_progress(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    key = request.session.pop(SESSION_KEY, "")
    if key:
        move_progress(key, user)


@transaction.atomic
def move_progress(key: str, user) -> None:
    course_progress.move_reads_and_attempts(key, user)
    lab_progress.move_runs(key, user)
    review_cards.move_to_user(key, user)
    # The moves above bump through the models' querysets too; said here as well, since
    # both learners' rows changed whatever the moves found (now and on commit).
    learner_state.bump_learner(Learner(None, key))
    learner_state.bump_learner(Learner(user))
    # A playground still open records under the visitor's key: make that the account's.
    lab_hooks.visitor_moved(key, user.pk)


def delete_account(user) -> None:
    with transaction.atomic():
        course_progress.delete_progress(Learner(user))
        AccessLog.objects.filter(username=user.get_username()).delete()
        user.delete()
