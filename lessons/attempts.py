"""The life of a quiz attempt: a signed page, one submission, the limit, retries.

Rules:
- Opening a quiz writes nothing, so crawlers cannot grow the database. The page
  carries a signed token: the quiz, the question order, the seed of the choice
  order, the attempt it retries (if any), when it was opened and a random nonce.
  The attempt row is written when the learner submits it.
- The order is drawn from a seed derived from who the learner is (their account,
  visitor key or CSRF cookie) and how many attempts they have made, so a reload
  shows the same order until they submit, and the next attempt gets a new one.
- A page is recorded at most once: the nonce is unique on the attempt, so a double
  click or a resubmitted form changes nothing.
- The attempt limit is checked when the attempt is written, in the same
  transaction. Attempts are numbered per learner and quiz and the database keeps
  the numbers unique, so of two racing submissions one takes the number and the
  other, counting again, finds the limit reached.
- Practice attempts (no number) are visitor attempts that went beyond the limit
  of the account they were merged into on log-in: kept and shown, never counted.
- A retry answers only the questions its earlier attempt missed (not fully
  right) and carries over the points earned on the others; it is an attempt
  like any other for the limit and for which attempt counts.
- A recorded attempt sends `answers_recorded` (learner, results: question id -> right,
  at: its submit time) inside its transaction: the review queue (review.cards, connected
  by ReviewConfig.ready()) records each question in it, in the same transaction.
"""

import enum
import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.dispatch import Signal
from django.utils.crypto import salted_hmac

from lessons import quiz_rules
from lessons.grading import Response, grade, percent
from lessons.models import Answer, Attempt
from sockets_site import page_cache

SHUFFLED_KINDS = (quiz_rules.SINGLE, quiz_rules.MULTIPLE)  # True stays before False
PAGE_SALT = "lessons.attempt"
# Sent with learner=, results= (str(question id) -> answered right) and at= (the attempt's
# submit time), inside the transaction that records the attempt.
answers_recorded = Signal()
_random = random.SystemRandom()


class Outcome(enum.Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    LIMIT = "limit"


def quiz_questions(quiz) -> list:
    """The quiz's questions with their choices and lessons, kept per content generation
    (sockets_site.page_cache): shared between requests, so read, never changed. Each carries
    its prompt rendered (`prompt_shown`), which the quiz's pages show."""

    def read():
        questions = list(quiz.questions.select_related("lesson").prefetch_related("choices"))
        for question in questions:
            question.prompt_shown = question.prompt_html  # Markdown, once per generation
        return questions

    return page_cache.quiz_questions(quiz.pk, read)


def learner_attempts(quiz, learner) -> list:
    """Every attempt of the learner at the quiz, practice ones included, oldest first."""
    attempts = list(learner.owns(Attempt.objects.filter(quiz=quiz)).order_by("submitted_at", "pk"))
    for attempt in attempts:
        attempt.quiz = quiz  # known already: `passed` and the links would read it each
    return attempts


def used(attempts: list) -> int:
    return sum(1 for a in attempts if not a.practice)


def attempts_left(quiz, used: int) -> int | None:
    if quiz.max_attempts is None:
        return None
    return max(0, quiz.max_attempts - used)


def counted(attempts: list, rule: str):
    """The attempt that counts for the score: the highest (earliest on a tie) or the last."""
    done = [a for a in attempts if not a.practice]
    if not done:
        return None
    if rule == "last":
        return max(done, key=lambda a: (a.submitted_at, a.pk))
    return max(done, key=lambda a: (a.percent, -a.submitted_at.timestamp()))


def missed_question_ids(attempt) -> set[int]:
    return {a.question_id for a in attempt.answers.all() if not a.correct}


@dataclass
class Page:
    """A quiz page as the learner got it: its token and the unsaved attempt it describes."""

    token: str
    attempt: Attempt


def _choice_order(question, seed: int) -> list[int]:
    ids = [c.pk for c in question.choices.all()]
    if question.kind in SHUFFLED_KINDS:
        random.Random(f"{seed}:{question.pk}").shuffle(ids)  # noqa: S311 - reproducible
    return ids


def _page(quiz, questions, question_ids, seed, retry_of, nonce, started) -> Page:
    by_id = {q.pk: q for q in questions}
    attempt = Attempt(
        quiz=quiz,
        retry_of=retry_of,
        token=nonce,
        question_ids=question_ids,
        choice_order={str(i): _choice_order(by_id[i], seed) for i in question_ids if i in by_id},
        started_at=started,
    )
    token = signing.dumps(
        {
            "quiz": quiz.pk,
            "questions": question_ids,
            "seed": seed,
            "retry": retry_of.pk if retry_of else None,
            "nonce": nonce,
            "started": started.timestamp(),
        },
        salt=PAGE_SALT,
        compress=True,
    )
    return Page(token, attempt)


def new_page(quiz, questions: list, identity: str, attempts_made: int, retry_of=None) -> Page:
    """A fresh page; `identity` names the learner's browser ("" for none: a random order)."""
    if identity:
        basis = f"{identity}:{quiz.pk}:{attempts_made}:{retry_of.pk if retry_of else ''}"
        seed = int(salted_hmac("lessons.attempt.seed", basis).hexdigest()[:12], 16)
    else:
        seed = _random.getrandbits(48)
    only = missed_question_ids(retry_of) if retry_of else None
    question_ids = sorted(q.pk for q in questions if only is None or q.pk in only)
    random.Random(seed).shuffle(question_ids)  # noqa: S311 - reproducible, not secret
    nonce = secrets.token_hex(16)
    return _page(quiz, questions, question_ids, seed, retry_of, nonce, datetime.now(UTC))


def read_page(token: str, quiz, questions: list, learner) -> Page | None:
    """The page a submitted form came from, or None if its token is not one we signed
    for this quiz (or retries an attempt that is not the learner's)."""
    try:
        data = signing.loads(token or "", salt=PAGE_SALT)
        if data["quiz"] != quiz.pk:
            return None
        retry_of = None
        if data["retry"] is not None:
            retry_of = learner.owns(Attempt.objects.filter(quiz=quiz, pk=data["retry"])).first()
            if retry_of is None:
                return None
        started = datetime.fromtimestamp(data["started"], UTC)
        return _page(
            quiz, questions, data["questions"], data["seed"], retry_of, data["nonce"], started
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


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


def _grade(attempt, questions: list, responses: dict[int, Response]) -> list:
    answers = []
    for question, _ in in_attempt_order(attempt, questions):
        response = responses.get(question.pk, Response())
        answers.append(
            Answer(
                question=question,
                choice_ids=sorted(response.choice_ids),
                text=response.text.strip()[:300],
                number=response.number,
                lab_result=response.lab,
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
    attempt.points = points
    attempt.max_points = max_points
    attempt.percent = percent(points, max_points)
    return answers


def submit(page: Page, learner, questions: list, responses: dict[int, Response]) -> Outcome:
    """Grade the page's attempt and write it, once, within the attempt limit."""
    attempt = page.attempt
    answers = _grade(attempt, questions, responses)
    quiz = attempt.quiz
    # A lost race on the number is retried with a fresh count; a nonce already
    # written means this page was submitted before.
    for _ in range(5):
        try:
            with transaction.atomic():
                if Attempt.objects.filter(token=attempt.token).exists():
                    return Outcome.DUPLICATE
                mine = learner.owns(Attempt.objects.filter(quiz=quiz, number__isnull=False))
                made = mine.aggregate(top=Max("number"), count=Count("pk"))
                top = made["top"] or 0
                if quiz.max_attempts is not None and made["count"] >= quiz.max_attempts:
                    return Outcome.LIMIT
                attempt.number = top + 1
                for name, value in learner.fields().items():
                    setattr(attempt, name, value)
                attempt.save()
                for answer in answers:
                    answer.attempt = attempt
                Answer.objects.bulk_create(answers)
                # Each question missed goes to the review queue, each one in it is reviewed.
                results = {str(a.question_id): a.correct for a in answers}
                answers_recorded.send(
                    Attempt, learner=learner, results=results, at=attempt.submitted_at
                )
                return Outcome.RECORDED
        except IntegrityError:
            attempt.pk = None
            continue
    raise RuntimeError("could not number a quiz attempt after five tries")
