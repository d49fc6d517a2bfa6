"""gunicorn for the site's HTTP: gthread workers running the WSGI application.

    gunicorn sockets_site.wsgi:application -c deploy/gunicorn.conf.py

Listens on GUNICORN_BIND (127.0.0.1:8001) with GUNICORN_WORKERS processes (one per
core) of GUNICORN_THREADS threads each (4). They hold no sandbox and never see a
WebSocket: with PLAYGROUND_ENGINE=pool they answer nginx's route subrequest (GET
/playground/route/: which sandbox process owns this session), and nginx then sends the
WebSocket itself to that process, never here. So they run WSGI, which serves pages
about 4x faster than a uvicorn worker (sockets_site.wsgi, docs/benchmarks.md).

Rules: a setting that cannot be used stops gunicorn at start-up, naming the variable.
A worker's threads are fixed, so each keeps its database connection between requests
(DATABASE_CONN_MAX_AGE, 60 s unless set, checked before reuse: sockets_site.settings);
a new connection for every page cost more than the page on SQLite (docs/benchmarks.md).
Not with DATABASE_POOL, which pools instead (Django refuses both). gunicorn's control
socket is off: it lives in $HOME, outside the site, and nothing here uses it.
"""

import os

from deploy.workers import WORKER_READY
from sockets_site.env import env_bool


def _threads() -> int:
    raw = os.environ.get("GUNICORN_THREADS", "").strip()
    # 4: a page's time is mostly the database, Redis (cache, sessions, the route view)
    # and the socket to nginx, when the GIL is free; a few threads fill those waits,
    # more only add switching, since one worker per core already uses every core.
    if not raw:
        return 4
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"GUNICORN_THREADS must be a whole number, 1 or more; got {raw!r}")
    return int(raw)


if not env_bool("DATABASE_POOL", False):
    # Read by the workers' settings, which gunicorn loads after this file.
    os.environ.setdefault("DATABASE_CONN_MAX_AGE", "60")

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")]
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 1))
threads = _threads()
worker_class = "deploy.workers.QuietThreadWorker"
# Behind nginx: keep its kept-alive connections open longer than nginx does.
keepalive = 75
graceful_timeout = 20
timeout = 60
accesslog = None
control_socket_disable = True


def post_worker_init(worker):
    # gunicorn says when it boots a worker, not when the worker has loaded Django: tests,
    # bench/ and an operator wait for this line instead.
    worker.log.info("%s (pid: %s)", WORKER_READY, worker.pid)
