"""The processes of deploy/Procfile, started one by one, for tests.

Each line's command runs as honcho runs it (`/bin/sh -c`, from the repository, the
settings in the environment), so the tests start exactly what the file says. They are
started one at a time rather than by honcho, because a test kills one and starts it
again, where honcho would stop them all. Each is ready when it logs its own line (no
polling, no sleeps). Each leads a process group of its own, so that a crash can be
staged whole: nginx's master killed with its workers, as a machine's OOM killer or a
container's end would.
"""

import os
import re
import signal

from deploy.workers import WORKER_READY
from tests.support.live_server import ROOT, LoggedProcess

PROCFILE = ROOT / "deploy" / "Procfile"
# What each kind of process (its name without the digits) logs once it serves.
READY = {
    "redis": re.compile(r"Ready to accept connections"),
    "http": re.compile(r"Listening at: "),
    "sandbox": re.compile(r"playground process (\w+) ready on"),
    "nginx": re.compile(r"start worker process"),
}


def commands() -> dict[str, str]:
    """The Procfile's processes, name -> command, as honcho reads them."""
    lines = PROCFILE.read_text().splitlines()
    found = (re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line) for line in lines)
    return {match.group(1): match.group(2) for match in found if match}


class ProcfileProcess(LoggedProcess):
    """The process `name`, running the Procfile's line `line` (default: the line named
    `name`), so a test can start one more of a kind, e.g. a third sandbox process from
    the line `sandbox2` with its port variable moved."""

    def __init__(self, name: str, env: dict, line: str | None = None):
        super().__init__()
        self.name, self.env = name, env
        self.kind = (line or name).rstrip("0123456789")
        self.command = commands()[line or name]
        self.id = None  # a sandbox process's id in the pool

    def start_now(self) -> "ProcfileProcess":
        argv = ["/bin/sh", "-c", self.command]
        match = self.start(
            argv, self.env, READY[self.kind], self.name, stdout=True, start_new_session=True
        )
        if self.kind == "sandbox":
            self.id = match.group(1)
        if self.kind == "http":  # every gunicorn worker has loaded the site
            workers = int(self.env.get("GUNICORN_WORKERS", "1"))
            if not self.wait_for_log(WORKER_READY, count=workers, timeout=60):
                raise RuntimeError("gunicorn's workers did not start:\n" + "".join(self.log))
        return self

    def signal(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `signum` and wait for the exit; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)

    def kill_group(self) -> None:
        """SIGKILL the process and its children (nginx's workers outlive their master)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except Exception:
                self.process.kill()
                self.process.wait()

    def tracebacks(self) -> list[str]:
        return [line for line in self.log if "Traceback" in line]
