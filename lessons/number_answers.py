"""How a typed answer to a number question becomes the number (read_number).

Rules, in the order they are applied:
- An answer longer than LONGEST characters, or with a digit written raised, small or
  as a fraction ("5²", "①", "½", which NFKC would fold into other digits), is refused.
- Unicode is folded first (NFKC), so a no-break or thin space is a space and
  full-width digits are digits; case does not count; a final ".", "!" or "?" and
  surrounding spaces are dropped.
- The answer is one number, then at most three unit words ("2 sockets",
  "0 connections", "131072 port numbers"); up to two of the question's own words
  may come before it ("port 0" to "Which port number?"). Anything before the number ("about 3")
  or any second number ("2 or 3", "2-3", "two or three") is refused with a message
  that says why; nothing is guessed.
- A number is digits with an optional sign, in groups of three separated by a comma,
  a space or an underscore, used the same way throughout ("131,072", "131 072",
  "131_072"), with an optional decimal point ("2.5", "1,000.5").
- The number words zero to twenty stand for their numbers ("two", "Twelve"), and
  "none" or "no" for 0, but only as the whole answer or before unit words ("none of
  them", "no connections"), never inside a sentence; after "no" a unit word is a
  plural or a word of the question ("no connection" to "How many connections..."),
  so "no idea" is not 0.
- "1.000" and "131.072" (one to three digits, not starting with 0, a point, then
  exactly three digits) are read as a decimal
  point only in a question whose answer is fractional ("decimal"); elsewhere they
  are refused, because half the world writes one thousand so: the message asks
  for the number without the point.
"""

import re
import unicodedata

from django.core.exceptions import ValidationError

from lessons.grading import words

# fmt: off
NUMBER_WORDS = {
    word: value for value, word in enumerate([
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen", "twenty",
    ])
}
# fmt: on
_NONE_WORDS = {"none", "no"}
# The longest answer read: a longer one is refused before it is read (its float would
# be infinity past 309 digits, and the refusal echoes what was typed).
LONGEST = 100
_SIGN = {"\u2212": "-", "\u2013": "-"}  # a minus sign, an en dash
_NUMBER = re.compile(
    r"""(?P<sign>[+-])?\s*
    (?P<whole>\d{1,3}(?P<sep>[,\ _])\d{3}(?:(?P=sep)\d{3})*|\d+)
    (?:\.(?P<fraction>\d+))?""",
    re.VERBOSE,
)
# Words that make a second number, a range or a guess of what follows.
# fmt: off
_NOT_UNITS = {
    "or", "and", "to", "maybe", "about", "around", "approximately", "roughly", "probably",
    "perhaps", "plus", "minus", "times", "than", "more", "less",
    "hundred", "thousand", "million", "billion", "half", "dozen",  # "one thousand" is not 1
}
# fmt: on
_UNIT_WORDS = re.compile(r"[^\W\d_]+(?:['\u2019-][^\W\d_]+)*")
_DIGIT_OR_WORD = re.compile(r"\d|\b(?:" + "|".join(NUMBER_WORDS) + r")\b")


def example(decimal: bool) -> str:
    return "3 or 2.5" if decimal else "3 or 131072"


def _units(rest: str) -> bool:
    """Whether `rest` (what follows the number) is at most three unit words."""
    found = _UNIT_WORDS.findall(rest)
    return (
        len(found) <= 3
        and _UNIT_WORDS.sub("", rest).strip() == ""
        and not {w.casefold() for w in found} & _NOT_UNITS
    )


def read_number(typed: str, decimal: bool = False, prompt: str = "") -> float | None:
    """The number a learner typed; None for a blank answer; ValidationError (with a
    message saying what to type) for anything that is not one number. `decimal`:
    the question's answer is fractional; `prompt`: its words may follow "no"."""
    typed = str(typed)
    if len(typed.strip()) > LONGEST:
        raise ValidationError(
            f"A number answer is at most {LONGEST} characters: type just the number, such as "
            f"{example(decimal)}.",
            code="too_long",
        )
    if any(char.isnumeric() and not char.isdecimal() for char in typed):
        # NFKC would make "5²" 52 and "2¹⁶" 216.
        raise ValidationError(
            f"Type the number in plain digits: \u201c{typed.strip()}\u201d has a digit written "
            f"raised, small or as a fraction, such as {example(decimal)}.",
            code="digit_form",
        )
    text = unicodedata.normalize("NFKC", typed).strip()
    for char, plain in _SIGN.items():
        text = text.replace(char, plain)
    text = re.sub(r"\s+", " ", text).rstrip(".!? ").casefold()
    if not text:
        return None
    text = _without_leading_prompt_words(text, prompt)
    first, _, rest = text.partition(" ")
    if first in NUMBER_WORDS or first in _NONE_WORDS:
        if _units(rest) and (first != "no" or _after_no(rest, prompt)):
            return float(NUMBER_WORDS.get(first, 0))
        if _DIGIT_OR_WORD.search(rest):
            raise _more_than_one(typed)
        raise _not_a_number(decimal)
    match = _NUMBER.match(text)
    if not match:
        raise _not_a_number(decimal)
    rest = text[match.end() :]
    # "2,5" (a decimal comma, or groups not of three), "1e3", "5rows": not one number we read.
    if re.match(r"[,_]\d|\w", rest):
        raise _not_a_number(decimal)
    if not _units(rest):
        if _DIGIT_OR_WORD.search(rest):
            raise _more_than_one(typed)
        raise _not_a_number(decimal)
    whole = re.sub(r"[,\ _]", "", match["whole"])
    fraction = match["fraction"]
    thousands = len(whole) <= 3 and whole[0] != "0" and not match["sep"]  # "1.000", not "0.001"
    if fraction and len(fraction) == 3 and thousands and not decimal:
        raise ValidationError(
            f"\u201c{typed.strip()}\u201d could be read as {float(f'{whole}.{fraction}'):g} or as "
            f"{whole}{fraction}: type the number without the point, such as {whole}{fraction}.",
            code="point",
        )
    # + 0.0: "-0" is 0, not a "-0" shown back to the learner.
    return float(f"{match['sign'] or ''}{whole}.{fraction or 0}") + 0.0


def _without_leading_prompt_words(text: str, prompt: str) -> str:
    """ "port 0" to "Which port number?" is 0: up to two of the question's own words
    may come first; "about 3" keeps its "about", and is refused."""
    asked = set(words(prompt).words) - _NOT_UNITS - set(NUMBER_WORDS) - _NONE_WORDS
    typed = text.split(" ")
    lead = 0
    while (
        lead < min(2, len(typed) - 1)
        and re.fullmatch(r"[^\W\d_]+:?", typed[lead])
        and set(words(typed[lead]).words) <= asked
    ):
        lead += 1
    return " ".join(typed[lead:])


def _after_no(rest: str, prompt: str) -> bool:
    asked = set(words(prompt).words)
    return all(word.endswith("s") or set(words(word).words) <= asked for word in rest.split())


def _not_a_number(decimal: bool) -> ValidationError:
    return ValidationError(f"Enter one number, such as {example(decimal)}.", code="invalid")


def _more_than_one(typed: str) -> ValidationError:
    return ValidationError(
        f"Enter one number: \u201c{typed.strip()}\u201d gives more than one.", code="several"
    )
