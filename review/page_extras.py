"""What the review queue adds to the course's pages (lessons.page_extras, registered by
ReviewConfig.ready()).

Rules:
- The course page shows how many reviews are due: a card due counts only if its item can
  be asked (the review page's list); that list is built only when some card is due at
  all, which is rarely. The count names the visitor's variant of the page.
- A lesson page shows its warm-up (review.warm_up): its questions name the variant, and a
  page showing a warm-up's result is never the kept public one.
"""

from lessons.page_extras import Extra
from review import items, warm_up
from sockets_site import learner_state


def reviews_due(request, learner, now) -> Extra:
    due = 0
    if learner_state.of(learner).due_cards(now):
        due = len(items.due_items(request.user, learner, now))
    return Extra(context=lambda: {"reviews_due": due}, variant=str(due))


def lesson_warm_up(request, learner, slug: str, now) -> Extra:
    found = warm_up.for_request(request, learner, slug, now)
    return Extra(
        context=lambda: {"warm_up": found.context()},
        variant=found.variant,
        shareable=found.shareable,
    )
