"""Settings come from the environment; each case runs manage.py in a fresh process."""

import ast
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import get_commands

from tests.support import postgres_service
from tests.support.live_server import ROOT, manage, site_env

HTTPS_ONLY = {"security.W004", "security.W008", "security.W012", "security.W016"}


@pytest.fixture
def env(tmp_path):
    return site_env(tmp_path)


def test_it_refuses_to_start_with_debug_off_and_no_secret_key(env):
    del env["DJANGO_SECRET_KEY"]
    result = manage(env, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in result.stderr


def test_it_reports_only_https_settings_on_the_deploy_check(env):
    result = manage(env, "check", "--deploy")
    ids = set(__import__("re").findall(r"\(([\w.]+)\)", result.stderr))
    assert ids == HTTPS_ONLY, result.stderr


def test_it_passes_the_deploy_check_with_secure_on(env):
    env["DJANGO_SECURE"] = "1"
    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_explains_a_malformed_setting(env):
    env["DJANGO_DEBUG"] = "maybe"
    result = manage(env, "check")
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be one of" in result.stderr


def test_it_reads_hosts_database_and_redis_from_the_environment(env):
    env.update(
        DJANGO_ALLOWED_HOSTS="sockets.example.org, www.sockets.example.org",
        DATABASE_URL="postgres://user:pw@db.internal:5432/sockets",
        REDIS_URL="redis://cache.internal:6379/0",
    )
    code = (
        "from django.conf import settings as s;"
        "print(s.ALLOWED_HOSTS, s.DATABASES['default']['ENGINE'],"
        " s.DATABASES['default']['HOST'], s.CHANNEL_LAYERS['default'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "['sockets.example.org', 'www.sockets.example.org']" in result.stdout
    assert "postgresql" in result.stdout and "db.internal" in result.stdout
    assert "channels_redis.pubsub.RedisPubSubChannelLayer" in result.stdout
    assert "redis://cache.internal:6379/0" in result.stdout


def test_it_defaults_to_sqlite_and_the_in_memory_channel_layer(env):
    # In a fresh process: this suite itself may run on PostgreSQL.
    del env["DATABASE_URL"]
    env.pop("REDIS_URL", None)
    code = (
        "from django.conf import settings as s; d = s.DATABASES['default'];"
        "print(d['ENGINE'], d['NAME'], d['OPTIONS'], s.CHANNEL_LAYERS['default']['BACKEND'],"
        " sep='\\n')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "django.db.backends.sqlite3",
        str(ROOT / "db.sqlite3"),
        "{'transaction_mode': 'IMMEDIATE', 'timeout': 20, "
        "'init_command': 'PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL'}",
        "channels.layers.InMemoryChannelLayer",
    ]


def test_it_gives_sqlite_options_to_sqlite_only(env):
    env["DATABASE_URL"] = "postgres://user:pw@db.internal:5432/sockets"
    code = "from django.conf import settings as s; print(s.DATABASES['default'].get('OPTIONS'))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    options = ast.literal_eval(result.stdout.strip()) or {}
    assert not {"transaction_mode", "timeout", "init_command"} & set(options), options
    # PostgreSQL's own: a connection that cannot open gives up (the outage page, quickly).
    assert options.get("connect_timeout") == 5


def test_it_serves_asgi_from_runserver():
    # Daphne's runserver, through sockets_site.devserver's (no Server header).
    from daphne.management.commands.runserver import Command as DaphneRunserver

    from sockets_site.devserver.management.commands.runserver import Command

    assert settings.INSTALLED_APPS[:2] == ["sockets_site.devserver", "daphne"]
    assert settings.ASGI_APPLICATION == "sockets_site.asgi.application"
    assert get_commands()["runserver"] == "sockets_site.devserver"
    assert issubclass(Command, DaphneRunserver)


def test_it_reads_the_log_in_limits_and_refuses_a_pair_limit_above_the_address_limit(env):
    env.update(DJANGO_LOGIN_FAILURE_LIMIT="8", DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT="30")
    env["DJANGO_LOGIN_COOLOFF_MINUTES"] = "45"
    code = (
        "from django.conf import settings as s;"
        "print(s.AXES_FAILURE_LIMIT, s.LOGIN_ADDRESS_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["8", "30", "0:45:00"], result.stderr
    env["DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT"] = "4"
    result = manage(env, "check")
    assert result.returncode != 0
    assert "DJANGO_LOGIN_FAILURE_LIMIT must be at least 1 and at most" in result.stderr


def test_it_pools_postgresql_connections_when_asked(env):
    with postgres_service.fresh_database() as url:
        env.update(DATABASE_URL=url, DATABASE_POOL="1")
        code = (
            "from django.db import connection;"
            "connection.ensure_connection();"
            "print(type(connection.pool).__name__, connection.settings_dict['CONN_MAX_AGE'])"
        )
        result = manage(env, "shell", "-v", "0", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["ConnectionPool", "0"]


def test_it_reads_the_accept_queue_limits_and_refuses_ones_the_kernel_would_not_take(env):
    env.update(PLAYGROUND_LISTEN_BACKLOG="4", PLAYGROUND_SYN_RETRIES="2")
    code = "from django.conf import settings as s; print(s.PLAYGROUND_LIMITS['listen_backlog'])"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.stdout.split() == ["4"], result.stderr
    assert manage(env, "check").returncode == 0
    env.update(PLAYGROUND_LISTEN_BACKLOG="1.5", PLAYGROUND_SYN_RETRIES="200")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "PLAYGROUND_LIMITS['listen_backlog'] must be a whole number" in result.stderr
    assert "PLAYGROUND_LIMITS['syn_retries'] may be at most 127" in result.stderr
