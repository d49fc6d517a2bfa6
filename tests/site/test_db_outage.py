"""A database outage met calmly: a real PostgreSQL database cut off under a real Daphne
(its connections ended with pg_terminate_backend and new ones refused) while a learner
submits a quiz in Chromium. The learner gets a plain 503 page that keeps their answers,
sends them again when the database is back, and the attempt is recorded once; the log
says the outage once and its end once, with no traceback (sockets_site.outage).

Runs wherever the other live PostgreSQL tests run (tests/support/postgres_service.py: skipped
with an install hint when no server answers, failed in CI).
"""

import json
import re
import urllib.parse
from contextlib import contextmanager

import psycopg
import pytest
from playwright.sync_api import expect

from tests.support.browser_pages import answer_every_question, new_page, visiting
from tests.support.live_server import DaphneServer
from tests.support.postgres_service import fresh_database, with_database
from tests.support.raw_websocket import RawWebSocket

QUIZ = "/quizzes/ports-quiz/"
KEPT = "Your answers are kept on this page. Press Try again when the site is back."


@contextmanager
def outage(url: str):
    """The database `url` cut off: every connection to it ended, and new ones refused,
    until the block ends."""
    name = urllib.parse.urlparse(url).path.lstrip("/")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def recorded_answers(site) -> list[dict]:
    code = (
        "import json; from lessons.models import Attempt\n"
        "print(json.dumps([{f'q{a.question_id}': [a.choice_ids, a.text, a.number]"
        " for a in t.answers.all()} for t in Attempt.objects.all()]))"
    )
    result = site.manage("shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def site(tmp_path):
    # Connections kept between requests, so the cut ends some in use, as in production.
    with (
        fresh_database("sockets_outage") as url,
        # Asked after every request while down (not every 5 s), so the first request
        # after the outage logs its end, as the test expects; the interval has its own
        # tests (tests/site/test_outage_rules.py).
        DaphneServer(
            tmp_path, DATABASE_URL=url, DATABASE_CONN_MAX_AGE="60", DATABASE_PROBE_SECONDS="0"
        ) as server,
    ):
        server.database_url = url
        yield server


def test_it_keeps_a_quiz_submitted_during_a_database_outage_and_records_it_once(browser, site):
    with visiting(new_page(browser, site)) as page:
        page.goto(site.url + QUIZ)
        answer_every_question(page)
        sent = page.evaluate(
            "() => [...new FormData(document.querySelector('form[data-quiz-form]'))]"
            ".filter(([name]) => /^q\\d+$/.test(name))"
        )
        assert sent
        login = new_page(browser, site)
        login.goto(site.url + "/accounts/login/")
        login.get_by_label("Username").fill("ada")
        login.get_by_label("Password").fill("correct-horse-battery")
        with outage(site.database_url):
            # A log-in sent meanwhile never has its password written into the page.
            login.get_by_role("button", name="Log in").click()
            expect(login.get_by_text("Passwords are not kept on this page")).to_be_visible()
            assert "correct-horse-battery" not in login.content()
            login.context.close()
            with page.expect_response(lambda r: r.request.method == "POST") as answered:
                page.get_by_role("button", name="Submit answers").click()
            response = answered.value
            assert response.status == 503 and response.headers["retry-after"]
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "The site is unavailable for a moment"
            )
            expect(page.get_by_text(KEPT)).to_be_visible()
            # Still down: trying again keeps them again (and says nothing more in the log).
            with page.expect_response(lambda r: r.request.method == "POST") as answered:
                page.get_by_role("button", name="Try again").click()
            assert answered.value.status == 503
            expect(page.get_by_text(KEPT)).to_be_visible()
            assert page.request.get(site.url + "/").status == 503
            # A playground tab reconnecting meanwhile (its session needs the database)
            # is refused, quietly.
            ws = RawWebSocket(
                site.host, site.port, "/ws/playground/", site.url, f"sessionid={'k' * 32}"
            )
            assert ws.status == 403
            ws.sock.close()
        page.get_by_role("button", name="Try again").click()
        page.wait_for_url(re.compile(r"/attempts/\d+/$"))
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    attempts = recorded_answers(site)
    assert len(attempts) == 1
    for name, value in sent:
        choice_ids, text, number = attempts[0][name]
        assert value in [str(c) for c in choice_ids] or value == text or float(value) == number
    log = "".join(site.log)
    assert log.count("The database is unreachable") == 1, log
    assert log.count("The database is reachable again") == 1, log
    assert "Traceback" not in log and "Service Unavailable" not in log, log


@pytest.mark.parametrize("forwarded", ["203.0.113.9:4711", "unknown"])
def test_it_lets_a_learner_log_in_behind_a_proxy_that_forwards_no_plain_address(
    browser, tmp_path, forwarded
):
    # The throttle keeps the client's address in an inet column, which refuses
    # anything but an address (sockets_site.client_ip).
    with (
        fresh_database("sockets_proxy") as url,
        DaphneServer(tmp_path, DATABASE_URL=url, DJANGO_BEHIND_PROXY="1") as server,
    ):
        page = new_page(browser, server, extra_http_headers={"X-Forwarded-For": forwarded})
        with visiting(page):
            page.goto(server.url + "/accounts/login/")
            page.get_by_label("Username").fill("ada")
            page.get_by_label("Password").fill("not-her-password")
            with page.expect_response(lambda r: r.request.method == "POST") as answered:
                page.get_by_role("button", name="Log in").click()
            assert answered.value.status == 200
            expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
