"""What tests need from the machine: a missing program skips locally, fails in CI.

Rule: a test that needs a program or service the machine lacks (Chromium,
PostgreSQL, redis-server, nginx) is skipped locally with the install hint, and
fails when CI=true, where .ci/run installs and starts what is missing.
"""

import os
import socket

import pytest


def missing(message: str):
    """Skip the test with `message`, or fail it in CI."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
