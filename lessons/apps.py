from django.apps import AppConfig


class LessonsConfig(AppConfig):
    name = "lessons"
    verbose_name = "Course"

    def ready(self):
        from lessons import learners, page_parts  # learners also connects the new-key signal
        from sockets_site import learner_state
        from sockets_site.models_base import owned_models

        page_parts.connect()  # edits to lessons, glossary terms and quizzes reach the cached pages
        learner_state.register("read", learners.lessons_read)
        learner_state.register("attempts", learners.attempt_rows)
        # Every app's LearnerOwned models, loaded by now: every write of a learner's rows
        # reaches their snapshot.
        learner_state.connect(owned_models())
