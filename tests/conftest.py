import shutil
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from playground import engines
from tests.support import postgres_service
from tests.support.live_server import DaphneServer
from tests.support.redis_service import RedisServer
from tests.support.services import missing


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """On PostgreSQL, tests that use the database need the server: skip them with an
    install hint when it does not answer, fail them in CI (pytest-django's hook)."""
    if postgres_service.suite_runs_on_postgres():
        postgres_service.require_postgres()


@pytest.fixture(autouse=True)
def _close_async_orm_connections():
    """After each test, close the database connections of the thread that runs async
    tests' ORM calls (channels' test communicator keeps consumers from closing them):
    on PostgreSQL an open one would keep pytest-django from dropping the test database."""
    yield
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()


@pytest.fixture
def course(db):
    """The real course, loaded from the repository's content files."""
    call_command("load_course", verbosity=0)


@pytest.fixture(autouse=True)
def _progress_snapshots(settings):
    """The suite is one process, so its local-memory cache is shared: the learner's
    progress snapshots (lessons.learner_state) are read as on a site with Redis."""
    settings.PROGRESS_SNAPSHOTS = True


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with no cached page parts: a rolled-back test sends no signal."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def content_dir(tmp_path):
    """A private copy of the content files that a test may edit."""
    target = tmp_path / "content"
    shutil.copytree(settings.COURSE_CONTENT_DIR, target)
    return target


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        "editor", password="a-long-staff-password", is_staff=True, is_superuser=True
    )


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def student_client(client, django_user_model):
    student = django_user_model.objects.create_user("student", password="a-student-password")
    client.force_login(student)
    return client


@pytest.fixture(scope="session")
def daphne_server(tmp_path_factory):
    """The real site under Daphne with debug off, its own database and static files.

    Every browser test is a new session with a sandbox, all from 127.0.0.1, each kept
    for the grace period after its page closes: more than one address may hold at once
    by default (20), which tests of that quota check on servers of their own."""
    with DaphneServer(
        tmp_path_factory.mktemp("daphne"), PLAYGROUND_SANDBOXES_PER_ADDRESS="200"
    ) as server:
        yield server


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright, which cannot download its own browsers here.

    Per module: Playwright's event loop stays current while it runs, which would
    break the asyncio tests in the modules after it.
    """
    if not Path(CHROMIUM).exists():
        message = (
            f"Browser tests need Chromium at {CHROMIUM}: install it with "
            "`sudo apt-get install chromium` (CI installs it in .ci/run)."
        )
        missing(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, daphne_server):
    """A fresh visitor's desktop page on the Daphne site (tests.support.browser_pages.new_page):
    any script error or CSP refusal fails the test."""
    from tests.support.browser_pages import new_page, visiting

    with visiting(new_page(browser, daphne_server)) as page:
        yield page


@pytest.fixture
def phone(browser, daphne_server):
    """The same at a phone's size (PHONE_OPTIONS)."""
    from tests.support.browser_pages import PHONE_OPTIONS, new_page, visiting

    with visiting(new_page(browser, daphne_server, **PHONE_OPTIONS)) as page:
        yield page


@pytest.fixture
async def engine(tmp_path):
    """The sandbox engine on real sockets, in the test address range (playground_helpers)."""
    from tests.support.playground_helpers import Engine

    engine = await Engine(tmp_path / "addresses.lock").open()
    yield engine
    await engine.aclose()


@pytest.fixture(scope="module")
def redis_server():
    """A redis-server of the module's own, on a free port (the pool engine's tests)."""
    with RedisServer() as server:
        yield server


@pytest.fixture
async def registry():
    """Closes the test's sandboxes at the end; yields a getter for the registry."""
    yield lambda: engines.get_engine().registry
    await engines.close_engines()
