"""A class on the embedded default (issue 21, item 11): one Daphne on SQLite, as
`make run` serves the site but with production settings (debug off; the settings'
SQLite options: WAL, IMMEDIATE write transactions, a busy timeout), under

- VISITORS playground visitors, each arriving the way the page does (GET
  /playground/, then its POST for a session when the page wrote none), opening the
  WebSocket from an address of its own, making a connection in its sandbox and
  sending on it every INTERVAL seconds, measuring each send's round trip (to its `ok`);
- STUDENTS students submitting the course quiz back to back through the real form
  fields (the page, its token and CSRF field, every question answered as a browser
  posts it), measuring each cycle: the quiz page, the submission, the result page.

The same figures are measured idle, in the same run, before the load (one student,
one visitor, nothing else), and printed with the ratios. Errors are anything a user
would notice: a status other than the page's, a submission not recorded, a WebSocket
refused or closed, an `error` answer, no answer; the server's log is searched for
"database is locked" and tracebacks. Target: 0 errors and quiz cycle p99 under 2 s.
It also prints the server's CPU time per quiz cycle (over the idle student's cycles),
its share of a core under the load, and the share the target asks for.

With `--url` it starts no server and loads a site already running there (bench/scaled.py
runs it so, in a process of its own, against the scaled topology through nginx; the
caller lifts the quiz's attempt limit); `--every` paces each student to start a cycle
every so many seconds instead of back to back; `--json` ends with one line `FIGURES
{...}` for a caller to read.

Run it with `.venv/bin/python -m bench.classroom` (see --help to scale it down on a
busy machine); docs/benchmarks.md records the figures. It is not a test.
"""

import argparse
import asyncio
import collections
import html
import http.cookiejar
import json
import os
import re
import statistics
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import websockets

from tests.support.live_server import DaphneServer

TARGET_QUIZ_P99_S = 2.0
ANSWER_TIMEOUT_S = 30


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class QuizForm(HTMLParser):
    """The fields a browser posts from the quiz page's form, every question answered:
    the first choice of each radio or checkbox group, "1" in each text box."""

    def __init__(self):
        super().__init__()
        self.inside = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and "data-quiz-form" in attrs:
            self.inside = True
        if not self.inside or not attrs.get("name"):
            return
        name = attrs["name"]
        if tag == "textarea":
            self.fields.setdefault(name, "1")
        elif tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("radio", "checkbox"):
                self.fields.setdefault(name, attrs.get("value", "on"))
            elif kind == "hidden":
                self.fields[name] = attrs.get("value", "")
            elif kind not in ("submit", "button"):
                self.fields.setdefault(name, "1")

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False


class Browser:
    """One visitor's cookies; redirects are looked at, not followed."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect
        )

    def request(self, path, data=None, headers=None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, body, headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=120) as response:
                return (
                    response.status,
                    response.headers.get("Location", ""),
                    response.read().decode(),
                )
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


class Student(Browser):
    def cycle(self, quiz: str) -> str | None:
        """One quiz taken: None, or what went wrong."""
        status, _, page = self.request(quiz)
        if status != 200:
            return f"quiz page {status}"
        form = QuizForm()
        form.feed(page)
        status, location, _ = self.request(quiz, form.fields)
        if status != 302 or "/attempts/" not in location:
            return f"submission {status} {location or '(not recorded)'}"
        status, _, _ = self.request(location)
        return None if status == 200 else f"result page {status}"


def playground_cookie(base: str) -> str:
    """A visitor's session cookie, got as the playground page's script gets it."""
    browser = Browser(base)
    status, _, page = browser.request("/playground/")
    if status != 200:
        raise RuntimeError(f"playground page {status}")
    if browser.cookie("sessionid") is None:
        token = html.unescape(re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1])
        status, _, _ = browser.request(
            "/playground/session/", {}, {"X-CSRFToken": token, "Referer": base + "/playground/"}
        )
        if status >= 400 or browser.cookie("sessionid") is None:
            raise RuntimeError(f"playground session {status}")
    return f"sessionid={browser.cookie('sessionid')}"


async def answer(ws, ref) -> dict:
    while True:
        event = json.loads(await ws.recv())
        if event.get("ref") == ref and event["type"] in ("ok", "error"):
            if event["type"] == "error":
                raise RuntimeError(f"{event['code']}")
            return event


async def visitor(server, n: int, sends: int | None, stop: float | None, interval, times, errors):
    """Arrive, make a connection, send every `interval` s: `sends` times, or until `stop`."""
    try:
        cookie = await asyncio.get_running_loop().run_in_executor(
            None, playground_cookie, server.url
        )
        ws = await websockets.connect(
            f"ws://{server.host}:{server.port}/ws/playground/",
            additional_headers={"Origin": server.url, "Cookie": cookie},
            local_addr=(f"127.0.{10 + n // 250}.{n % 250 + 1}", 0),
            open_timeout=120,
            ping_interval=None,
            max_size=None,
            max_queue=None,
        )
    except Exception as error:
        errors[f"visitor arriving: {type(error).__name__} {error}"[:120]] += 1
        return
    try:
        hello = json.loads(await ws.recv())
        if hello["type"] != "hello":
            errors[f"visitor refused: {hello.get('code')}"] += 1
            return
        await ws.send(
            json.dumps({"op": "tcp.listen", "device": "server", "port": 3000, "ref": "l"})
        )
        await asyncio.wait_for(answer(ws, "l"), ANSWER_TIMEOUT_S)
        to = {"device": "server", "port": 3000}
        await ws.send(json.dumps({"op": "tcp.connect", "device": "laptop", "to": to, "ref": "c"}))
        client = (await asyncio.wait_for(answer(ws, "c"), ANSWER_TIMEOUT_S))["socket"]["id"]
        sent = 0
        next_at = time.monotonic()
        while (sends is None or sent < sends) and (stop is None or time.monotonic() < stop):
            message = {"op": "send", "socket": client, "data": "hello, class", "ref": sent}
            started = time.perf_counter()
            await ws.send(json.dumps(message))
            await asyncio.wait_for(answer(ws, sent), ANSWER_TIMEOUT_S)
            times.append(time.perf_counter() - started)
            sent += 1
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
    except Exception as error:
        errors[f"visitor: {type(error).__name__} {error}"[:120]] += 1
    finally:
        await ws.close()


def student(base, quiz, cycles, stop, times, errors, lock, think: float = 0.0, every: float = 0):
    """Quiz cycles back to back, `think` s apart, or one starting every `every` s (a cycle
    that takes longer is followed at once by the next)."""
    me = Student(base)
    done = 0
    next_at = time.monotonic()
    while (cycles is None or done < cycles) and (stop is None or time.monotonic() < stop):
        if done and think:
            time.sleep(think)  # reading the result before the next attempt
        if every:
            time.sleep(max(0.0, next_at - time.monotonic()))  # pacing, not waiting for anything
            next_at += every
            if stop is not None and time.monotonic() >= stop:
                break
        started = time.perf_counter()
        try:
            problem = me.cycle(quiz)
        except Exception as error:
            problem = f"{type(error).__name__} {error}"[:120]
        with lock:
            if problem:
                errors[problem] += 1
            else:
                times.append(time.perf_counter() - started)
        done += 1


def line(name: str, load: list[float], idle: list[float]) -> str:
    if not load or not idle:
        return f"   {name:<11} (no samples: load {len(load)}, idle {len(idle)})"
    p50, p99 = percentile(load, 50), percentile(load, 99)
    i50, i99 = percentile(idle, 50), percentile(idle, 99)
    return (
        f"   {name:<11} p50 {p50 * 1e3:8.1f} ms  p99 {p99 * 1e3:8.1f} ms   "
        f"idle p50 {i50 * 1e3:7.1f} ms  p99 {i99 * 1e3:7.1f} ms   "
        f"ratio p50 {p50 / i50:5.1f} x  p99 {p99 / i99:5.1f} x   ({len(load)} samples)"
    )


async def load(server, args, pid: int | None = None) -> dict:
    """The idle figures, then the load, against `server` (host, port, url); with `pid`,
    the server's CPU time too. The samples and errors, in a dict."""
    loop = asyncio.get_running_loop()
    quiz = f"/quizzes/{args.quiz}/"
    lock = threading.Lock()
    idle_errors = collections.Counter()
    idle_quiz, idle_sends = [], []
    # Idle: one student, then one visitor, nothing else running. The server's CPU
    # time over the student's cycles is what one cycle costs it.
    cpu = cpu_seconds(pid) if pid else 0.0
    await loop.run_in_executor(
        None, student, server.url, quiz, args.idle_cycles, None, idle_quiz, idle_errors, lock
    )
    cycle_cpu = (cpu_seconds(pid) - cpu) / max(1, len(idle_quiz)) if pid else None
    await visitor(server, 0, args.idle_sends, None, args.interval, idle_sends, idle_errors)

    errors = collections.Counter()
    quiz_times, send_times = [], []
    pace = (
        f"each starting one every {args.every:g} s"
        if args.every
        else (f"every {args.think} s after a result" if args.think else "back to back")
    )
    print(
        f"Load: {args.visitors} visitors sending every {args.interval} s and "
        f"{args.students} students submitting {quiz} {pace}, for {args.seconds} s after "
        "they arrive",
        flush=True,
    )
    started = time.monotonic()
    load_cpu = cpu_seconds(pid) if pid else 0.0
    stop = started + args.ramp + args.seconds
    students = [
        loop.run_in_executor(
            None,
            student,
            server.url,
            quiz,
            None,
            stop,
            quiz_times,
            errors,
            lock,
            args.think,
            args.every,
        )
        for _ in range(args.students)
    ]
    visitors = []
    for n in range(args.visitors):
        # Arrivals spread over the ramp, as a class opening the page does.
        await asyncio.sleep(args.ramp / max(1, args.visitors))
        visitors.append(
            asyncio.create_task(
                visitor(server, n + 1, None, stop, args.interval, send_times, errors)
            )
        )
    await asyncio.gather(*visitors, *students)
    elapsed = time.monotonic() - started
    return {
        "idle_quiz": idle_quiz,
        "idle_sends": idle_sends,
        "idle_errors": idle_errors,
        "quiz": quiz_times,
        "sends": send_times,
        "errors": errors,
        "elapsed": elapsed,
        "cycle_cpu": cycle_cpu,
        "load_cpu": cpu_seconds(pid) - load_cpu if pid else None,
    }


def print_figures(figures: dict, args) -> None:
    idle_errors, errors = figures["idle_errors"], figures["errors"]
    quiz_times, elapsed = figures["quiz"], figures["elapsed"]
    print(f"Ran {elapsed:.0f} s. Idle run errors: {sum(idle_errors.values())} {dict(idle_errors)}")
    print(f"Errors under load: {sum(errors.values())}")
    for problem, count in errors.most_common(10):
        print(f"   {count:5d}  {problem}")
    print(line("quiz cycle", quiz_times, figures["idle_quiz"]))
    print(line("send", figures["sends"], figures["idle_sends"]))
    if quiz_times:
        p99 = percentile(quiz_times, 99)
        verdict = "met" if p99 < args.quiz_target and not errors else "NOT met"
        print(
            f"Target (0 errors, quiz cycle p99 < {args.quiz_target:g} s): {verdict}; "
            f"quiz cycles {len(quiz_times)} ({len(quiz_times) / elapsed:.1f}/s), mean "
            f"{statistics.mean(quiz_times) * 1e3:.0f} ms"
        )
    if args.json:

        def summary(values: list[float]) -> dict:
            if not values:
                return {"count": 0}
            return {
                "count": len(values),
                "p50": percentile(values, 50),
                "p99": percentile(values, 99),
            }

        print(
            "FIGURES "
            + json.dumps(
                {
                    name: summary(figures[name])
                    for name in ("quiz", "sends", "idle_quiz", "idle_sends")
                }
                | {
                    "errors": dict(errors),
                    "idle_errors": dict(idle_errors),
                    "elapsed": elapsed,
                }
            ),
            flush=True,
        )


async def run(args) -> None:
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(args.students + 64))
    if args.url:
        parsed = urllib.parse.urlsplit(args.url)
        site = SimpleNamespace(host=parsed.hostname, port=parsed.port, url=args.url.rstrip("/"))
        print_figures(await load(site, args), args)
        return
    workdir = Path(tempfile.mkdtemp(prefix="bench-classroom-"))
    database = f"sqlite:///{workdir / 'db.sqlite3'}"
    with DaphneServer(workdir, DATABASE_URL=database) as server:
        unlimited = (
            "from lessons.models import Quiz; "
            f"print(Quiz.objects.filter(slug={args.quiz!r}).update(max_attempts=None))"
        )
        if server.manage("shell", "-v", "0", "-c", unlimited).stdout.split()[-1:] != ["1"]:
            raise SystemExit(f"no quiz {args.quiz!r} in the course")
        pid = server.process.pid
        figures = await load(server, args, pid)
        log = "".join(server.log)
    (workdir / "server.log").write_text(log)
    print_figures(figures, args)
    print(
        f"Server log: 'database is locked' {log.count('database is locked')}, "
        f"tracebacks {log.count('Traceback')}, 503 outage lines "
        f"{log.count('The database is unreachable')} (the whole log: {workdir / 'server.log'})"
    )
    raised = collections.Counter(re.findall(r"^(\w[\w.]*(?:Error|Exception)\b.{0,80})", log, re.M))
    for what, count in raised.most_common(5):
        print(f"   {count:5d}  {what}")
    # What the load asks of the server's CPU: one process runs Python on one core at most.
    # In a closed loop the students wait for the server, so a cycle p99 under the target
    # needs at least students / target cycles a second.
    cycle_cpu, elapsed = figures["cycle_cpu"], figures["elapsed"]
    wanted = args.students / args.quiz_target * cycle_cpu
    print(
        f"Server CPU: {cycle_cpu * 1e3:.1f} ms a quiz cycle (idle); under load the server "
        f"used {figures['load_cpu'] / elapsed:.0%} of a core. The target's {args.students} "
        f"cycles every {args.quiz_target:g} s alone ask {wanted:.0%} of a core."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visitors", type=int, default=300)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between sends")
    parser.add_argument("--seconds", type=float, default=60, help="load after the ramp")
    parser.add_argument("--ramp", type=float, default=15, help="seconds for visitors to arrive")
    parser.add_argument("--idle-cycles", type=int, default=20)
    parser.add_argument("--idle-sends", type=int, default=40)
    parser.add_argument("--quiz", default="ports-quiz")
    parser.add_argument(
        "--think", type=float, default=0, help="seconds a student reads a result (0: back to back)"
    )
    parser.add_argument(
        "--every", type=float, default=0, help="a student starts a cycle every so many seconds"
    )
    parser.add_argument("--quiz-target", type=float, default=TARGET_QUIZ_P99_S, help="p99, s")
    parser.add_argument("--url", help="load the site running there; start no server")
    parser.add_argument("--json", action="store_true", help="end with a FIGURES {...} line")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
