"""WSGI entry point: the pages, as the production HTTP workers serve them.

gunicorn's gthread workers run it (deploy/gunicorn.conf.py, deploy/Procfile's http line,
deploy/systemd/sockets-http.service). Those workers never see a WebSocket: nginx sends
every upgrade to a sandbox process (pool engine) or to a Daphne of its own (local
engine), and those run sockets_site.asgi. Pages need no ASGI, and WSGI serves them
fastest: one gthread worker answered the trivial view at 2,561 req/s where one uvicorn
worker answered 656 (docs/benchmarks.md, "Pages on every server", issue 22).

Unlike sockets_site.asgi it does not fit the playground to the file descriptors: these
processes hold no sandbox.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sockets_site.settings")
application = get_wsgi_application()
