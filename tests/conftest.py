"""The suite's shared fixtures, and its tiers.

Tiers: every test gets the markers of what it needs, set here at collection
(pytest_collection_modifyitems), never by hand, so a new test is sorted by what it uses:
- by folder: FOLDER_MARKERS (tests/browser/ drives Chromium against a live Daphne;
  tests/deploy/ starts the deployed processes and their services);
- by what it starts: a test, a fixture it uses, or a function or class of their own
  module that they name, naming one of LAUNCHERS (a server process: Daphne, gunicorn, a
  Procfile line, any LoggedProcess: `live`; Redis, a fresh PostgreSQL database or nginx:
  `services`; Playwright: `browser` and `live`). A short-lived program run to its end
  (`manage.py check`, a lesson's script) starts no server and is in no tier;
- `django_db` when it uses the database (pytest-django's `db` and `transactional_db`,
  through any fixture, e.g. `course` or `staff_client`): pytest-django sets no marker for
  those fixtures, and `make test` reruns only `-m "django_db and not browser and not live"`
  on PostgreSQL.
`slow` is set by hand, as a decorator in the module, on a test that waits on a real
clock (a 60 s TIME_WAIT, a slow reader's close, a lease's expiry after a SIGKILL).
Every marker is registered in pyproject.toml (--strict-markers); tests/site/test_tiers.py
checks the selections.

The course is read from its files once per session (`course` then restores those rows,
a fraction of the cost of parsing the YAML again); outside `course` the database starts
as empty as before.
"""

import inspect
import shutil
import types
from pathlib import Path

import pytest
from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction

from playground import engines
from tests.support import postgres_service
from tests.support.live_server import DaphneServer
from tests.support.redis_service import RedisServer
from tests.support.services import missing

TESTS = Path(__file__).resolve().parent
FOLDER_MARKERS = {"browser": ("browser", "live"), "deploy": ("services", "live")}
LAUNCHERS = {
    "DaphneServer": ("live",),
    "LoggedProcess": ("live",),
    "ProcfileProcess": ("live",),
    "GunicornServer": ("live",),
    # A site built in a subprocess (migrated, course loaded) for a server to run.
    "prepare_site": ("live",),
    "RedisServer": ("services",),
    "fresh_database": ("services",),
    "write_nginx_config": ("services",),
    "NginxServer": ("services",),
    "sync_playwright": ("browser", "live"),
}
# pytest-django's own fixture under `db`, `transactional_db` and the django_db marker.
DATABASE_FIXTURE = "_django_db_helper"


def _names_read(function, seen: set) -> set[str]:
    """The global and attribute names `function` reads, with those of the functions and
    classes of its own module that it names (a module's `server()` helper, say)."""
    function = inspect.unwrap(function)
    code = getattr(function, "__code__", None)
    if code is None or function in seen:
        return set()
    seen.add(function)
    names, codes = set(), [code]
    while codes:
        code = codes.pop()
        names.update(code.co_names)
        codes.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    for name in list(names):
        helper = function.__globals__.get(name)
        if getattr(helper, "__module__", None) != function.__module__:
            continue
        if inspect.isclass(helper):
            for member in vars(helper).values():
                names |= _names_read(member, seen)
        elif inspect.isfunction(helper):
            names |= _names_read(helper, seen)
    return names


_launched: dict = {}


def _launched_by(function) -> set[str]:
    """The markers of the launchers that `function` (a test or a fixture) reaches."""
    if function not in _launched:
        names = _names_read(function, set())
        _launched[function] = {
            mark for name in names & LAUNCHERS.keys() for mark in LAUNCHERS[name]
        }
    return _launched[function]


def _tiers(item) -> set[str]:
    markers = set()
    path = Path(str(item.path)).resolve()
    if path.is_relative_to(TESTS):
        markers.update(FOLDER_MARKERS.get(path.relative_to(TESTS).parts[0], ()))
    functions = [item.function] if isinstance(item, pytest.Function) else []
    for definitions in item._fixtureinfo.name2fixturedefs.values():
        functions.extend(
            d.func for d in definitions if d.func.__module__.split(".")[0] == TESTS.name
        )
    for function in functions:
        markers |= _launched_by(function)
    if DATABASE_FIXTURE in item.fixturenames and not item.get_closest_marker("django_db"):
        markers.add("django_db")
    return markers


def pytest_collection_modifyitems(items):
    for item in items:
        for name in sorted(_tiers(item)):
            item.add_marker(name)


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


@pytest.fixture(scope="session")
def course_rows(django_db_setup, django_db_blocker):
    """The rows load_course writes into the empty test database, and their models: read
    once per session (parsing the files is most of a load's cost), in a transaction
    rolled back, so every test still starts without them."""
    from django.apps import apps
    from django.core import serializers

    with django_db_blocker.unblock(), transaction.atomic():
        models = apps.get_models()
        before = {model: set(model._base_manager.values_list("pk", flat=True)) for model in models}
        call_command("load_course", verbosity=0)
        written = {
            model: model._base_manager.exclude(pk__in=before[model]).order_by("pk")
            for model in models
        }
        written = {model: rows for model, rows in written.items() if rows.exists()}
        rows = serializers.serialize("python", [row for rows in written.values() for row in rows])
        transaction.set_rollback(True)
    return rows, list(written)


@pytest.fixture
def course(db, course_rows):
    """The real course, as loaded from the repository's content files: the session's
    rows saved again (each save signalled, as the loader's are), the primary-key
    sequences then moved past them (PostgreSQL does not, for explicit keys)."""
    from django.core import serializers
    from django.core.management.color import no_style

    rows, models = course_rows
    connection = connections["default"]
    with transaction.atomic():
        for row in serializers.deserialize("python", rows):
            row.save()
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)


@pytest.fixture(autouse=True)
def _progress_snapshots(settings):
    """The suite is one process, so its local-memory cache is shared: the learner's
    progress snapshots (sockets_site.learner_state) are read as on a site with Redis."""
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
