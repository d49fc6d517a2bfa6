"""A real PostgreSQL server for tests: fresh databases on it, dropped after.

The admin connection (one that may create databases) is the suite's own server when
the suite runs on PostgreSQL (DATABASE_URL=postgres://…, as `make test-postgres` sets
it), otherwise TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
Without a server answering there, a test that needs one is skipped with an install
hint, except in CI (CI=true), where it fails.

`python -m tests.support.postgres_service project-url` prints the project's database URL on
the TEST_DATABASE_URL server, for `make test-postgres`.
"""

import atexit
import functools
import os
import secrets
import sys
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import dj_database_url

from tests.support.services import missing

DEFAULT_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
PROJECT_DATABASE = "sockets"  # pytest-django makes and drops test_sockets next to it


def with_database(url: str, name: str) -> str:
    return urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()


def suite_runs_on_postgres() -> bool:
    """Whether this process's DATABASE_URL (read as the settings read it) is PostgreSQL."""
    url = os.environ.get("DATABASE_URL", "")
    return bool(url) and dj_database_url.parse(url)["ENGINE"] == "django.db.backends.postgresql"


def admin_url() -> str:
    if suite_runs_on_postgres():
        # The same server and credentials, on the maintenance database, as Django does.
        return with_database(os.environ["DATABASE_URL"], "postgres")
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_ADMIN_URL


@functools.cache
def _unavailable(url: str) -> str | None:
    """Why no PostgreSQL answers at `url`, or None when one does (asked once per run)."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (`pip install -e . --group test`)"
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as error:
        return " ".join(str(error).split())
    return None


def require_postgres(url: str | None = None) -> str:
    """The admin URL, once a server answers there; skip (fail in CI) when none does."""
    url = url or admin_url()
    reason = _unavailable(url)
    if reason:
        where = urllib.parse.urlparse(url)  # named without its password
        message = (
            f"These tests need PostgreSQL at {where.hostname}:{where.port or 5432} "
            f"({reason}). Install it with "
            "`sudo apt-get install postgresql` (CI installs and starts it in .ci/run), or "
            "point TEST_DATABASE_URL at a server where this user may create databases."
        )
        missing(message)
    return url


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(require_postgres(), autocommit=True) as admin:
        admin.execute(sql)


def create_database(prefix: str) -> str:
    """A new empty database; its URL."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    return with_database(require_postgres(), name)


def drop_database(url: str) -> None:
    # FORCE ends the connections a stopped server may have left behind.
    name = urllib.parse.urlparse(url).path.lstrip("/")
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def fresh_database(prefix: str = "sockets_test") -> Iterator[str]:
    """A new empty database's URL, dropped when the block ends."""
    url = create_database(prefix)
    try:
        yield url
    finally:
        drop_database(url)


_kept: dict[str, str] = {}


def database_for(key: str) -> str:
    """One fresh database per key (a live server's work directory), made on first use
    and dropped when this process exits, so servers sharing a directory share it."""
    if key not in _kept:
        if not _kept:
            atexit.register(_drop_kept)
        _kept[key] = create_database("sockets_live")
    return _kept[key]


def _drop_kept() -> None:
    while _kept:
        drop_database(_kept.popitem()[1])


if __name__ == "__main__":
    if sys.argv[1:] != ["project-url"]:
        sys.exit("usage: python -m tests.support.postgres_service project-url")
    print(with_database(os.environ.get("TEST_DATABASE_URL") or DEFAULT_ADMIN_URL, PROJECT_DATABASE))
