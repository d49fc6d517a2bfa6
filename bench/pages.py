"""Page benchmark: requests per second of the HTTP servers the site can run on, by wrk.

Starts the site as docs/deploy.md runs it in production (debug off, Redis for the
cache, the sessions and the channel layer, collected static files) in a temporary
directory, then, in each of `--runs` runs, for each server

- Daphne (ASGI, one process);
- gunicorn with one uvicorn worker (ASGI, sockets_site.asgi: the comparison);
- gunicorn with one sync worker (WSGI, sockets_site.wsgi: the comparison);
- gunicorn with one gthread worker of `--threads` threads, as deploy/gunicorn.conf.py
  runs it in production (WSGI: pages need no ASGI);
- the whole topology: nginx in front of gunicorn with two workers of `--nginx-worker`
  (default gthread, the deployed one; and a Daphne for /ws/, which wrk does not use);

runs Debian's wrk, in a process of its own, against `/healthz/` (a plain-text view:
the framework's ceiling, every middleware, no work) and every public page (lesson,
home, quiz list, quiz, glossary, playground), each for a visitor with no session and
for one with a session cookie (a visitor who has read a lesson). It prints
requests/s and the ratios to `/healthz/` on the same server; the targets (issue 22)
are every public page at least 0.8x the trivial view without a session and 0.5x with
one, in every run, and the trivial view on the fastest server for it (the summary
names it). A single-process server is pinned to one core and wrk to the other, as in
bench/playground.py: the figures compare servers, not the machine's scheduler; the
nginx topology is not pinned (its processes share the 2 cores with wrk).

Run it with `make bench-pages` (or `.venv/bin/python -m bench.pages`; `--seconds 1
--runs 1` to try it). It prints figures; docs/benchmarks.md records them.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.support.deploy_servers import GunicornServer, NginxServer, RedisServer
from tests.support.live_server import ROOT, DaphneServer, manage, prepare_site, site_env
from tests.support.services import free_port

TRIVIAL = "/healthz/"
PAGES = [
    ("trivial view", TRIVIAL),
    ("lesson page", "/lessons/sockets/"),
    ("home page", "/"),
    ("quiz list", "/quizzes/"),
    ("quiz page", "/quizzes/sockets-quiz/"),
    ("glossary", "/glossary/"),
    ("playground page", "/playground/"),
]
# The ratio to the trivial view each public page must reach: without a session, with one.
TARGETS = {False: 0.8, True: 0.5}
# The application each comparison kind of worker runs (gthread runs the deployed config).
APPS = {"uvicorn": "sockets_site.asgi:application", "sync": "sockets_site.wsgi:application"}
WORKER_CLASSES = {"uvicorn": "uvicorn_worker.UvicornWorker", "sync": "sync"}


def pin(core: int):
    cores = sorted(os.sched_getaffinity(0))
    chosen = {cores[core % len(cores)]}
    return lambda: os.sched_setaffinity(0, chosen)


def wrk(url: str, cookie: str | None, seconds: int, connections: int) -> float:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", url]
    if cookie:
        command[1:1] = ["-H", f"Cookie: {cookie}"]
    result = subprocess.run(  # noqa: S603 - our own fixed command
        command,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=pin(1),
        timeout=seconds * 5 + 30,
    )
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", result.stdout)
    if errors or "Socket errors" in result.stdout:
        raise RuntimeError(f"wrk saw errors for {url}:\n{result.stdout}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", result.stdout).group(1))


def visitor_cookie(env: dict) -> str:
    """A session like a real visitor's: a learner key, with the lesson marked read."""
    code = (
        "from django.contrib.sessions.backends.cached_db import SessionStore\n"
        "from sockets_site.learners import SESSION_KEY\n"
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


class ComparedGunicorn(GunicornServer):
    """gunicorn with a kind of worker the site does not deploy (`uvicorn` or `sync`),
    on gunicorn's defaults but for the keep-alive."""

    def __init__(self, workdir: Path, kind: str, workers: int = 1, **kwargs):
        super().__init__(workdir, workers=workers, **kwargs)
        self.kind = kind

    def __enter__(self):
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            APPS[self.kind],
            "--bind",
            "127.0.0.1:0",
            "--workers",
            str(self.workers),
            "--worker-class",
            WORKER_CLASSES[self.kind],
            # As deploy/gunicorn.conf.py: behind nginx, keep its connections open.
            "--keep-alive",
            "75",
            "--log-level",
            "info",
        ]
        match = self._start(command, self.env, preexec_fn=self.preexec_fn)
        self.host, self.port = match.group(1), int(match.group(2))
        # Booted is not yet loaded (neither kind says when): the warm-up run pays the rest.
        if not self.wait_for_log("Booting worker with pid", self.workers, timeout=60):
            raise RuntimeError("gunicorn workers did not start:\n" + "".join(self.log))
        return self

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def http_server(kind: str, workdir: Path, workers: int, threads: int, **kwargs):
    if kind == "gthread":  # deploy/gunicorn.conf.py, as in production
        return GunicornServer(workdir, workers=workers, GUNICORN_THREADS=str(threads), **kwargs)
    return ComparedGunicorn(workdir, kind, workers=workers, **kwargs)


def measure(base: str, cookie: str, seconds: int, connections: int) -> dict:
    figures = {}
    for _, path in PAGES:
        for with_session in (False, True):
            wrk(base + path, cookie if with_session else None, 1, connections)  # warm up
            figures[path, with_session] = wrk(
                base + path, cookie if with_session else None, seconds, connections
            )
    return figures


def ratio(figures: dict, path: str, with_session: bool) -> float:
    return figures[path, with_session] / figures[TRIVIAL, with_session]


def report(name: str, figures: dict) -> None:
    print(f"\n### {name}\n")
    print("| page | no session: req/s | ratio | with a session: req/s | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for label, path in PAGES:
        cells = []
        for with_session in (False, True):
            share = ratio(figures, path, with_session)
            mark = ""
            if path != TRIVIAL:
                target = TARGETS[with_session]
                mark = f" ({'met' if share >= target else 'MISSED'})"
            cells += [f"{figures[path, with_session]:,.0f}", f"{share:.2f}x{mark}"]
        print(f"| {label} (`{path}`) | " + " | ".join(cells) + " |", flush=True)


def summary(runs: list[dict]) -> None:
    """Across the runs, per server: each page's lowest and highest ratio, and whether
    it met its target in every run; the trivial view's rate, fastest server first."""
    names = list(runs[0])
    print(f"\n## Summary of {len(runs)} run(s): ratio to the trivial view, lowest-highest\n")
    print("| page | " + " | ".join(f"{n}: no session / session" for n in names) + " |")
    print("| --- |" + " --- |" * len(names))
    for label, path in PAGES[1:]:
        cells = []
        for name in names:
            parts = []
            for with_session in (False, True):
                shares = [ratio(run[name], path, with_session) for run in runs]
                met = all(share >= TARGETS[with_session] for share in shares)
                parts.append(f"{min(shares):.2f}-{max(shares):.2f}x{'' if met else ' (MISSED)'}")
            cells.append(" / ".join(parts))
        print(f"| {label} | " + " | ".join(cells) + " |")
    missed = sum(
        ratio(run[name], path, s) < TARGETS[s]
        for run in runs
        for name in names
        for _, path in PAGES[1:]
        for s in (False, True)
    )
    print(f"\nPage ratios below target, over every run and server: {missed}")
    print("\nThe trivial view (req/s, no session / session, the mean of the runs):")
    means = {
        name: [sum(run[name][TRIVIAL, s] for run in runs) / len(runs) for s in (False, True)]
        for name in names
    }
    for name, (plain, session) in sorted(means.items(), key=lambda item: -item[1][0]):
        print(f"   {name:<48} {plain:8,.0f} / {session:8,.0f}")


def one_run(workdir: Path, env: dict, cookie: str, args) -> dict:
    """Every server, one after the other: their figures by name."""
    results = {}
    daphne = DaphneServer(workdir, prepare=False, preexec_fn=pin(0), **env).__enter__()
    try:
        results["Daphne"] = measure(daphne.url, cookie, args.seconds, args.connections)
    finally:  # after a load run Daphne may take long to stop: no need to wait
        daphne.process.kill()
        daphne.process.wait()
    for name, kind in (
        ("gunicorn, 1 uvicorn worker", "uvicorn"),
        ("gunicorn, 1 sync worker (WSGI)", "sync"),
        (f"gunicorn, 1 gthread worker x {args.threads} threads (WSGI, deployed)", "gthread"),
    ):
        with http_server(kind, workdir, 1, args.threads, preexec_fn=pin(0), **env) as server:
            results[name] = measure(
                f"http://{server.address}", cookie, args.seconds, args.connections
            )
    if args.nginx_worker != "none":
        # The whole topology on this machine: nginx, 2 HTTP workers, Daphne for /ws/.
        proxied = {**env, "DJANGO_BEHIND_PROXY": "1"}
        with (
            http_server(args.nginx_worker, workdir, 2, args.threads, **proxied) as http,
            DaphneServer(workdir, prepare=False, **proxied) as ws,
            NginxServer(
                workdir / "nginx",
                port=free_port(),
                http=[http.address],
                ws=f"{ws.host}:{ws.port}",
                static_root=workdir / "static",
            ) as nginx,
        ):
            results[f"nginx → gunicorn, 2 {args.nginx_worker} workers"] = measure(
                nginx.url, cookie, args.seconds, args.connections
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="of the gthread worker")
    parser.add_argument(
        "--nginx-worker",
        choices=("uvicorn", "sync", "gthread", "none"),
        default="gthread",
        help="the workers behind nginx (default: deploy/gunicorn.conf.py's)",
    )
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
            runs = []
            for number in range(1, args.runs + 1):
                print(f"\n## Run {number} of {args.runs}", flush=True)
                runs.append(one_run(workdir, env, cookie, args))
                for name, figures in runs[-1].items():
                    report(name, figures)
            summary(runs)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
