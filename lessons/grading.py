"""Grading of quiz answers. Runs on the server only; pages never carry answers.

Each question is worth one point:
- single choice and true/false: the one correct choice, and nothing else;
- multiple choice: partial credit, (right picks - wrong picks) / correct choices,
  never below zero, so ticking every box earns nothing for free;
- short text: any accepted answer, both sides normalised (normalise_text): case,
  spacing, punctuation, curly quotes, leading articles and simple plurals do not
  count, so "The server\u2019s listener." matches "server listener";
- number: within the question's tolerance of the answer (exact when 0);
- lab: the point only when the learner's live sandbox reached every step of the
  question (lessons.labs.grade_lab_questions, playground.lab_checks.replay), nothing
  for part of the way; never from anything the client sent.

Text and number questions may name predictable wrong answers (`wrong_answers`),
each with feedback for the learner who gave it; a wrong answer is never one the
question accepts (wrong_answer_errors), so feedback never contradicts the grade.
"""

import re
import unicodedata
from dataclasses import dataclass, field

from lessons import quiz_rules

# Floating-point slack, so 0.1 + 0.2 is within a tolerance of 0 of 0.3.
EPSILON = 1e-9
# Phones and word processors type typographic quotes; learners mean the plain ones.
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u00b4": "'",
        "`": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
    }
)
_ARTICLES = {"a", "an", "the"}
_NOT_A_WORD = re.compile(r"[\W_]+")


@dataclass
class Response:
    choice_ids: list[int] = field(default_factory=list)
    text: str = ""
    number: float | None = None
    # A lab question's result, from the sandbox (lessons.labs.grade_lab_questions).
    lab: dict = field(default_factory=dict)


def _singular(word: str) -> str:
    # Crude on purpose: both sides go through it, so "addresses" and "address"
    # meet at "address" even where the English rule would differ.
    if len(word) > 4 and word.endswith("sses"):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 2 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES).casefold()
    # An apostrophe joins ("server's" is one word), other punctuation separates
    # ("TCP/IP", "TIME_WAIT", "Server, listening").
    words = _NOT_A_WORD.sub(" ", text.replace("'", "")).split()
    while words and words[0] in _ARTICLES:
        words = words[1:]
    return " ".join(_singular(word) for word in words)


def text_matches(typed: str, answers) -> bool:
    wanted = normalise_text(typed)
    return bool(wanted) and wanted in {normalise_text(a) for a in answers}


def number_matches(given: float | None, answer: float | None, tolerance: float) -> bool:
    if given is None or answer is None:
        return False
    return abs(given - answer) <= tolerance + EPSILON


def grade(question, response: Response) -> float:
    kind = question.kind
    if kind in quiz_rules.CHOICE_KINDS:
        correct = {c.pk for c in question.choices.all() if c.is_correct}
        chosen = set(response.choice_ids)
        if not correct:
            return 0.0
        if kind == quiz_rules.MULTIPLE:
            right = len(chosen & correct)
            wrong = len(chosen - correct)
            return max(0.0, (right - wrong) / len(correct))
        return 1.0 if chosen == correct else 0.0
    if kind == quiz_rules.TEXT:
        return 1.0 if text_matches(response.text, question.accepted) else 0.0
    if kind == quiz_rules.NUMBER:
        matched = number_matches(response.number, question.number_answer, question.tolerance)
        return 1.0 if matched else 0.0
    if kind == quiz_rules.LAB:
        return 1.0 if response.lab.get("complete") else 0.0
    return 0.0


def wrong_answer_feedback(question, text: str = "", number: float | None = None) -> str:
    """The feedback for a predictable wrong answer the learner gave, or ""."""
    for wrong in question.wrong_answers or []:
        if question.kind == quiz_rules.TEXT and text_matches(text, [wrong["answer"]]):
            return wrong["feedback"]
        if question.kind == quiz_rules.NUMBER and number_matches(number, wrong["answer"], 0):
            return wrong["feedback"]
    return ""


def wrong_answer_errors(kind, wrong_answers, accepted=(), number_answer=None, tolerance=0) -> list:
    """Sentences for staff about a question's `wrong_answers`; [] when they are sound."""
    if not wrong_answers:
        return []
    if kind not in (quiz_rules.TEXT, quiz_rules.NUMBER):
        return ["Only short-text and number questions have wrong answers with feedback."]
    if not isinstance(wrong_answers, list):
        return ["Wrong answers are a list of {answer, feedback} pairs."]
    errors = []
    for wrong in wrong_answers:
        if not isinstance(wrong, dict) or not wrong.get("feedback") or "answer" not in wrong:
            errors.append("Each wrong answer needs an answer and its feedback.")
            continue
        answer = wrong["answer"]
        if kind == quiz_rules.NUMBER:
            if isinstance(answer, bool) or not isinstance(answer, int | float):
                errors.append(f"The wrong answer {answer!r} is not a number.")
            elif number_matches(answer, number_answer, tolerance):
                errors.append(f"The wrong answer {answer!r} would be graded right.")
        elif not normalise_text(answer):
            errors.append(f"The wrong answer {answer!r} is empty once normalised.")
        elif text_matches(answer, accepted):
            errors.append(f"The wrong answer {answer!r} is also an accepted answer.")
    return errors


def percent(points: float, max_points: int) -> float:
    return round(100 * points / max_points, 1) if max_points else 0.0
