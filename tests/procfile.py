"""The processes of deploy/Procfile, started one by one, for tests.

Each line's command runs as honcho runs it (`/bin/sh -c`, from the repository, the
settings in the environment), so the tests start exactly what the file says. They are
started one at a time rather than by honcho, because a test kills one and starts it
again, where honcho would stop them all. Each is ready when it logs its own line (no
polling, no sleeps).
"""

import re
import signal

from tests.live_server import ROOT, LoggedProcess

PROCFILE = ROOT / "deploy" / "Procfile"
# What each kind of process (its name without the digits) logs once it serves.
READY = {
    "redis": re.compile(r"Ready to accept connections"),
    "http": re.compile(r"Listening at: "),
    "ws": re.compile(r"Listening on TCP address"),
    "worker": re.compile(r"playground worker (\w+) ready"),
    "nginx": re.compile(r"start worker process"),
}


def commands() -> dict[str, str]:
    """The Procfile's processes, name -> command, as honcho reads them."""
    lines = PROCFILE.read_text().splitlines()
    found = (re.match(r"^([A-Za-z0-9_-]+):\s*(.+)$", line) for line in lines)
    return {match.group(1): match.group(2) for match in found if match}


class ProcfileProcess(LoggedProcess):
    def __init__(self, name: str, env: dict):
        super().__init__()
        self.name, self.env = name, env
        self.kind = name.rstrip("0123456789")
        self.command = commands()[name]
        self.id = None

    def start_now(self) -> "ProcfileProcess":
        argv = ["/bin/sh", "-c", self.command]
        match = self.start(argv, self.env, READY[self.kind], self.name, stdout=True)
        if self.kind == "worker":
            self.id = match.group(1)
        if self.kind == "http":  # every gunicorn worker has loaded the site
            workers = int(self.env.get("GUNICORN_WORKERS", "1"))
            if not self.wait_for_log("Application startup complete", count=workers, timeout=60):
                raise RuntimeError("gunicorn's workers did not start:\n" + "".join(self.log))
        return self

    def signal(self, signum: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Send `signum` and wait for the exit; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                self.signal(signal.SIGTERM)
            except Exception:
                self.process.kill()
                self.process.wait()

    def tracebacks(self) -> list[str]:
        return [line for line in self.log if "Traceback" in line]
