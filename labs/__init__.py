"""The labs: the playground's guided experiments as course content, and learners' runs.

Rules: built on the course (an experiment belongs to a lesson) and on the playground
(its check language and live sandboxes); the playground reaches it only through the hook
a setting names (playground.conf.lab_hooks), and the review queue only by name.
"""
