"""gunicorn for the site's HTTP: uvicorn workers running the ASGI application.

    gunicorn sockets_site.asgi:application -c deploy/gunicorn.conf.py

Listens on GUNICORN_BIND (127.0.0.1:8001) with GUNICORN_WORKERS processes (one per
core). They hold no sandbox: with PLAYGROUND_ENGINE=pool they answer nginx's route
subrequest (GET /playground/route/: which sandbox process owns this session), and
nginx then sends the WebSocket itself to that process, never here.
"""

import os

bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8001")]
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 1))
worker_class = "deploy.workers.QuietUvicornWorker"
# Behind nginx: keep its kept-alive connections open longer than nginx does.
keepalive = 75
graceful_timeout = 20
timeout = 60
accesslog = None
