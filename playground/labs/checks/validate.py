"""Validation of checks and steps, in plain English (no Django).

Rules:
- Every function returns the list of what is wrong ([] when all is well), each naming
  where ("Step 2's check: 'all', check 1: 'socket': 'port' must be ...").
- A match (socket or packet) is checked by one loop over its key table
  (playground.labs.checks.keys); a kind's own rules are in _KIND_ERRORS, one entry each.
- Event checks (error, ok, packet, picked) never go in a 'while', which holds only
  state checks; only an experiment's steps may predict, explain or ask for a pick.
"""

from collections.abc import Callable

from playground.labs.checks.keys import DISTINCT, PACKET_KEYS, SOCKET_KEYS, Key
from playground.labs.checks.kinds import (
    EVENT_KINDS,
    KINDS,
    MODIFIERS,
    PICKABLE,
    STATE_KINDS,
    picks,
)

STEP = ("text", "check")
EXPERIMENT_STEP = ("text", "predict", "explain", "check")  # in the order files write them
PREDICT = ("prompt", "choices", "answer")
PREDICT_CHOICES = (2, 6)  # a prediction offers at least, at most this many choices

# Ops whose answers no check reads: they change what is shown, not the sockets (a pick
# is a moment of its own: playground.labs.lab.Lab.pick).
UNCHECKED_OPS = frozenset({"experiment.start", "capture", "experiment.predict", "experiment.pick"})


def op_names() -> tuple[str, ...]:
    """The ops a check may name: protocol's table (it imports nothing of this)."""
    from playground.wire.protocol import OPS

    return tuple(op for op in OPS if op not in UNCHECKED_OPS)


def match_errors(match, keys: dict[str, Key], what: str, where: str) -> list[str]:
    """What is wrong with a match of `what` ("socket" or "packet") fields."""
    names = ", ".join(keys)
    if not isinstance(match, dict):
        return [f"{where} must be an object of {what} fields ({names})."]
    errors = []
    for name, value in match.items():
        key = keys.get(name)
        if key is None:
            errors.append(f"{where}: {name!r} is no {what} field; use {names}.")
        elif (wanted := key.validate(value)) is not None:
            errors.append(f"{where}: {name!r} must be {wanted}, not {value!r}.")
    return errors


def _packet_errors(match, where: str) -> list[str]:
    errors = match_errors(match, PACKET_KEYS, "packet", where)
    if isinstance(match, dict) and match.get("protocol") == "udp" and {"flags", "has"} & set(match):
        errors.append(f"{where}: UDP packets have no flags; drop 'flags' and 'has'.")
    return errors


def _sockets(check, value, where, at, answers) -> list[str]:
    errors = match_errors(value, SOCKET_KEYS, "socket", at)
    at_least = check.get("at_least")
    if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
        errors.append(f"{where}: 'sockets' needs 'at_least', a whole number of 1 or more.")
    if "distinct" in check and check["distinct"] not in DISTINCT:
        errors.append(f"{where}: 'distinct' must be one of {', '.join(DISTINCT)}.")
    return errors


def _connection(check, value, where, at, answers) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at} must be an object, {{}} or with 'client' and 'accepted'."]
    errors = []
    for end, match in value.items():
        if end in KINDS["connection"].parts:
            errors += match_errors(match, SOCKET_KEYS, "socket", f"{at}: {end!r}")
        else:
            errors.append(f"{at}: {end!r} is neither 'client' nor 'accepted'.")
    return errors


def _error(check, value, where, at, answers) -> list[str]:
    errors = []
    if not isinstance(value, str) or not value:
        errors.append(f'{at} must be an error code, such as "ECONNREFUSED".')
    if "op" in check and check["op"] not in op_names():
        errors.append(f"{where}: 'op' must be one of {', '.join(op_names())}.")
    if "while" in check:
        errors += check_errors(check["while"], f"{where}: 'while'", answers=False)
    return errors


def _ok(check, value, where, at, answers) -> list[str]:
    return [] if value in op_names() else [f"{at} must be one of {', '.join(op_names())}."]


def _picked(check, value, where, at, answers) -> list[str]:
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in PICKABLE:
        return [f'{at} must be {{"packet": {{...}}}} or {{"socket": {{...}}}}: what to pick.']
    if "packet" in value:
        return _packet_errors(value["packet"], f"{at}: 'packet'")
    return match_errors(value["socket"], SOCKET_KEYS, "socket", f"{at}: 'socket'")


def _checks(check, value, where, at, answers) -> list[str]:
    if not isinstance(value, list) or not value:
        return [f"{at} must be a list of one check or more."]
    errors = []
    for n, part in enumerate(value, 1):
        errors += check_errors(part, f"{at}, check {n}", answers)
    return errors


def _socket(check, value, where, at, answers) -> list[str]:
    return match_errors(value, SOCKET_KEYS, "socket", at)


def _packet(check, value, where, at, answers) -> list[str]:
    return _packet_errors(value, at)


_KIND_ERRORS: dict[str, Callable[..., list[str]]] = {
    "socket": _socket,
    "no_socket": _socket,
    "sockets": _sockets,
    "connection": _connection,
    "error": _error,
    "ok": _ok,
    "packet": _packet,
    "picked": _picked,
    "all": _checks,
    "any": _checks,
}


def check_errors(check, where: str = "The check", answers: bool = True) -> list[str]:
    """What is wrong with a check, in plain English ([] when it is valid).

    `answers`: whether event checks (error, ok, packet) may appear (not inside a `while`)."""
    if not isinstance(check, dict):
        return [f"{where} must be an object with one of: {', '.join(KINDS)}."]
    kinds = [k for k in check if k in KINDS]
    if len(kinds) != 1:
        found = ", ".join(kinds) or "none"
        return [f"{where} must have exactly one of {', '.join(KINDS)} (it has {found})."]
    kind, value = kinds[0], check[kinds[0]]
    errors = [
        f"{where}: {key!r} does not go with {kind!r}."
        for key in check
        if key != kind and key not in MODIFIERS.get(kind, ())
    ]
    at = f"{where}: {kind!r}"
    if kind in EVENT_KINDS and not answers:
        return [f"{at}: a 'while' holds only state checks ({', '.join(STATE_KINDS)})."]
    return errors + _KIND_ERRORS[kind](check, value, where, at, answers)


def prediction_errors(predict, where: str = "The prediction") -> list[str]:
    """What is wrong with a step's `predict`, in plain English ([] when it is valid)."""
    low, high = PREDICT_CHOICES
    if not isinstance(predict, dict):
        return [f"{where} must be an object with 'prompt', 'choices' and 'answer'."]
    errors = [
        f"{where}: {key!r} is not a prediction field." for key in predict if key not in PREDICT
    ]
    prompt = predict.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        errors.append(f"{where} needs a 'prompt': the question asked before the learner acts.")
    choices = predict.get("choices")
    if not isinstance(choices, list) or not low <= len(choices) <= high:
        errors.append(f"{where} needs 'choices': a list of {low} to {high} answers to choose from.")
        choices = None
    elif not all(isinstance(c, str) and c.strip() for c in choices):
        errors.append(f"{where}: every choice must be a text, none empty.")
    elif len({c.strip() for c in choices}) != len(choices):
        errors.append(f"{where}: two choices say the same thing.")
    answer = predict.get("answer")
    if isinstance(answer, bool) or not isinstance(answer, int):
        errors.append(f"{where} needs an 'answer': the number of the right choice, counted from 0.")
    elif choices is not None and not 0 <= answer < len(choices):
        errors.append(
            f"{where}: 'answer' is {answer}, but the choices are numbered 0 to "
            f"{len(choices) - 1} (counted from 0)."
        )
    return errors


def steps_errors(steps, experiment: bool = False) -> list[str]:
    """What is wrong with a list of steps, in plain English ([] when they are valid).
    `experiment`: an experiment's steps, which may also predict and explain."""
    if not isinstance(steps, list) or not steps:
        return ["Steps must be a list of one step or more, each with 'text' and 'check'."]
    fields = EXPERIMENT_STEP if experiment else STEP
    errors = []
    for n, step in enumerate(steps, 1):
        if not isinstance(step, dict):
            errors.append(f"Step {n} must be an object with 'text' and 'check'.")
            continue
        errors += [f"Step {n}: {key!r} is not a step field." for key in step if key not in fields]
        if not isinstance(step.get("text"), str) or not step["text"].strip():
            errors.append(f"Step {n} needs a 'text': what to do, in plain words.")
        if "check" not in step:
            errors.append(f"Step {n} needs a 'check'.")
        elif problems := check_errors(step["check"], f"Step {n}'s check"):
            errors += problems
        elif not experiment and picks(step["check"]):
            errors.append(f"Step {n}'s check: only an experiment's steps can ask for a pick.")
        if "predict" in step and experiment:
            errors += prediction_errors(step["predict"], f"Step {n}'s prediction")
        if "explain" in step and experiment and not isinstance(step["explain"], str):
            errors.append(f"Step {n}'s 'explain' must be plain text.")
    return errors
