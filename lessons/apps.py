from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "lessons"
    verbose_name = "Course"

    def ready(self):
        from lessons import learners  # noqa: F401 - connects the log-in signal
        from lessons.page_cache import connect

        connect()  # edits to lessons, glossary terms and quizzes reach the cached pages
