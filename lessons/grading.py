"""Grading of quiz answers. Runs on the server only; pages never carry answers.

Each question is worth one point:
- single choice and true/false: the one correct choice, and nothing else;
- multiple choice: partial credit, (right picks - wrong picks) / correct choices,
  never below zero, so ticking every box earns nothing for free;
- short text: read as a teacher reads it (read_text), on words (words):
  - both sides are cut into words the same way: case, spacing, punctuation, curly
    quotes, articles ("a", "an", "the", anywhere) and simple plurals and possessives
    do not count ("The server\u2019s listeners." is "server listener"), and Python's
    joined spellings come apart ("ConnectionRefusedError" is "connection refused
    error", "TCP_TIME_WAIT" is "tcp time wait");
  - the answer is right when the words of an accepted answer appear as a run in it,
    on word boundaries ("IP" is found in "its IP (203.0.113.7)", never in "ZIP"), so
    qualifiers, a parenthesis and a trailing word may surround it; an accepted
    answer's own last word "state", "error" or "socket" may be left out;
  - unless it also names a listed wrong answer (its words as a run): a wrong answer
    is never accepted. An answer that names both an accepted and a wrong answer
    ("TCP or UDP") scores nothing and is told so (ambiguity), not silently zeroed;
  - a run negated just before it ("not TCP", "it isn't UDP", "no TCP"; negation
    words, then only filler words such as "it"/"is"/"really", within one clause)
    does not count as naming it, so "TCP, not UDP" is right and "not TCP" is not;
    nor does a run taken back just after it ("TCP? no, UDP", "TCP is wrong": a denial
    then only filler words, in its clause or the next; _taken_back);
- number: within the question's tolerance of the answer (exact when 0); how typed
  text becomes the number (separators, number words, a unit word) is
  lessons.number_answers';
- lab: the point only when the learner's live sandbox reached every step of the
  question (labs.grading.grade_lab_questions, playground.labs.checks.replay), nothing
  for part of the way; never from anything the client sent.

Text and number questions may name predictable wrong answers (`wrong_answers`),
each with feedback for the learner who gave it. Staff cannot list a wrong answer
the grader would accept, nor, for text, a wrong answer and an accepted answer one
of which contains the other's words (wrong_answer_errors): feedback never
contradicts the grade, and typing an accepted answer as listed is always right.
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
# A word, or a mark that ends a clause (where a negation stops reaching).
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[,;:.!?()\[\]{}]")
# Python's and the kernel's joined names: "ConnectionRefusedError", "SO_REUSEADDR".
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])")
# What an accepted answer may end with, or not: "TIME_WAIT" is the state, the error, the socket.
_GENERIC_ENDINGS = {"state", "error", "socket"}
# Words that end a clause as a comma does ("not TCP but UDP").
_CLAUSE_WORDS = {"but", "rather", "instead", "however"}


@dataclass
class Response:
    choice_ids: list[int] = field(default_factory=list)
    text: str = ""
    number: float | None = None
    # A lab question's result, from the sandbox (labs.grading.grade_lab_questions).
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


@dataclass(frozen=True)
class Words:
    """A text as the grader reads it: its words, where each clause starts, and
    each word as typed (for quoting the learner's own words back)."""

    words: tuple[str, ...]
    clause_starts: frozenset[int]
    typed: tuple[str, ...]


def words(text: str) -> Words:
    text = unicodedata.normalize("NFKC", str(text)).translate(_QUOTES)
    # An apostrophe joins ("server's" is one word, then "server"), other
    # punctuation separates ("TCP/IP", "TIME_WAIT", "Server, listening").
    text = _CAMEL.sub(" ", text)
    kept, typed, starts = [], [], {0}
    for token in _TOKEN.findall(text):
        word = token.replace("'", "").casefold()
        if not word.isalnum() or word in _CLAUSE_WORDS:
            starts.add(len(kept))
        elif word not in _ARTICLES:
            kept.append(_singular(word))
            typed.append(token)
    return Words(tuple(kept), frozenset(starts), tuple(typed))


# Words that negate what follows them, and words that may stand between ("it is
# not really TCP"), as the grader reads them (apostrophes dropped, singular).
_NEGATIONS = set(
    words(
        "not no never nor neither non isn't aren't wasn't weren't doesn't don't didn't "
        "can't cannot won't without except"
    ).words
)
_FILLERS = set(
    words(
        "it its is was be being really just quite exactly actually simply necessarily "
        "using use called named one that this on over via by in at"
    ).words
)
# What takes back the words just before it ("TCP? no", "TCP is wrong"), and what may
# follow it to the end of its clause ("TCP is not right", "TCP is not the answer").
_DENIALS = set(words("no nope not wrong incorrect false").words)
_VERDICT_OBJECTS = set(words("right correct true answer so").words)


def normalise_text(text: str) -> str:
    """The words of `text` as the grader compares them, in one string."""
    return " ".join(words(text).words)


def _forms(answer: str, accepted: bool) -> list[tuple[str, ...]]:
    """The word runs that name `answer`: an accepted answer also without its last
    word when that is only "state", "error" or "socket"."""
    run = words(answer).words
    forms = [run] if run else []
    if accepted and len(run) > 1 and run[-1] in _GENERIC_ENDINGS:
        forms.append(run[:-1])
    return forms


def _negated(text: Words, start: int) -> bool:
    i = start
    while i > 0 and i not in text.clause_starts:
        i -= 1
        if text.words[i] in _NEGATIONS:
            return True
        if text.words[i] not in _FILLERS:
            return False
    return False


def _taken_back(text: Words, end: int) -> bool:
    """Whether the run ending at `end` is taken back just after it: "TCP? no, UDP",
    "TCP is wrong", "TCP, not really" (a denial, then only filler words, in the run's
    clause or the next), never "TCP, not UDP" (that "not" negates UDP) nor a tag
    question ("TCP, isn't it?")."""
    i, crossed = end, False
    while i < len(text.words):
        if i in text.clause_starts:
            if crossed:
                return False
            crossed = True
        if text.words[i] in _DENIALS:
            i += 1
            while i < len(text.words) and i not in text.clause_starts:
                if text.words[i] not in _FILLERS | _VERDICT_OBJECTS:
                    return False
                i += 1
            return True
        if text.words[i] not in _FILLERS:
            return False
        i += 1
    return False


def _named(text: Words, answer: str, accepted: bool) -> tuple[int, int] | None:
    """Where `text` names `answer` (its words as a run, neither negated nor taken
    back), or None."""
    for run in _forms(answer, accepted):
        for start in range(len(text.words) - len(run) + 1):
            end = start + len(run)
            if (
                text.words[start:end] == run
                and not _negated(text, start)
                # An answer that is itself a denial ("no") is not taken back by one.
                and (bool(set(run) & _DENIALS) or not _taken_back(text, end))
            ):
                return start, end
    return None


@dataclass
class TextReading:
    right: bool = False
    wrong: dict | None = None  # the listed wrong answer the learner gave
    both: tuple[str, str] | None = None  # (accepted, wrong) words, as the learner typed them

    @property
    def feedback(self) -> str:
        if self.both:
            named, wrong = self.both
            return f"Your answer names both \u201c{named}\u201d and \u201c{wrong}\u201d; give one."
        return self.wrong["feedback"] if self.wrong else ""


def read_text(typed: str, accepted, wrong_answers=()) -> TextReading:
    text = words(typed)
    right = next(filter(None, (_named(text, a, True) for a in accepted)), None)
    for wrong in wrong_answers or []:
        where = _named(text, wrong["answer"], False)
        if where:
            if right:
                quoted = [" ".join(text.typed[s:e]) for s, e in (right, where)]
                return TextReading(both=tuple(quoted))
            return TextReading(wrong=wrong)
    return TextReading(right=right is not None)


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
        reading = read_text(response.text, question.accepted, question.wrong_answers)
        return 1.0 if reading.right else 0.0
    if kind == quiz_rules.NUMBER:
        matched = number_matches(response.number, question.number_answer, question.tolerance)
        return 1.0 if matched else 0.0
    if kind == quiz_rules.LAB:
        return 1.0 if response.lab.get("complete") else 0.0
    return 0.0


def wrong_answer_feedback(question, text: str = "", number: float | None = None) -> str:
    """What to tell the learner about a wrong answer: its listed feedback, or for a
    text answer that names both an accepted and a wrong answer, that it does; or ""."""
    if question.kind == quiz_rules.TEXT:
        return read_text(text, question.accepted, question.wrong_answers).feedback
    for wrong in question.wrong_answers or []:
        if question.kind == quiz_rules.NUMBER and number_matches(number, wrong["answer"], 0):
            return wrong["feedback"]
    return ""


def _contains(outer: str, inner: str, accepted_inner: bool) -> bool:
    return _named(words(outer), inner, accepted_inner) is not None


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
            continue
        if not isinstance(answer, str) or not normalise_text(answer):
            errors.append(f"The wrong answer {answer!r} is empty once normalised.")
            continue
        for right in accepted:
            if normalise_text(right) == normalise_text(answer):
                errors.append(f"The wrong answer {answer!r} is also an accepted answer.")
            elif _contains(answer, right, True):
                errors.append(
                    f"The wrong answer {answer!r} contains the accepted answer {right!r}, "
                    "so it could not be told apart from a right one."
                )
            elif _contains(right, answer, False):
                errors.append(
                    f"The accepted answer {right!r} contains the wrong answer {answer!r}, "
                    "so typing it would name a wrong answer."
                )
    return errors


def percent(points: float, max_points: int) -> float:
    return round(100 * points / max_points, 1) if max_points else 0.0
