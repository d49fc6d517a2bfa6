"""What makes a quiz question (and an experiment's steps) well formed.

One set of rules for the admin forms and the content loader, so a question
that loads from a file could also be saved in the admin, and the reverse.
A question is checked in two parts, each asked only what it needs: choice_errors
(its choices against its type: the admin's choice forms) and answer_errors (accepted
texts, number, lab steps: the model's clean); the loader asks both, answer_errors
first, so that a file's messages keep one order.
A lab question's steps and an experiment's steps are one shape, a list of
{text, check}, checked by the same function (labs.rules.lab_steps_errors, which
the loader also reaches here), whose check language is playground.labs.checks'.
"""

from labs.rules import lab_steps_errors

SINGLE, MULTIPLE, TRUE_FALSE, TEXT, NUMBER = "single", "multiple", "true_false", "text", "number"
# Graded from the learner's live playground sandbox on submit, never from the form.
LAB = "lab"
CHOICE_KINDS = (SINGLE, MULTIPLE, TRUE_FALSE)

# When a learner sees the answer key (the right answers and explanations) of their attempt.
# `auto` is "last" for a quiz with an attempt limit; without one it is "asked": the key
# comes with a pass, or when the learner asks for it after ASK_AFTER attempts. Never on the
# first failure of an unlimited quiz, or "retry the questions you missed" tests copying.
KEY_AUTO, KEY_EVERY, KEY_LAST, KEY_PASSED = "auto", "every", "last", "passed"
SHOW_ANSWERS = (KEY_AUTO, KEY_EVERY, KEY_LAST, KEY_PASSED)
KEY_ASKED = "asked"  # what `auto` means without a limit; not a choice of its own
ASK_AFTER = 2
_ASK_AFTER_WORDS = "two"  # ASK_AFTER as the pages say it


def quiz_errors(max_attempts, show_answers) -> list[str]:
    if show_answers not in SHOW_ANSWERS:
        return [f"show_answers must be one of {', '.join(SHOW_ANSWERS)}."]
    if show_answers == KEY_LAST and not max_attempts:
        return [
            "“After the last attempt” needs a limit on attempts; without one there is no "
            "last attempt, so the answer key would never be shown."
        ]
    return []


def key_rule(show_answers, max_attempts) -> str:
    if show_answers == KEY_AUTO:
        return KEY_LAST if max_attempts else KEY_ASKED
    return show_answers


def answer_key_shown(show_answers, max_attempts, passed: bool, left, used=0, asked=False) -> bool:
    """`passed`: any counted attempt passed; `left`: attempts left (None: unlimited);
    `used`: counted attempts made; `asked`: the learner asked to see the answers."""
    rule = key_rule(show_answers, max_attempts)
    if rule == KEY_EVERY:
        return True
    if rule == KEY_ASKED:
        return passed or (asked and may_ask(show_answers, max_attempts, used))
    if rule == KEY_PASSED:
        return passed or left == 0
    return left == 0


def may_ask(show_answers, max_attempts, used: int) -> bool:
    """Whether a learner who has made `used` counted attempts may ask for the key."""
    return key_rule(show_answers, max_attempts) == KEY_ASKED and used >= ASK_AFTER


def key_policy(show_answers, max_attempts) -> str:
    """When the answers are shown, in the words the quiz and result pages say it."""
    rule = key_rule(show_answers, max_attempts)
    if rule == KEY_EVERY:
        return "The answers are shown after every attempt."
    if rule == KEY_ASKED:
        return (
            f"The answers are shown once you pass, or after {_ASK_AFTER_WORDS} attempts if you ask."
        )
    if rule == KEY_PASSED:
        if max_attempts:
            return "The answers are shown once you pass this quiz, or when no attempts are left."
        return "The answers are shown once you pass this quiz."
    return "The answers are shown after your last attempt."


def reviewable(show_answers, max_attempts) -> bool:
    """Whether the review queue may ask a question of this quiz again and then show its
    answer: only without an attempt limit (a limited quiz is not practised for free), and
    when the quiz gives its key after every attempt or on request after two. A review
    answer is the learner's second try at a question the quiz marked missed."""
    return not max_attempts and key_rule(show_answers, max_attempts) in (KEY_EVERY, KEY_ASKED)


def choice_errors(kind, choices) -> list[str]:
    """What is wrong, in sentences for staff, with these `choices` (a list of (text,
    is_correct)) for a question of type `kind`: the admin's choice forms ask this alone,
    the loader with answer_errors."""
    correct = sum(1 for _, is_correct in choices if is_correct)
    if kind == SINGLE:
        errors = []
        if len(choices) < 2:
            errors.append("A single-choice question needs at least two choices.")
        if correct != 1:
            errors.append(
                f"A single-choice question needs exactly one correct choice (it has {correct})."
            )
        return errors
    if kind == MULTIPLE:
        errors = []
        if len(choices) < 2:
            errors.append("A multiple-choice question needs at least two choices.")
        if correct < 1:
            errors.append("A multiple-choice question needs at least one correct choice.")
        return errors
    if kind == TRUE_FALSE:
        texts = sorted(text for text, _ in choices)
        if texts != ["False", "True"] or correct != 1:
            return [
                "A true/false question needs exactly two choices, True and False, "
                "one of them correct."
            ]
        return []
    if choices:
        return ["Only choice questions have choices; remove them or change the type."]
    return []


def answer_errors(kind, accepted=(), number_answer=None, lab_steps=None) -> list[str]:
    """What is wrong, in sentences for staff, with what a question of type `kind` is
    graded by other than choices (choice_errors): accepted texts, a number, lab steps.
    An unknown type is named here, and only here."""
    errors = []
    if kind != LAB and lab_steps:
        errors.append("Only lab questions have lab steps; remove them or change the type.")
    if kind == TEXT:
        if not [answer for answer in accepted if str(answer).strip()]:
            errors.append("A short-text question needs at least one accepted answer.")
    elif kind == NUMBER:
        if number_answer is None:
            errors.append("A number question needs its correct answer.")
    elif kind == LAB:
        errors += [f"Lab steps: {error}" for error in lab_steps_errors(lab_steps)]
    elif kind not in CHOICE_KINDS:
        errors.append(f"Unknown question type {kind!r}.")
    return errors
