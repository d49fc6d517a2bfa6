"""The life of a quiz attempt: start, shuffle, submit once, retry the missed.

Rules:
- Question and choice order are drawn once, when the attempt starts, and kept
  on it: a reload shows the same order.
- An attempt is submitted at most once: the submission claims the attempt with
  a conditional UPDATE, so a double click or a resubmitted form changes nothing.
- A retry answers only the questions its earlier attempt missed (not fully
  right) and carries over the points earned on the others; it is an attempt
  like any other for the attempt limit and for which attempt counts.
"""

import random

from django.db import transaction
from django.utils import timezone

from lessons import quiz_rules
from lessons.grading import Response, grade, percent
from lessons.models import Answer, Attempt

SHUFFLED_KINDS = (quiz_rules.SINGLE, quiz_rules.MULTIPLE)  # True stays before False
_random = random.SystemRandom()


def quiz_questions(quiz) -> list:
    return list(quiz.questions.select_related("lesson").prefetch_related("choices"))


def open_attempt(quiz, learner):
    attempts = learner.owns(Attempt.objects.filter(quiz=quiz, submitted_at=None))
    return attempts.order_by("-started_at", "-pk").first()


def submitted_attempts(quiz, learner) -> list:
    attempts = learner.owns(Attempt.objects.filter(quiz=quiz, submitted_at__isnull=False))
    return list(attempts.order_by("submitted_at", "pk"))


def attempts_left(quiz, used: int) -> int | None:
    if quiz.max_attempts is None:
        return None
    return max(0, quiz.max_attempts - used)


def counted(attempts: list, rule: str):
    """The attempt that counts for the score: the highest (earliest on a tie) or the last."""
    done = [a for a in attempts if a.submitted_at is not None]
    if not done:
        return None
    if rule == "last":
        return max(done, key=lambda a: (a.submitted_at, a.pk))
    return max(done, key=lambda a: (a.percent, -a.submitted_at.timestamp()))


def start(quiz, learner, questions: list, only: set[int] | None = None, retry_of=None):
    chosen = [q for q in questions if only is None or q.pk in only]
    question_ids = [q.pk for q in chosen]
    _random.shuffle(question_ids)
    choice_order = {}
    for question in chosen:
        ids = [c.pk for c in question.choices.all()]
        if question.kind in SHUFFLED_KINDS:
            _random.shuffle(ids)
        choice_order[str(question.pk)] = ids
    return Attempt.objects.create(
        quiz=quiz,
        question_ids=question_ids,
        choice_order=choice_order,
        retry_of=retry_of,
        **learner.fields(),
    )


def in_attempt_order(attempt, questions: list) -> list[tuple]:
    """(question, its choices) in the attempt's order; questions since removed are skipped."""
    by_id = {q.pk: q for q in questions}
    ordered = []
    for qid in attempt.question_ids:
        question = by_id.get(qid)
        if question is None:
            continue
        choices = {c.pk: c for c in question.choices.all()}
        order = attempt.choice_order.get(str(qid), [])
        listed = [choices[cid] for cid in order if cid in choices]
        listed += [c for cid, c in choices.items() if cid not in order]
        ordered.append((question, listed))
    return ordered


def missed_question_ids(attempt) -> set[int]:
    return {a.question_id for a in attempt.answers.all() if not a.correct}


def submit(attempt, questions: list, responses: dict[int, Response]) -> bool:
    """Grade and store the attempt; False if it had been submitted already."""
    answers = []
    for question, _ in in_attempt_order(attempt, questions):
        response = responses.get(question.pk, Response())
        answers.append(
            Answer(
                attempt=attempt,
                question=question,
                choice_ids=sorted(response.choice_ids),
                text=response.text.strip()[:300],
                number=response.number,
                points=grade(question, response),
            )
        )
    points = sum(a.points for a in answers)
    max_points = len(answers)
    parent = attempt.retry_of
    if parent is not None and parent.points is not None:
        retried = {a.question_id for a in answers}
        replaced = sum(a.points for a in parent.answers.all() if a.question_id in retried)
        points += parent.points - replaced
        max_points = parent.max_points
    with transaction.atomic():
        claimed = Attempt.objects.filter(pk=attempt.pk, submitted_at=None).update(
            submitted_at=timezone.now(),
            points=points,
            max_points=max_points,
            percent=percent(points, max_points),
        )
        if not claimed:
            return False
        Answer.objects.bulk_create(answers)
    attempt.refresh_from_db()
    return True
