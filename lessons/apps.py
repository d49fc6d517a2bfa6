from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "lessons"
    verbose_name = "Course"

    def ready(self):
        from lessons import (
            learner_state,
            learners,  # noqa: F401 - connects the log-in signal
        )
        from lessons.page_cache import connect

        connect()  # edits to lessons, glossary terms and quizzes reach the cached pages
        learner_state.connect()  # every write of a learner's rows reaches their snapshot
