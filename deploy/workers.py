"""gunicorn's worker class for the site's HTTP (deploy/gunicorn.conf.py).

Rules: uvicorn's worker as it is, but without the `server: uvicorn` header uvicorn adds
to every response (uvicorn's --no-server-header): no server the project starts names
its software (sockets_site.devserver says why).
"""

from uvicorn_worker import UvicornWorker


class QuietUvicornWorker(UvicornWorker):
    CONFIG_KWARGS = {**UvicornWorker.CONFIG_KWARGS, "server_header": False}
