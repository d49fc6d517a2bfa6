"""gunicorn's worker class for the site's HTTP (deploy/gunicorn.conf.py).

Rules: gunicorn's gthread worker as it is, but without the `Server: gunicorn` header
gunicorn adds to every response: no server the project starts names its software
(sockets_site.devserver says why). gunicorn has no setting for it (upstream declined
one, benoitc/gunicorn#825), so the change is as narrow as it can be: one header line,
in the worker process only, leaving the arbiter and every other response rule alone.
"""

from gunicorn.http import wsgi
from gunicorn.workers.gthread import ThreadWorker

# What deploy/gunicorn.conf.py logs once a worker has loaded the site.
WORKER_READY = "Worker ready"


class QuietResponse(wsgi.Response):
    """gunicorn's HTTP/1 response less its Server line (gunicorn's own error pages,
    util.write_error, never had one)."""

    def default_headers(self):
        return [line for line in super().default_headers() if not line.startswith("Server:")]


class QuietThreadWorker(ThreadWorker):
    def init_process(self):
        # ThreadWorker.handle_request builds each response with wsgi.create(), which takes
        # the module's Response when not given a class; only copying handle_request could
        # pass one, so the module name is swapped, here, after the fork: in this worker
        # process alone. HTTP/2 (HTTP2Response) is not enabled in deploy/.
        wsgi.Response = QuietResponse
        super().init_process()
