"""The production processes of deploy/, started for tests and bench/pages.py.

Each is ready when it says it serves (no polling, no sleeps): gunicorn with gthread
workers once each has loaded the site, Redis on a Unix socket, and nginx from a
rendered deploy/ template.
"""

import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from deploy.workers import WORKER_READY
from tests.support.live_server import ROOT, site_env

GUNICORN_LISTENING = re.compile(r"Listening at: http://([\d.]+):(\d+)")


class _Process:
    """A child process whose output is read line by line into `log`."""

    ready_pattern: re.Pattern

    def _start(self, command: list[str], env: dict, cwd=ROOT, preexec_fn=None):
        self.log: list[str] = []
        self._logged = threading.Condition()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            preexec_fn=preexec_fn,
        )
        for line in self.process.stdout:
            self.log.append(line)
            match = self.ready_pattern.search(line)
            if match:
                threading.Thread(target=self._drain, daemon=True).start()
                return match
        raise RuntimeError(f"{command[0]} exited before it was ready:\n" + "".join(self.log))

    def _drain(self):
        for line in self.process.stdout:
            with self._logged:
                self.log.append(line)
                self._logged.notify_all()

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 30) -> bool:
        with self._logged:
            return self._logged.wait_for(
                lambda: sum(text in line for line in self.log) >= count, timeout
            )

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class GunicornServer(_Process):
    """gunicorn with gthread workers (WSGI), as deploy/gunicorn.conf.py runs it in production."""

    ready_pattern = GUNICORN_LISTENING

    def __init__(self, workdir: Path, workers: int = 2, preexec_fn=None, **env):
        self.workers = workers
        self.preexec_fn = preexec_fn
        self.env = site_env(workdir, **env)

    def __enter__(self):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "sockets_site.wsgi:application",
            "-c",
            str(ROOT / "deploy" / "gunicorn.conf.py"),
            "--bind",
            "127.0.0.1:0",
            "--workers",
            str(self.workers),
        ]
        match = self._start(command, self.env, preexec_fn=self.preexec_fn)
        self.host, self.port = match.group(1), int(match.group(2))
        # Every worker has loaded Django once each says so (deploy/gunicorn.conf.py's hook).
        if not self.wait_for_log(WORKER_READY, self.workers, timeout=60):
            raise RuntimeError("gunicorn workers did not start:\n" + "".join(self.log))
        return self

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class RedisServer(_Process):
    """A throw-away Redis on a Unix socket in `workdir`, nothing saved to disk."""

    ready_pattern = re.compile(r"ready to accept connections", re.IGNORECASE)

    def __init__(self, workdir: Path):
        self.socket = workdir / "redis.sock"
        self.workdir = workdir

    def __enter__(self):
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            "0",
            "--unixsocket",
            str(self.socket),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.workdir),
        ]
        self._start(command, dict(os.environ), cwd=self.workdir)
        return self

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"


def write_nginx_config(directory: Path, *, port: int, **render_args) -> Path:
    """deploy/nginx.conf.template rendered into `directory` (with its tmp/), as nginx.conf."""
    from deploy.render import render

    (directory / "tmp").mkdir(parents=True, exist_ok=True)
    config = directory / "nginx.conf"
    # nginx's "start worker process", the sign it is ready, is logged at "notice".
    config.write_text(render(listen=f"127.0.0.1:{port}", log_level="notice", **render_args))
    return config


class NginxServer(_Process):
    """Debian's nginx, as the current user, from deploy/nginx.conf.template in `workdir`:
    for the local engine in front of one Daphne (`ws`), or for the pool engine.

    nginx says nothing when it is ready, so it listens on a port chosen here: the
    readiness line is its own notice that a worker process started, after the listening
    socket is bound (a port taken meanwhile makes it exit with the error instead).
    """

    ready_pattern = re.compile(r"start worker process")

    def __init__(
        self, workdir: Path, *, port: int, http, static_root, engine="local", ws=None, **render
    ):
        self.workdir = workdir
        self.port = port
        self.config = write_nginx_config(
            workdir, port=port, http=http, static_root=static_root, engine=engine, ws=ws, **render
        )

    def __enter__(self):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self._start(
            [nginx, "-e", "stderr", "-c", str(self.config), "-p", f"{self.workdir}/"],
            dict(os.environ),
        )
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
