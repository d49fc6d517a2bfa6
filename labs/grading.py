"""Lab questions: graded from the learner's live sandbox, never from the form.

Rules: a lab question is graded from the session's live sandbox, read on submit through
playground.live.inspect_session, and replayed against the question's steps by
playground.labs.checks.replay. What the form posts for it is never read. When the
sandbox cannot be read the attempt is still recorded, the lab question wrong.
"""

import logging

from asgiref.sync import async_to_sync

from playground import live
from playground.labs.checks import replay

log = logging.getLogger(__name__)

NO_SANDBOX = (
    "No sandbox was found for your session: open the playground first (same browser), "
    "do the task there, then submit the quiz while the playground is still open."
)


def inspect(session_key: str | None) -> dict | None:
    """The session's live sandbox as the engine sees it now, or None when there is none
    (or when the engine cannot say: the attempt is still recorded, the lab question
    wrong, rather than the learner's other answers lost to an error page)."""
    if not session_key:
        return None
    try:
        return async_to_sync(live.inspect_session)(session_key)
    except Exception:
        log.exception("lessons: could not inspect a session's sandbox to grade a lab question")
        return None


def grade_lab_questions(questions: list, session_key: str | None) -> dict[int, dict]:
    """Question id -> its lab result, for the lab questions among `questions`, from one
    look at the session's live sandbox (none asked for when there is no lab question)."""
    labs = [q for q in questions if q.kind == "lab"]
    if not labs:
        return {}
    inspected = inspect(session_key)
    results = {}
    for question in labs:
        if inspected is None:
            results[question.pk] = {
                "sandbox": False,
                "complete": False,
                "reached": 0,
                "total": len(question.lab_steps),
                "found": [],
                "missing": NO_SANDBOX,
            }
            continue
        result = replay(question.lab_steps, inspected["journal"])
        results[question.pk] = {
            "sandbox": True,
            "complete": bool(result.complete),
            "reached": result.reached,
            "total": result.total,
            "found": list(result.found),
            "missing": result.missing,
        }
    return results
