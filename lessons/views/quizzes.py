"""The quiz pages: the list, taking a quiz (a page, its submission, a retry of the
missed questions) and an attempt's result.

Rules: a GET writes nothing (a fresh page is signed, not stored; asking for the answer
key is a GET too); what a result page reveals (the key, each choice's mark and
feedback) is decided here from the quiz's rule, and the template only shows it.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.template.loader import render_to_string
from django.utils.html import escape

from labs import grading as lab_grading
from lessons import attempts as flow
from lessons import page_parts
from lessons.grading import Response, wrong_answer_feedback
from lessons.models import Attempt, Quiz
from lessons.progress import mark_read, quiz_scores
from lessons.quiz_forms import AttemptForm
from sockets_site import page_cache
from sockets_site.learners import learner_for


@page_cache.one_generation()
def quiz_list(request):
    """The quizzes and the reader's scores. A visitor's page is kept whole, one per state
    of their scores (page_cache.variant of them): the same for everyone in that state,
    one page for all who have none."""
    _, quizzes, _ = page_parts.course_outline(request.user)
    learner = learner_for(request)
    scores = quiz_scores(learner, quizzes) if learner.known else {}

    def context() -> dict:
        known = scores or quiz_scores(learner, quizzes)
        return {"rows": [known[quiz.pk] for quiz in quizzes]}

    if not page_cache.whole_page_allowed(request):
        return render(request, "lessons/quiz_list.html", context())
    state = "new"
    if learner.known:
        state = page_cache.variant([(pk, row.attempts, row.score) for pk, row in scores.items()])
    page = page_cache.whole_page(
        request,
        f"quizzes:{state}",
        lambda: render_to_string("lessons/quiz_list.html", context(), request),
    )
    return HttpResponse(page)


def _quiz(request, slug):
    quizzes = Quiz.objects.visible_to(request.user).select_related("lesson")
    return get_object_or_404(quizzes, slug=slug)


def _owned_attempt(learner, quiz, pk):
    # Its answers read once: the review and the count of missed questions both need them.
    attempts = Attempt.objects.filter(quiz=quiz, pk=pk).prefetch_related("answers")
    attempt = learner.owns(attempts).first()
    if attempt is not None:
        attempt.quiz = quiz  # known already: `passed` and its URL would read it again
    return attempt


def _identity(request, learner) -> str:
    """Who the browser is, for a shuffle that is stable on reload; nothing is written to know it."""
    if learner.user is not None:
        return f"user:{learner.user.pk}"
    if learner.key:
        return f"visitor:{learner.key}"
    if not request.META.get("CSRF_COOKIE"):
        get_token(request)  # sets the CSRF cookie that the form needs anyway
    return f"browser:{request.META.get('CSRF_COOKIE', '')}"


def _history(quiz, learner) -> dict:
    history = flow.learner_attempts(quiz, learner) if learner.known else []
    return {
        "quiz": quiz,
        "history": history,
        "left": flow.attempts_left(quiz, flow.used(history)),
        "counted": flow.counted(history, quiz.counts),
    }


# Where a kept question's number goes (it differs page to page).
_NUMBER = page_cache.slot("number")


def _question_html(question, choices, number: int) -> str:
    """A question as the quiz page shows it (lessons/_quiz_question.html), rendered once
    per generation and order of its choices: the same for every page that has it."""

    def render_question() -> str:
        form = AttemptForm(ordered_questions=[(question, choices)])
        ((_, field),) = form.rows()
        context = {"question": question, "field": field, "number": _NUMBER}
        return render_to_string("lessons/_quiz_question.html", context)

    key = ("quiz-question", question.pk, tuple(choice.pk for choice in choices))
    return page_cache.part(key, render_question).replace(_NUMBER, str(number))


def _show(request, quiz, learner, retry_of=None):
    """A fresh page. A visitor's is kept whole but for its slots (page_cache): the
    questions in their order, the page's token and the visitor's attempts."""
    questions = flow.quiz_questions(quiz)
    context = _history(quiz, learner)
    if context["left"] == 0 or not questions:
        return render(request, "lessons/quiz_closed.html", {**context, "empty": not questions})
    page = flow.new_page(
        quiz, questions, _identity(request, learner), len(context["history"]), retry_of
    )
    ordered = flow.in_attempt_order(page.attempt, questions)
    if retry_of is not None or not page_cache.whole_page_allowed(request):
        form = AttemptForm(ordered_questions=ordered)
        context = {**context, "page": page, "form": form, "token": page.token}
        context["question_count"] = len(ordered)
        return render(request, "lessons/quiz_take.html", context)
    fill = {
        "token": escape(page.token),
        "questions": "".join(
            _question_html(question, choices, number)
            for number, (question, choices) in enumerate(ordered, start=1)
        ),
        "history": render_to_string("lessons/_attempt_history.html", context)
        if context["history"]
        else "",
    }
    skeleton = {
        **context,
        "history": [],  # the slot's: nothing of this learner's is kept
        "counted": None,
        "question_count": len(ordered),
        "token": page_cache.slot("token"),
        "questions_html": page_cache.slot("questions"),
        "history_html": page_cache.slot("history"),
    }
    html = page_cache.whole_page(
        request,
        f"quiz:{quiz.slug}:{len(ordered)}:{context['left']}",
        lambda: render_to_string("lessons/quiz_take.html", skeleton, request),
        fill,
    )
    return HttpResponse(html)


def _shown_quiz(request, slug):
    """The quiz a page shows, read once per generation and audience: shared between
    requests, so read, never changed (a submission reads its own)."""
    audience = "staff" if request.user.is_staff else "public"

    def read():
        quizzes = Quiz.objects.visible_to(request.user).select_related("lesson")
        return quizzes.filter(slug=slug).first()

    quiz = page_cache.part(("quiz", audience, slug), read)
    if quiz is None:
        raise Http404("No such quiz.")
    return quiz


@page_cache.one_generation()
def take_quiz(request, slug):
    """GET shows a fresh page and writes nothing; POST records the page's attempt."""
    if request.method != "POST":
        return _show(request, _shown_quiz(request, slug), learner_for(request))
    return _submit(request, _quiz(request, slug))


def _submit(request, quiz):
    """Record the attempt of a submitted quiz page, whole or a retry: its signed token
    says which, so the retry page's own URL records it as the quiz's URL would."""
    learner = learner_for(request)
    questions = flow.quiz_questions(quiz)
    page = flow.read_page(request.POST.get("token"), quiz, questions, learner)
    if page is None:
        messages.error(
            request,
            "That quiz page could not be read, so nothing was recorded. Here is a fresh one.",
        )
        return redirect(quiz)
    form = AttemptForm(
        request.POST, ordered_questions=flow.in_attempt_order(page.attempt, questions)
    )
    if not form.is_valid():
        messages.error(request, "Some answers need fixing before the quiz can be marked.")
        context = {**_history(quiz, learner), "page": page, "form": form, "token": page.token}
        context["question_count"] = len(form.ordered_questions)
        return render(request, "lessons/quiz_take.html", context)
    responses = form.responses()
    # Lab questions: from the session's live sandbox, looked at once, now.
    asked = [question for question, _ in form.ordered_questions]
    for question_id, result in lab_grading.grade_lab_questions(
        asked, request.session.session_key
    ).items():
        responses[question_id] = Response(lab=result)
    learner = learner_for(request, create=True)
    outcome = flow.submit(page, learner, questions, responses)
    if outcome is flow.Outcome.LIMIT:
        messages.error(
            request,
            f"You have used all {quiz.max_attempts} attempt{pluralize(quiz.max_attempts)} at "
            "this quiz, so these answers were not recorded.",
        )
        return redirect(quiz)
    if outcome is flow.Outcome.DUPLICATE:
        earlier = learner.owns(Attempt.objects.filter(token=page.attempt.token)).first()
        messages.info(request, "That attempt was already submitted. Here is its result.")
        return redirect(earlier or quiz)
    if page.attempt.passed and quiz.lesson_id:
        mark_read(learner, quiz.lesson_id)
    return redirect(page.attempt)


def _choice_rows(choices, chosen: set, show_key: bool) -> list[dict]:
    """A choice question's choices as its result shows them. A choice is marked correct
    when the learner chose it or the key is shown; its feedback (show_feedback) shows
    when the learner chose it, or when it is correct and the key is shown: a wrong
    choice's feedback is never a hint to the learner who did not pick it."""
    rows = []
    for choice in choices:
        picked = choice.pk in chosen
        rows.append(
            {
                "choice": choice,
                "chosen": picked,
                "marked_correct": choice.is_correct and (picked or show_key),
                "show_feedback": bool(choice.feedback)
                and (picked or (choice.is_correct and show_key)),
            }
        )
    return rows


def attempt_result(request, slug, pk):
    quiz = _quiz(request, slug)
    learner = learner_for(request)
    attempt = _owned_attempt(learner, quiz, pk)
    if attempt is None:
        raise Http404("No such attempt")
    context = _history(quiz, learner)
    passed = any(a.passed for a in context["history"] if not a.practice)
    used = flow.used(context["history"])
    # Asking is a GET (?answers=show): it writes nothing and only reveals what the quiz's
    # rule allows this learner now (lessons.quiz_rules.answer_key_shown).
    asked = request.GET.get("answers") == "show"
    show_key = quiz.answer_key_shown(passed, context["left"], used, asked)
    questions = flow.quiz_questions(quiz)
    answers = {a.question_id: a for a in attempt.answers.all()}
    review = []
    for question, choices in flow.in_attempt_order(attempt, questions):
        answer = answers.get(question.pk)
        chosen = set(answer.choice_ids) if answer else set()
        review.append(
            {
                "question": question,
                "answer": answer,
                "choices": _choice_rows(choices, chosen, show_key),
                "feedback": wrong_answer_feedback(question, answer.text, answer.number)
                if answer
                else "",
            }
        )
    return render(
        request,
        "lessons/attempt_result.html",
        {
            **context,
            "attempt": attempt,
            "review": review,
            "missed": len(flow.missed_question_ids(attempt)),
            "show_key": show_key,
            "may_ask": not show_key and quiz.may_ask_for_key(used),
            "asked_too_soon": asked and not show_key and quiz.key_on_request,
        },
    )


def retry_missed(request, slug, pk):
    """A page with only the questions this attempt missed; points earned elsewhere carry
    over. Its form posts to the quiz's URL; a POST here (a page from before the form
    named its action) is recorded all the same, never answered with a blank form."""
    quiz = _quiz(request, slug)
    if request.method == "POST":
        return _submit(request, quiz)
    learner = learner_for(request)
    attempt = _owned_attempt(learner, quiz, pk)
    if attempt is None:
        raise Http404("No such attempt")
    if not flow.missed_question_ids(attempt):
        messages.info(request, "You got every question right: there is nothing to retry.")
        return redirect(attempt)
    return _show(request, quiz, learner, retry_of=attempt)
