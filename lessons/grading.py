"""Grading of quiz answers. Runs on the server only; pages never carry answers.

Each question is worth one point:
- single choice and true/false: the one correct choice, and nothing else;
- multiple choice: partial credit, (right picks - wrong picks) / correct choices,
  never below zero, so ticking every box earns nothing for free;
- short text: any accepted answer, ignoring case, surrounding spaces and
  repeated inner spaces;
- number: within the question's tolerance of the answer (exact when 0).
"""

from dataclasses import dataclass, field

from lessons import quiz_rules

# Floating-point slack, so 0.1 + 0.2 is within a tolerance of 0 of 0.3.
EPSILON = 1e-9


@dataclass
class Response:
    choice_ids: list[int] = field(default_factory=list)
    text: str = ""
    number: float | None = None


def normalise_text(text: str) -> str:
    return " ".join(str(text).split()).casefold()


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
        accepted = {normalise_text(a) for a in question.accepted}
        return 1.0 if response.text.strip() and normalise_text(response.text) in accepted else 0.0
    if kind == quiz_rules.NUMBER:
        if response.number is None or question.number_answer is None:
            return 0.0
        gap = abs(response.number - question.number_answer)
        return 1.0 if gap <= question.tolerance + EPSILON else 0.0
    return 0.0


def percent(points: float, max_points: int) -> float:
    return round(100 * points / max_points, 1) if max_points else 0.0
