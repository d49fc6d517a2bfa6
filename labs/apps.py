from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "labs"
    verbose_name = "Labs"

    def ready(self):
        from labs import progress
        from labs.models import Experiment, ExperimentStep
        from sockets_site import learner_state, page_cache

        # The lesson pages and the course page list the experiments.
        page_cache.invalidated_by(Experiment, ExperimentStep)
        learner_state.register("finished", progress.finished_runs)
