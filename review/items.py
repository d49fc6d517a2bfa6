"""The things a review card names, as the review page and the lesson warm-up ask them.

Rules:
- A question is asked again only when its quiz is visible to the learner, has no
  attempt limit and shows its answer key after every attempt or on request after two
  (lessons.quiz_rules.reviewable): a review answer is the learner's second try at a
  question they missed, so reviewing reveals nothing the quiz would keep back, and
  cannot be used to practise a limited quiz for free. A prediction is asked again
  when its experiment is visible and the step still asks one. A card whose item is
  gone or not askable is skipped, never an error, and comes back if the item does.
- Answers are graded on the server by the quizzes' own grader (lessons.grading.grade);
  a question counts as right only with its full point, as in the quiz's "missed".
  Lab questions are graded from the learner's live sandbox, as in the quiz.
- The page carries the question and its choices, never the answer, before the
  learner submits (the forms are lessons.quiz_forms.AttemptForm and PredictionForm).
- After an answer, a question's right answer and explanation are shown only when the
  learner's answer key of its quiz would be shown to them now, by the quiz's own rule
  (lessons.quiz_rules.answer_key_shown, with their attempts at the quiz: withhold_keys):
  after a pass, or after two submitted attempts, or after every attempt if the quiz
  says so. Where the quiz gives its key "on request", answering here counts as the
  request: a review or warm-up answer is the learner asking how they did, so the key is
  shown as soon as the quiz would let them ask for it, with no separate button. Until
  then the result says right or not, the feedback on the learner's own choice, and
  when the quiz shows its answers (quiz_rules.key_policy); the same for the warm-up.
"""

import random
from dataclasses import dataclass, field

from django import forms
from django.template.defaultfilters import floatformat

from labs import grading as lab_grading
from labs.models import Experiment
from lessons import attempts as flow
from lessons import quiz_rules
from lessons.grading import Response, grade, wrong_answer_feedback
from lessons.models import Question, Quiz
from lessons.quiz_forms import AttemptForm
from review import cards
from review.models import ReviewCard

QUESTION, PREDICTION = ReviewCard.Kind.QUESTION, ReviewCard.Kind.PREDICTION


@dataclass
class Item:
    kind: str
    ref: str
    card: ReviewCard | None = None
    question: Question | None = None
    choices: list = field(default_factory=list)  # a question's choices, in the page's order
    experiment: Experiment | None = None
    step_number: int = 0
    step_text: str = ""
    prediction: dict = field(default_factory=dict)
    explanation: str = ""

    @property
    def source(self) -> str:
        if self.question is not None:
            return self.question.quiz.title
        return f"{self.experiment.title}, step {self.step_number}"

    @property
    def source_url(self) -> str:
        if self.question is not None:
            return self.question.teaches_url or self.question.quiz.get_absolute_url()
        return self.experiment.get_absolute_url()


def number_text(number: float) -> str:
    """A number as the quiz's result page writes it (floatformat "-3"): 1310720, not
    the 1.31072e+06 of "%g"."""
    return floatformat(number, -3)


def askable_quiz(quiz) -> bool:
    return quiz_rules.reviewable(quiz.show_answers, quiz.max_attempts)


def questions(user, ids) -> dict[int, Question]:
    """The askable questions among `ids`, by pk."""
    quizzes = Quiz.objects.visible_to(user)
    found = (
        Question.objects.filter(pk__in=ids, quiz__in=quizzes)
        .select_related("quiz", "lesson")
        .prefetch_related("choices")
    )
    return {q.pk: q for q in found if askable_quiz(q.quiz)}


def _prediction_refs(refs) -> dict[str, tuple[str, int]]:
    parsed = {}
    for ref in refs:
        slug, _, number = ref.rpartition("/")
        if slug and number.isdigit() and int(number) >= 1:
            parsed[ref] = (slug, int(number))
    return parsed


def _predictions(user, refs) -> dict[str, Item]:
    parsed = _prediction_refs(refs)
    slugs = {slug for slug, _ in parsed.values()}
    experiments = {
        e.slug: e
        for e in Experiment.objects.visible_to(user)
        .filter(slug__in=slugs)
        .prefetch_related("steps")
    }
    items = {}
    for ref, (slug, number) in parsed.items():
        experiment = experiments.get(slug)
        steps = list(experiment.steps.all()) if experiment else []
        if number > len(steps):
            continue
        step = steps[number - 1]
        prediction = step.prediction or {}
        choices = prediction.get("choices") or []
        answer = prediction.get("answer")
        if not prediction.get("prompt") or len(choices) < 2:
            continue
        if not isinstance(answer, int) or not 0 <= answer < len(choices):
            continue
        items[ref] = Item(
            PREDICTION,
            ref,
            experiment=experiment,
            step_number=number,
            step_text=step.text,
            prediction=prediction,
            explanation=step.explain,
        )
    return items


def _choice_order(question, seed: str) -> list:
    choices = list(question.choices.all())
    if seed and question.kind in (quiz_rules.SINGLE, quiz_rules.MULTIPLE):
        random.Random(f"{seed}:{question.pk}").shuffle(choices)  # noqa: S311 - not secret
    return choices


def question_item(question, card=None, seed: str = "") -> Item:
    return Item(
        QUESTION,
        str(question.pk),
        card=card,
        question=question,
        choices=_choice_order(question, seed),
        explanation=question.explanation,
    )


def for_cards(user, cards) -> list[Item]:
    """The askable items of `cards`, in the cards' order."""
    cards = list(cards)
    ids = [int(c.ref) for c in cards if c.kind == QUESTION and c.ref.isdigit()]
    found = questions(user, ids) if ids else {}
    refs = [c.ref for c in cards if c.kind == PREDICTION]
    predicted = _predictions(user, refs) if refs else {}
    items = []
    for card in cards:
        if card.kind == QUESTION and card.ref.isdigit() and int(card.ref) in found:
            # A new choice order each time the card comes back, the same on GET and POST.
            seed = f"{card.pk}:{card.reviews}"
            items.append(question_item(found[int(card.ref)], card, seed))
        elif card.kind == PREDICTION and card.ref in predicted:
            item = predicted[card.ref]
            item.card = card
            items.append(item)
    return items


class PredictionForm(forms.Form):
    prediction = forms.TypedChoiceField(
        coerce=int, required=False, empty_value=None, widget=forms.RadioSelect
    )

    def __init__(self, *args, item, **kwargs):
        super().__init__(*args, **kwargs)
        choices = item.prediction["choices"]
        self.fields["prediction"].choices = [(str(i), text) for i, text in enumerate(choices)]


def due_items(user, learner, now=None) -> list[Item]:
    """The learner's due cards that can be asked now, soonest first."""
    return for_cards(user, cards.due(learner, now))


def form_for(items: list[Item], data=None):
    """The form asking `items`: questions (any number) or one prediction."""
    if items and items[0].kind == PREDICTION:
        return PredictionForm(data, item=items[0])
    return AttemptForm(data, ordered_questions=[(i.question, i.choices) for i in items])


def rows(items: list[Item], form) -> list[tuple]:
    """(item, its bound field) pairs, in order, for the templates; a lab question has none."""
    if items and items[0].kind == PREDICTION:
        return [(items[0], form["prediction"])]
    return [(item, field) for item, (_, field) in zip(items, form.rows(), strict=True)]


@dataclass
class Result:
    item: Item
    correct: bool
    answered: bool
    chosen: set = field(default_factory=set)  # choice pks, or a prediction's index
    given: str = ""  # a typed text or number, as the learner gave it
    feedback: list = field(default_factory=list)
    lab: dict = field(default_factory=dict)
    card: ReviewCard | None = None
    # The quiz would not show this learner its key yet: no right answer shown, and
    # `key_policy` says when it will be (withhold_keys).
    key_withheld: bool = False
    key_policy: str = ""

    @property
    def choices(self) -> list[dict]:
        """Each choice with whether it was chosen and is right, for the result."""
        if self.item.kind == PREDICTION:
            answer = self.item.prediction["answer"]
            texts = self.item.prediction["choices"]
            return [
                {"text": t, "chosen": i in self.chosen, "correct": i == answer}
                for i, t in enumerate(texts)
            ]
        return [
            {"text": c.text, "chosen": c.pk in self.chosen, "correct": c.is_correct}
            for c in self.item.choices
        ]

    @property
    def answer(self) -> str:
        """The right answer of a text or number question, in words."""
        question = self.item.question
        if question is None:
            return ""
        if question.kind == quiz_rules.TEXT and question.accepted:
            return question.accepted[0]
        if question.kind == quiz_rules.NUMBER and question.number_answer is not None:
            return number_text(question.number_answer)
        return ""


def keys_shown(learner, quizzes) -> dict[int, bool]:
    """By quiz pk: whether the learner's answer key of the quiz would be shown to them now,
    as its result page decides it (lessons.quiz_rules.answer_key_shown), with the key
    asked for (the module's rules)."""
    shown = {}
    for quiz in quizzes:
        history = flow.learner_attempts(quiz, learner)
        used = flow.used(history)
        passed = any(a.passed for a in history if not a.practice)
        left = flow.attempts_left(quiz, used)
        shown[quiz.pk] = quiz.answer_key_shown(passed, left, used, asked=True)
    return shown


def withhold_keys(learner, results: list["Result"]) -> None:
    """Mark the question results whose quiz would not show this learner its key now."""
    quizzes = {r.item.question.quiz_id: r.item.question.quiz for r in results if r.item.question}
    shown = keys_shown(learner, quizzes.values())
    for result in results:
        question = result.item.question
        if question is not None and not shown[question.quiz_id]:
            result.key_withheld = True
            result.key_policy = question.quiz.answer_key_policy


def grade_items(items: list[Item], form, session_key) -> list[Result]:
    """Grade a valid form of `items`; lab questions from the session's live sandbox."""
    if items and items[0].kind == PREDICTION:
        item = items[0]
        picked = form.cleaned_data.get("prediction")
        chosen = {picked} if picked is not None else set()
        return [
            Result(item, picked == item.prediction["answer"], picked is not None, chosen=chosen)
        ]
    responses = form.responses()
    asked = [i.question for i in items]
    for question_id, lab in lab_grading.grade_lab_questions(asked, session_key).items():
        responses[question_id] = Response(lab=lab)
    results = []
    for item in items:
        question = item.question
        response = responses.get(question.pk, Response())
        chosen = set(response.choice_ids)
        feedback = [c.feedback for c in item.choices if c.pk in chosen and c.feedback]
        typed = wrong_answer_feedback(question, response.text, response.number)
        given = response.text.strip()
        if response.number is not None:
            given = number_text(response.number)
        results.append(
            Result(
                item,
                grade(question, response) >= 1,
                bool(chosen or given or response.lab.get("sandbox")),
                chosen=chosen,
                given=given,
                feedback=[*feedback, typed] if typed else feedback,
                lab=response.lab,
            )
        )
    return results
