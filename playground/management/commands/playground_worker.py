"""`python manage.py playground_worker`: one process that holds playground sandboxes.

Used with PLAYGROUND_ENGINE=workers (see playground.workers); start any number
per host. SIGTERM (or Ctrl-C) drains it: its visitors are told (`sandbox.lost`)
and move to another worker, its sandboxes close, and it exits.
"""

import asyncio
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from playground import conf
from playground.redis_quotas import RedisQuotas
from playground.workers import Worker


class Command(BaseCommand):
    help = "Run a playground worker: sandboxes for PLAYGROUND_ENGINE=workers."

    def handle(self, *args, **options):
        if not settings.REDIS_URL:
            raise CommandError("playground_worker needs REDIS_URL (the channel layer and leases).")
        worker = Worker(
            conf.limits(),
            conf.engine_config(),
            settings.REDIS_URL,
            quotas=lambda worker: RedisQuotas(worker.limits, settings.REDIS_URL, worker.id),
            hooks=conf.lab_hooks(),
        )

        def ready(line: str) -> None:
            print(line, file=sys.stderr, flush=True)

        asyncio.run(worker.run(ready))
        print(f"playground worker {worker.id} stopped", file=sys.stderr, flush=True)
