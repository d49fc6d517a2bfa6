from daphne.management.commands import runserver
from daphne.server import Server


class QuietServer(Server):
    """Daphne with an empty server name, as `daphne --no-server-name` starts it."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("server_name", "")
        super().__init__(*args, **kwargs)


class Command(runserver.Command):
    server_cls = QuietServer
