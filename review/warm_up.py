"""The lesson warm-up: a few questions on the previous lesson, at the top of a lesson page.

Rules:
- Which questions: the learner's due cards among the previous lesson's quiz questions
  first (soonest due first), then that quiz's other questions in the quiz's own order,
  SIZE in all; never lab questions (they are done in the playground), and only a quiz
  review may ask (review.items.askable_quiz). So the questions are stable: the same ones
  until the learner answers them or a card falls due. The first lesson has none. The
  due cards come from the learner's snapshot (sockets_site.learner_state), not a query.
- A lesson page is cached whole for visitors (sockets_site.page_cache): the warm-up form is a
  variant of that page, named by the due questions it asks first ("default" for none,
  "done" once answered in this session); it holds nothing personal, only questions
  and empty fields. The result of an answer is personal: it waits in the session until
  the lesson page shows it, once, and a page showing one is never cached.
- Answers are graded on the server (review.items.grade_items, the quizzes' grader) and
  recorded in the queue (review.cards). A question left blank is not recorded (skipping
  is not missing); a form that cannot be graded (a number field holding words, say) is
  shown again with what was typed and its errors, and nothing is recorded.
- The answer key, as the quiz keeps it: the warm-up asks anyone, quiz taken or not
  (recalling a lesson before reading on is the point of it), but its result shows a
  question's right answer and explanation only when the learner's key of its quiz would
  be shown to them now (review.items.withhold_keys, the quiz's rule). Otherwise the
  result says right or not, with the feedback on what was chosen, as the quiz's own
  result does before its key, and when the quiz shows its answers.
"""

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.utils.datastructures import MultiValueDict

from lessons import quiz_rules
from lessons.models import Lesson, Quiz
from review import cards, items
from sockets_site import learner_state, page_cache

SIZE = 3
# Session: {"lesson": slug, "asked": [question ids], "data": {field: [values]}, "at": when
# recorded (ISO), absent when nothing was}.
PENDING = "review:warm-up"
DONE = "review:warm-ups-done"  # session: slugs of lessons whose warm-up was answered


def candidates(user, slug: str) -> tuple[int, ...]:
    """The previous lesson's quiz questions a warm-up may ask, in the quiz's order; kept
    by this process with the lesson pages' parts (page_cache.part: the same generation
    and audience; an unknown slug is not kept)."""
    audience = "staff" if user.is_staff else "public"
    found = page_cache.part(("warm-up", audience, slug), lambda: _candidates(user, slug))
    return found or ()


def _candidates(user, slug: str) -> tuple[int, ...] | None:
    outline = list(Lesson.objects.visible_to(user).only("slug", "order"))
    index = next((i for i, lesson in enumerate(outline) if lesson.slug == slug), None)
    if index is None:
        return None
    if index == 0:
        return ()
    quiz = Quiz.objects.visible_to(user).filter(lesson=outline[index - 1]).first()
    if quiz is None or not items.askable_quiz(quiz):
        return ()
    return tuple(quiz.questions.filter(~Q(kind=quiz_rules.LAB)).values_list("pk", flat=True))


@dataclass
class WarmUp:
    slug: str
    user: object
    learner: object
    now: object
    due_ids: tuple[int, ...] = ()
    done: bool = False
    pending: dict | None = None

    @property
    def shareable(self) -> bool:
        """Whether the page may be the cached one of its variant: not when showing a result."""
        return self.pending is None

    @property
    def variant(self) -> str:
        if self.due_ids:
            return "+".join(map(str, self.due_ids))
        return "done" if self.done else "default"

    def context(self) -> dict | None:
        """What the warm-up include shows; None when there is nothing to ask."""
        offered = candidates(self.user, self.slug)
        if self.pending is not None:
            asked = [i for i in self.pending["asked"] if i in offered]
        elif self.done and not self.due_ids:
            return {"done": True, "slug": self.slug} if offered else None
        else:
            rest = [i for i in offered if i not in self.due_ids]
            asked = [*self.due_ids, *rest][:SIZE]
        found = items.questions(self.user, asked)
        asked_items = [items.question_item(found[i]) for i in asked if i in found]
        if not asked_items:
            return None
        context = {"slug": self.slug, "items": asked_items, "due": len(self.due_ids)}
        if self.pending is None:
            form = items.form_for(asked_items)
            return {**context, "rows": items.rows(asked_items, form), "form": form}
        form = items.form_for(asked_items, MultiValueDict(self.pending["data"]))
        if not form.is_valid():
            return {**context, "rows": items.rows(asked_items, form), "form": form}
        results = items.grade_items(asked_items, form, None)
        mine = {c.ref: c for c in cards.of_items(self.learner, items.QUESTION, asked)}
        for result in results:
            result.card = mine.get(result.item.ref)
        items.withhold_keys(self.learner, results)
        # "Back in ..." counts from the answer, not from this later look at it.
        answered = self.pending.get("at")
        now = datetime.fromisoformat(answered) if answered else self.now
        return {**context, "results": results, "now": now}


def for_request(request, learner, slug: str, now) -> WarmUp:
    """The warm-up this request's lesson page shows (a result waiting is taken now)."""
    warm_up = WarmUp(slug, request.user, learner, now)
    if settings.SESSION_COOKIE_NAME in request.COOKIES:  # else no session to read
        # Taken by the next lesson page, where the answer form redirects: never kept
        # to come back on a later visit.
        pending = request.session.pop(PENDING, None) if PENDING in request.session else None
        if pending and pending.get("lesson") == slug:
            warm_up.pending = pending
        warm_up.done = slug in request.session.get(DONE, ())
    if learner.known:
        offered = candidates(request.user, slug)
        if offered:
            refs = {str(i) for i in offered}
            due = learner_state.of(learner).due_cards(now, items.QUESTION)
            warm_up.due_ids = tuple(int(c.ref) for c in due if c.ref in refs)[:SIZE]
    return warm_up
