"""The attempt limit against real concurrent submissions: two Daphne processes on
one database, twelve quiz pages of one learner submitted at the same moment.

Runs on SQLite and on PostgreSQL, in a fresh database (tests/support/postgres_service.py:
skipped with an install hint when no server answers, failed in CI).
"""

import threading
from contextlib import contextmanager

import pytest

from tests.support.live_server import DaphneServer
from tests.support.postgres_service import fresh_database
from tests.support.site_visitor import Browser, field

PAGES = 12
LIMIT = 2
QUIZ = "/quizzes/ports-quiz/"


@contextmanager
def database(kind, workdir):
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'db.sqlite3'}"
    else:
        with fresh_database("sockets_race") as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_it_holds_the_attempt_limit_against_simultaneous_submissions(kind, tmp_path):
    with (
        database(kind, tmp_path) as url,
        DaphneServer(tmp_path, DATABASE_URL=url) as first,
        DaphneServer(tmp_path, prepare=False, DATABASE_URL=url) as second,
    ):
        setup = (
            "from django.contrib.auth.models import User; from lessons.models import Quiz; "
            "User.objects.create_user('ada', password='correct-horse-battery'); "
            f"Quiz.objects.filter(slug='ports-quiz').update(max_attempts={LIMIT})"
        )
        assert first.manage("shell", "-c", setup).returncode == 0
        servers = [first, second]

        ada = Browser(first)
        login = ada.request("/accounts/login/")[2]
        status, _, _ = ada.request(
            "/accounts/login/",
            {
                "username": "ada",
                "password": "correct-horse-battery",
                "csrfmiddlewaretoken": field(login, "csrfmiddlewaretoken"),
            },
        )
        assert status == 302
        pages = [ada.request(QUIZ, server=servers[i % 2])[2] for i in range(PAGES)]
        forms = [
            {
                "token": field(page, "token"),
                "csrfmiddlewaretoken": field(page, "csrfmiddlewaretoken"),
            }
            for page in pages
        ]
        assert len({form["token"] for form in forms}) == PAGES

        start = threading.Barrier(PAGES)
        results = [None] * PAGES

        def submit(i):
            start.wait()
            results[i] = ada.request(QUIZ, forms[i], server=servers[i % 2])

        threads = [threading.Thread(target=submit, args=(i,)) for i in range(PAGES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        statuses = [status for status, _, _ in results]
        assert statuses == [302] * PAGES, [page[:300] for _, _, page in results]
        recorded = [location for _, location, _ in results if "/attempts/" in location]
        refused = [location for _, location, _ in results if location == QUIZ]
        assert (len(recorded), len(refused)) == (LIMIT, PAGES - LIMIT)
        count = "from lessons.models import Attempt; print(Attempt.objects.count())"
        assert first.manage("shell", "--no-imports", "-c", count).stdout.strip() == str(LIMIT)
        # The refused learner is told, on the page they land on.
        closed = ada.request(QUIZ)[2]
        assert "these answers were not recorded" in closed
        assert f"You have used all {LIMIT} attempts" in closed
        for server in (first, second):
            assert not [line for line in server.log if "Traceback" in line], server.log
