from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from lessons import attempts as flow
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
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return learner.owns(Attempt.objects.filter(quiz=quiz, pk=pk)).first()


def take_quiz(request, slug):
    quiz = _quiz(request, slug)
    learner = learner_for(request, create=True)
    questions = flow.quiz_questions(quiz)
    history = flow.submitted_attempts(quiz, learner)
    left = flow.attempts_left(quiz, len(history))
    context = {
        "quiz": quiz,
        "history": history,
        "left": left,
        "counted": flow.counted(history, quiz.counts),
    }

    if request.method == "POST":
        attempt = _owned_attempt(learner, quiz, request.POST.get("attempt"))
        if attempt is None:
            messages.error(request, "That attempt could not be found, so here is a fresh one.")
            return redirect(quiz)
        if attempt.submitted:
            messages.info(request, "That attempt was already submitted. Here is its result.")
            return redirect("lessons:attempt", slug=quiz.slug, pk=attempt.pk)
        form = AttemptForm(
            request.POST, ordered_questions=flow.in_attempt_order(attempt, questions)
        )
        if form.is_valid():
            flow.submit(attempt, questions, form.responses())
            attempt.refresh_from_db()
            if attempt.passed and quiz.lesson_id:
                mark_read(learner, quiz.lesson_id)
            return redirect("lessons:attempt", slug=quiz.slug, pk=attempt.pk)
        messages.error(request, "Some answers need fixing before the quiz can be marked.")
        return render(
            request, "lessons/quiz_take.html", {**context, "attempt": attempt, "form": form}
        )

    attempt = flow.open_attempt(quiz, learner)
    if attempt is None:
        if left == 0 or not questions:
            return render(request, "lessons/quiz_closed.html", {**context, "empty": not questions})
        attempt = flow.start(quiz, learner, questions)
    form = AttemptForm(ordered_questions=flow.in_attempt_order(attempt, questions))
    return render(request, "lessons/quiz_take.html", {**context, "attempt": attempt, "form": form})


def attempt_result(request, slug, pk):
    quiz = _quiz(request, slug)
    learner = learner_for(request)
    attempt = _owned_attempt(learner, quiz, pk)
    if attempt is None:
        raise Http404("No such attempt")
    if not attempt.submitted:
        return redirect(quiz)
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
            }
        )
    history = flow.submitted_attempts(quiz, learner)
    left = flow.attempts_left(quiz, len(history))
    missed = flow.missed_question_ids(attempt)
    return render(
        request,
        "lessons/attempt_result.html",
        {
            "quiz": quiz,
            "attempt": attempt,
            "review": review,
            "missed": len(missed),
            "history": history,
            "left": left,
            "counted": flow.counted(history, quiz.counts),
        },
    )


@require_POST
def retry_missed(request, slug, pk):
    quiz = _quiz(request, slug)
    learner = learner_for(request)
    attempt = _owned_attempt(learner, quiz, pk)
    if attempt is None or not attempt.submitted:
        raise Http404("No such attempt")
    missed = flow.missed_question_ids(attempt)
    used = len(flow.submitted_attempts(quiz, learner))
    if not missed:
        messages.info(request, "You got every question right: there is nothing to retry.")
        return redirect("lessons:attempt", slug=quiz.slug, pk=attempt.pk)
    if flow.attempts_left(quiz, used) == 0:
        messages.error(request, "You have used all your attempts at this quiz.")
        return redirect("lessons:attempt", slug=quiz.slug, pk=attempt.pk)
    learner.owns(Attempt.objects.filter(quiz=quiz, submitted_at=None)).delete()
    flow.start(quiz, learner, flow.quiz_questions(quiz), only=missed, retry_of=attempt)
    return redirect(quiz)


@require_POST
def restart_quiz(request, slug):
    """Abandon the unfinished attempt (e.g. a retry) and start on all questions."""
    quiz = _quiz(request, slug)
    learner = learner_for(request)
    learner.owns(Attempt.objects.filter(quiz=quiz, submitted_at=None)).delete()
    return redirect(quiz)
