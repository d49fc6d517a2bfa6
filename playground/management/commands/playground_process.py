"""`python manage.py playground_process --port 8101`: one sandbox process of the pool.

With PLAYGROUND_ENGINE=pool (docs/deploy.md): Daphne serving the site's ASGI
application, whose playground WebSockets nginx routes here when this process owns
their session's sandbox (playground.engines.pool). Start any number per host, each
on a port of its own. It says `playground process <id> ready on <address>` once
routes may name it. SIGTERM (or Ctrl-C) drains it: it leaves the pool, its visitors
are told (`sandbox.lost`) and reconnect to another process, its sandboxes close,
and it exits.

Daphne is run from here, not from its command line, because the process must join
the pool on the server's own event loop (where its sandboxes live) once it listens,
and drain before the server stops; Daphne's command line has no hook for either.
"""

import asyncio
import signal
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from playground.engines import PoolEngine, get_engine


class Command(BaseCommand):
    help = "Run a sandbox process of the pool (PLAYGROUND_ENGINE=pool)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument("--port", type=int, default=8101, help="port to listen on")
        parser.add_argument(
            "--advertise",
            help="host:port the proxy reaches this process at (default: host:port)",
        )
        parser.add_argument(
            "--asgi",
            default="sockets_site.asgi.application",
            help="the ASGI application, as a dotted path (the bench adds a bare echo)",
        )

    def handle(self, *args, host, port, advertise, asgi, **options):
        if settings.PLAYGROUND_ENGINE != "pool":
            raise CommandError("playground_process needs PLAYGROUND_ENGINE=pool (and REDIS_URL).")
        # Importing Daphne's server installs Twisted's asyncio reactor: first, before
        # anything imports another reactor.
        from daphne.server import Server
        from twisted.internet import reactor

        address = advertise or f"{host}:{port}"
        server = Server(
            application=import_string(asgi),
            endpoints=[f"tcp:port={port}:interface={host}"],
            signal_handlers=False,  # ours drain first (Pooled.stop)
            server_name="",  # no Server header names the software (sockets_site.devserver)
            verbosity=0,
        )
        pooled = Pooled(address, reactor)
        reactor.callWhenRunning(pooled.start)
        server.run()
        if pooled.failure is not None:
            raise CommandError(f"the process could not join the pool: {pooled.failure}")
        said(f"playground process {pooled.id} stopped")


def said(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Pooled:
    """Joins the pool once the server runs; drains it, then stops the server, on a signal."""

    def __init__(self, address: str, reactor):
        self.address, self.reactor = address, reactor
        self.engine: PoolEngine | None = None
        self.id = "?"
        self.failure: BaseException | None = None
        self.stopping = False
        self.joining: asyncio.Future | None = None

    def start(self) -> None:
        self.joining = asyncio.ensure_future(self.join())

    async def join(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):  # a stop while joining drains too
            loop.add_signal_handler(signum, self.stop_soon)
        try:
            self.engine = get_engine()
            presence = await self.engine.serve(self.address)
        except Exception as error:
            self.failure = error
            self.reactor.stop()
            return
        self.id = presence.id
        said(f"playground process {presence.id} ready on {self.address}")

    def stop_soon(self) -> None:
        self.stopped = asyncio.ensure_future(self.stop())

    async def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        try:
            if self.joining is not None and not self.joining.done():
                self.joining.cancel()
                await asyncio.gather(self.joining, return_exceptions=True)
            if self.engine is not None:
                await self.engine.drain()
        finally:
            self.reactor.stop()
