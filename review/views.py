"""The Review page and the lesson warm-up's answers (rules: review.cards, review.items,
review.warm_up)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from lessons import quiz_rules
from lessons.models import Lesson
from review import cards, items, warm_up
from review.models import ReviewCard
from sockets_site.learners import learner_for

# A warm-up answer kept to be shown again (review.warm_up.PENDING): at most this many
# values of a field (its ticked choices) and characters of each: more than a browser
# sends for any question's field (a longer text or number answer is refused anyway).
KEPT_VALUES, KEPT_CHARS = 50, 1000


def _ask(request, learner, now, item=None, form=None):
    queue = items.due_items(request.user, learner, now)
    if item is None and queue:
        item = queue[0]
        form = items.form_for([item])
    context = {"due": len(queue), "now": now}
    if item is not None:
        context.update(item=item, form=form, rows=items.rows([item], form))
    else:
        coming = items.for_cards(request.user, cards.upcoming(learner, now)[:50])
        context["coming"] = coming[0].card if coming else None
    return render(request, "review/review.html", context)


def review(request):
    """GET asks the learner's soonest due card; POST grades the answer to it, records it
    and shows the result with when the card comes back (a blank answer is asked again:
    nothing recorded, nothing of the answer shown)."""
    learner = learner_for(request)
    now = timezone.now()
    if request.method != "POST":
        return _ask(request, learner, now)
    pk = request.POST.get("card", "")
    card = learner.owns(ReviewCard.objects.filter(pk=pk)).first() if pk.isdigit() else None
    found = items.for_cards(request.user, [card]) if card is not None else []
    if not found:
        messages.error(request, "That review is no longer in your queue, so nothing was recorded.")
        return redirect("review:index")
    if request.POST.get("seen") != str(card.reviews):
        # The same page posted twice (a double click, a reload): recorded the first time.
        messages.info(request, "That answer was already recorded.")
        return redirect("review:index")
    item = found[0]
    form = items.form_for([item], request.POST)
    if not form.is_valid():
        return _ask(request, learner, now, item, form)
    result = items.grade_items([item], form, request.session.session_key)[0]
    if not result.answered:
        # Skipping is not missing, and the answer stays hidden: asked again, as it was.
        if item.question is not None and item.question.kind == quiz_rules.LAB:
            messages.error(request, "No sandbox was found: open the playground first.")
        else:
            messages.error(request, "Choose or type an answer to check it; nothing was recorded.")
        return _ask(request, learner, now, item, form)
    result.card = cards.record(learner, card.kind, card.ref, result.correct, now)
    items.withhold_keys(learner, [result])
    queue = items.due_items(request.user, learner, now)
    return render(request, "review/review.html", {"result": result, "due": len(queue), "now": now})


@require_POST
def warm_up_answer(request, slug):
    """A lesson's warm-up form: graded, recorded, and back to the lesson to see the result."""
    lesson = get_object_or_404(Lesson.objects.visible_to(request.user), slug=slug)
    offered = warm_up.candidates(request.user, slug)
    asked = []
    for value in request.POST.getlist("question"):
        if value.isdigit() and int(value) in offered and int(value) not in asked:
            asked.append(int(value))
    found = items.questions(request.user, asked[: warm_up.SIZE])
    asked_items = [items.question_item(found[i]) for i in asked if i in found]
    # No #fragment: a page opened at one skips `autofocus`, which puts the reader on the
    # result's heading (the warm-up opens the page anyway).
    back = lesson.get_absolute_url()
    if not asked_items:
        messages.error(request, "Those warm-up questions are not asked any more. Nothing changed.")
        return redirect(back)
    form = items.form_for(asked_items, request.POST)
    pending = {
        "lesson": slug,
        "asked": [int(i.ref) for i in asked_items],
        # Kept in the session to show again: no more than any real form sends.
        "data": {
            name: [value[:KEPT_CHARS] for value in request.POST.getlist(name)[:KEPT_VALUES]]
            for name in form.fields
        },
    }
    if form.is_valid():
        results = [r for r in items.grade_items(asked_items, form, None) if r.answered]
        if not results:
            messages.error(request, "Answer at least one question to check it.")
            return redirect(back)
        learner = learner_for(request, create=True)
        now = timezone.now()
        cards.record_many(learner, items.QUESTION, {r.item.ref: r.correct for r in results}, now)
        pending["at"] = now.isoformat()
        request.session[warm_up.DONE] = sorted({*request.session.get(warm_up.DONE, ()), slug})
    request.session[warm_up.PENDING] = pending
    return redirect(back)
