"""What makes a list of lab steps well formed: an experiment's, and a lab question's.

Rules: both are one shape, a list of {text, check} (an experiment's steps may also
predict and explain), checked by one function whose check language is
playground.labs.checks'. The admin forms and the content loader use it alike (through
lessons.quiz_rules for a question), so steps that load from a file could also be saved
in the admin, and the reverse.
"""

from playground.labs import checks as lab_checks


def lab_steps_errors(steps, experiment: bool = False) -> list[str]:
    """Sentences for staff about a list of steps, each {text, check} (an experiment's
    may also have predict and explain); [] when sound. Each problem names its step
    (1-based), so a file or form error points at it."""
    return lab_checks.steps_errors(steps, experiment)
