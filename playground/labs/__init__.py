"""Labs in the engine: the check language and each sandbox's journal and progress (no Django).

Rules: checks are data validated before use; the Django side (models, grading,
the admin) lives in the labs app and reaches this package only through its functions.
"""
