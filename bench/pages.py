"""Page benchmark: requests per second of the production servers, measured by wrk.

Starts the site as docs/deploy.md runs it in production (debug off, Redis for the
cache, the sessions and the channel layer, collected static files) in a temporary
directory, then for each HTTP server (Daphne; gunicorn with one uvicorn worker) runs
Debian's wrk, in a process of its own, against:

- `/healthz/`: a plain-text view, the framework's ceiling (every middleware, no work);
- a lesson page, the home page and a quiz page;

each for a visitor with no session and for one with a session cookie (a visitor who
has read a lesson). It prints requests/s and the ratios to `/healthz/`; the targets
are a lesson page at least 0.8x the trivial view without a session, 0.5x with one.
Each server is one process pinned to one core and wrk to the other, as in
bench/playground.py: the figures compare servers, not the machine's scheduler.
Last, the whole topology: nginx in front of the chosen HTTP server.

Run it with `make bench-pages` (or `.venv/bin/python -m bench.pages`).
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from tests.deploy_servers import GunicornServer, NginxServer, RedisServer
from tests.live_server import DaphneServer, manage, prepare_site, site_env

LESSON = "/lessons/sockets/"
QUIZ = "/quizzes/sockets-quiz/"
PAGES = [
    ("trivial view", "/healthz/"),
    ("lesson page", LESSON),
    ("home page", "/"),
    ("quiz page", QUIZ),
]
TARGETS = {(LESSON, False): 0.8, (LESSON, True): 0.5}


def pin(core: int):
    cores = sorted(os.sched_getaffinity(0))
    chosen = {cores[core % len(cores)]}
    return lambda: os.sched_setaffinity(0, chosen)


def wrk(url: str, cookie: str | None, seconds: int, connections: int) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    result = subprocess.run(  # noqa: S603 - our own fixed command
        command, capture_output=True, text=True, check=True, preexec_fn=pin(1), timeout=seconds * 5
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors or "Socket errors" in result.stdout:
        raise RuntimeError(f"wrk saw errors for {url}:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def visitor_cookie(env: dict) -> str:
    """A session like a real visitor's: a learner key, with the lesson marked read."""
    code = (
        "from django.contrib.sessions.backends.cached_db import SessionStore\n"
        "from lessons.learners import SESSION_KEY\n"
        "from lessons.models import Lesson, LessonRead\n"
        "s = SessionStore(); s[SESSION_KEY] = 'b' * 32; s.create()\n"
        "lesson = Lesson.objects.get(slug='sockets')\n"
        "LessonRead.objects.create(lesson=lesson, learner_key='b' * 32)\n"
        "print('KEY', s.session_key)"
    )
    result = manage(env, "shell", "-v", "0", "-c", code)
    match = re.search(r"KEY (\w+)", result.stdout)
    if not match:
        raise RuntimeError(f"could not make a session:\n{result.stderr}")
    return f"sessionid={match.group(1)}"


def measure(base: str, cookie: str, seconds: int, connections: int) -> dict:
    figures = {}
    for _, path in PAGES:
        for with_session in (False, True):
            wrk(base + path, cookie if with_session else None, 1, connections)  # warm up
            figures[path, with_session] = wrk(
                base + path, cookie if with_session else None, seconds, connections
            )
    return figures


def report(name: str, figures: dict) -> None:
    print(f"\n## {name}\n")
    print("| page | no session: req/s | ratio | with a session: req/s | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for label, path in PAGES:
        cells = []
        for with_session in (False, True):
            rate = figures[path, with_session]
            ratio = rate / figures["/healthz/", with_session]
            target = TARGETS.get((path, with_session))
            mark = (
                f" (target ≥ {target}x: {'met' if ratio >= target else 'MISSED'})" if target else ""
            )
            cells += [f"{rate:,.0f}", f"{ratio:.2f}x{mark}"]
        print(f"| {label} (`{path}`) | " + " | ".join(cells) + " |")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/pages.py needs wrk: sudo apt-get install wrk nginx")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with RedisServer(workdir) as redis:
            env = {"REDIS_URL": redis.url}
            base_env = site_env(workdir, **env)
            prepare_site(base_env)
            cookie = visitor_cookie(base_env)
            results = {}
            daphne = DaphneServer(workdir, prepare=False, preexec_fn=pin(0), **env).__enter__()
            try:
                results["Daphne, one process"] = measure(
                    daphne.url, cookie, args.seconds, args.connections
                )
            finally:  # after a load run Daphne may take long to stop: no need to wait
                daphne.process.kill()
                daphne.process.wait()
            with GunicornServer(workdir, workers=1, preexec_fn=pin(0), **env) as gunicorn:
                results["gunicorn + one uvicorn worker"] = measure(
                    f"http://{gunicorn.address}", cookie, args.seconds, args.connections
                )
            for name, figures in results.items():
                report(name, figures)
            first, second = results.values()
            print("\n## gunicorn + uvicorn vs Daphne (requests/s ratio)\n")
            for label, path in PAGES:
                print(
                    f"- {label}: no session {second[path, False] / first[path, False]:.2f}x, "
                    f"with a session {second[path, True] / first[path, True]:.2f}x"
                )
            # The whole topology on this machine: nginx, 2 HTTP workers, 1 Daphne.
            proxied = {**env, "DJANGO_BEHIND_PROXY": "1"}
            with (
                GunicornServer(workdir, workers=2, **proxied) as http,
                DaphneServer(workdir, prepare=False, **proxied) as ws,
                NginxServer(
                    workdir / "nginx",
                    port=free_port(),
                    http=[http.address],
                    ws=[f"{ws.host}:{ws.port}"],
                    static_root=workdir / "static",
                ) as nginx,
            ):
                report(
                    "nginx → gunicorn, 2 uvicorn workers (unpinned, wrk on the same 2 cores)",
                    measure(nginx.url, cookie, args.seconds, args.connections),
                )


if __name__ == "__main__":
    main()
