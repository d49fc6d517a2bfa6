from django.contrib import messages
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize

from lessons import attempts as flow
from lessons import labs
from lessons.grading import Response, wrong_answer_feedback
from lessons.learners import learner_for
from lessons.models import Attempt, Quiz
from lessons.progress import mark_read, quiz_scores
from lessons.quiz_forms import AttemptForm


def quiz_list(request):
    quizzes = list(Quiz.objects.visible_to(request.user).select_related("lesson"))
    scores = quiz_scores(learner_for(request), quizzes)
    rows = [scores[quiz.pk] for quiz in quizzes]
    return render(request, "lessons/quiz_list.html", {"rows": rows})


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
    get_token(request)  # sets the CSRF cookie that the form needs anyway
    return f"browser:{request.META.get('CSRF_COOKIE', '')}"


def _history(quiz, learner) -> dict:
    history = flow.learner_attempts(quiz, learner)
    return {
        "quiz": quiz,
        "history": history,
        "left": flow.attempts_left(quiz, flow.used(history)),
        "counted": flow.counted(history, quiz.counts),
    }


def _show(request, quiz, learner, retry_of=None):
    questions = flow.quiz_questions(quiz)
    context = _history(quiz, learner)
    if context["left"] == 0 or not questions:
        return render(request, "lessons/quiz_closed.html", {**context, "empty": not questions})
    page = flow.new_page(
        quiz, questions, _identity(request, learner), len(context["history"]), retry_of
    )
    form = AttemptForm(ordered_questions=flow.in_attempt_order(page.attempt, questions))
    return render(request, "lessons/quiz_take.html", {**context, "page": page, "form": form})


def take_quiz(request, slug):
    """GET shows a fresh page and writes nothing; POST records the page's attempt."""
    quiz = _quiz(request, slug)
    if request.method != "POST":
        return _show(request, quiz, learner_for(request))
    return _submit(request, quiz)


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
        context = {**_history(quiz, learner), "page": page, "form": form}
        return render(request, "lessons/quiz_take.html", context)
    responses = form.responses()
    # Lab questions: from the session's live sandbox, looked at once, now.
    asked = [question for question, _ in form.ordered_questions]
    for question_id, result in labs.grade_lab_questions(asked, request.session.session_key).items():
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


def attempt_result(request, slug, pk):
    quiz = _quiz(request, slug)
    learner = learner_for(request)
    attempt = _owned_attempt(learner, quiz, pk)
    if attempt is None:
        raise Http404("No such attempt")
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
                "choices": [{"choice": c, "chosen": c.pk in chosen} for c in choices],
                "feedback": wrong_answer_feedback(question, answer.text, answer.number)
                if answer
                else "",
            }
        )
    context = _history(quiz, learner)
    passed = any(a.passed for a in context["history"] if not a.practice)
    used = flow.used(context["history"])
    # Asking is a GET (?answers=show): it writes nothing and only reveals what the quiz's
    # rule allows this learner now (lessons.quiz_rules.answer_key_shown).
    asked = request.GET.get("answers") == "show"
    show_key = quiz.answer_key_shown(passed, context["left"], used, asked)
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
