"""Run the real site under Daphne in a subprocess, for end-to-end tests.

The server gets its own database and collected static files, runs with
debug off like production, and is ready when Daphne prints the address it
listens on (no polling, no sleeps). The database is a SQLite file in the work
directory, or, when the suite runs on PostgreSQL, a fresh PostgreSQL database
per work directory (tests/support/postgres_service.py makes it and drops it at exit).
"""

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

from tests.support import postgres_service
from tests.support.paths import ROOT

LISTENING = re.compile(r"Listening on TCP address ([\d.]+):(\d+)")


def database_url(workdir: Path) -> str:
    """The live site's database for `workdir`, on the engine the suite runs on."""
    if postgres_service.suite_runs_on_postgres():
        return postgres_service.database_for(str(workdir))
    return f"sqlite:///{workdir / 'db.sqlite3'}"


def site_env(workdir: Path, **extra) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "sockets_site.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": "test-" + "k" * 60 + "-not-for-production",
        "DJANGO_STATIC_ROOT": str(workdir / "static"),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SECURE", None)
    env.update(extra)
    if "DATABASE_URL" not in extra:  # never the suite's own database
        env["DATABASE_URL"] = database_url(workdir)
    return env


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


STAFF_PASSWORD = "a-long-staff-password"


def staff_account(env: dict, username: str) -> dict:
    """A superuser of the site whose environment is `env` (made once; a second call for
    the same name finds it): its log-in as the admin's form takes it."""
    made = manage(
        dict(env, DJANGO_SUPERUSER_PASSWORD=STAFF_PASSWORD),
        "createsuperuser",
        "--noinput",
        "--username",
        username,
        "--email",
        f"{username}@example.org",
    )
    assert made.returncode == 0 or "already taken" in made.stderr, made.stderr
    return {"username": username, "password": STAFF_PASSWORD}


def prepare_site(env: dict) -> None:
    """What docs/deploy.md says to run before a site's first start: migrate, load the
    course, collect the static files."""
    for command in (("migrate", "--noinput"), ("load_course",), ("collectstatic", "--noinput")):
        result = manage(env, *command)
        if result.returncode:
            raise RuntimeError(f"manage.py {command[0]} failed:\n{result.stderr}")


class LoggedProcess:
    """A subprocess whose stderr is kept and can be awaited line by line."""

    def __init__(self):
        self.process = None
        self.log: list[str] = []
        self._logged = threading.Condition()

    def start(self, argv, env: dict, ready: re.Pattern, what: str, stdout=False, **popen):
        """Start `argv` and read its log (stderr; with `stdout`, both) until a line
        matches `ready`; that match."""
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stderr=subprocess.STDOUT if stdout else subprocess.PIPE,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            text=True,
            **popen,
        )
        self.stream = self.process.stdout if stdout else self.process.stderr
        for line in self.stream:
            self.log.append(line)
            match = ready.search(line)
            if match:
                break
        else:
            raise RuntimeError(f"{what} exited before it was ready:\n" + "".join(self.log))
        # Keep draining the log so the process never blocks on a full pipe.
        threading.Thread(target=self._drain, daemon=True).start()
        return match

    def _drain(self):
        for line in self.stream:
            with self._logged:
                self.log.append(line)
                self._logged.notify_all()

    def wait_for_log(self, text: str, timeout: float = 30, count: int = 1) -> bool:
        """Until the process has logged `count` lines containing `text` (False on timeout)."""
        with self._logged:
            return self._logged.wait_for(
                lambda: sum(text in line for line in self.log) >= count, timeout
            )


class DaphneServer(LoggedProcess):
    """`prepare=False` for a second server on a database the first one prepared."""

    def __init__(
        self,
        workdir: Path,
        application: str = "sockets_site.asgi:application",
        prepare: bool = True,
        preexec_fn=None,
        **env,
    ):
        super().__init__()
        self.workdir = workdir
        self.prepare = prepare
        self.preexec_fn = preexec_fn  # e.g. to set resource limits on the server
        self.application = application
        self.env = site_env(workdir, **env)

    def __enter__(self):
        if self.prepare:
            prepare_site(self.env)
        argv = [sys.executable, "-m", "daphne", "--no-server-name", "-b", "127.0.0.1", "-p", "0"]
        argv.append(self.application)  # as deploy/Procfile starts it
        match = self.start(argv, self.env, LISTENING, "Daphne", preexec_fn=self.preexec_fn)
        self.host, self.port = match.group(1), int(match.group(2))
        return self

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def manage(self, *args):
        return manage(self.env, *args)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
