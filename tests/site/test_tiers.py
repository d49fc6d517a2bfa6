"""The suite's tiers (tests/conftest.py sets the markers, pyproject.toml registers them):
what `pytest -m` selects, asked of pytest itself, collecting in a fresh process.

A browser test carries `browser` and `live`, a deploy test `services` and `live`; the
fast tier (`make test-fast`) holds no test of tests/browser/ or tests/deploy/ and no
slow one; every marker the suite uses is registered (--strict-markers refuses a
collection with one that is not)."""

import functools
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests import conftest

ROOT = Path(__file__).resolve().parents[2]
FAST = "not live and not browser and not slow and not services"
FOLDERS = ("tests/browser", "tests/deploy")
TIME_WAIT = "tests/playground/sandbox/test_sandbox.py"
# pytest's own markers and its plugins' (pytest-django, pytest-asyncio).
PLUGIN_MARKERS = {
    "parametrize",
    "skip",
    "skipif",
    "xfail",
    "usefixtures",
    "filterwarnings",
    "django_db",
    "urls",
    "ignore_template_errors",
    "asyncio",
}


@functools.cache
def selected(expression: str, *paths: str) -> frozenset[str]:
    """The ids of the tests under `paths` that `-m expression` selects."""
    command = (sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider")
    run = subprocess.run(
        [*command, "-m", expression, *paths], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    # 5: nothing selected, an answer too; anything else is a collection that failed.
    assert run.returncode in (0, 5), run.stdout[-3000:] + run.stderr[-3000:]
    return frozenset(line for line in run.stdout.splitlines() if "::" in line)


def under(folder: str, tests) -> set[str]:
    return {test for test in tests if test.startswith(folder + "/")}


def test_it_marks_every_browser_test_browser_and_live():
    unmarked = selected("not (browser and live)", *FOLDERS)
    assert under("tests/deploy", unmarked)  # the folders were collected
    assert not under("tests/browser", unmarked)


def test_it_marks_every_deploy_test_services_and_live():
    unmarked = selected("not (services and live)", *FOLDERS)
    assert under("tests/browser", unmarked)
    assert not under("tests/deploy", unmarked)


def test_it_keeps_browser_deploy_and_slow_tests_out_of_the_fast_tier():
    assert selected(FAST, *FOLDERS) == frozenset()
    slow = selected("slow", TIME_WAIT)
    assert (
        f"{TIME_WAIT}::test_it_keeps_closed_sockets_the_kernel_still_holds_until_it_drops_them"
        in slow
    )
    assert selected(FAST, TIME_WAIT) and not selected(FAST, TIME_WAIT) & slow


def test_it_registers_every_marker_it_sets():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]
    registered = {line.split(":")[0] for line in options["ini_options"]["markers"]}
    set_here = {
        marker
        for markers in [*conftest.FOLDER_MARKERS.values(), *conftest.LAUNCHERS.values()]
        for marker in markers
    }
    assert set_here <= registered
    # Those the modules set themselves (`pytest.mark.slow`): --strict-markers would stop
    # any run that collects one not registered, this says which.
    written = {
        name
        for path in (ROOT / "tests").rglob("*.py")
        for name in re.findall(r"pytest\.mark\.(\w+)", path.read_text())
    }
    assert written <= registered | PLUGIN_MARKERS, written - registered - PLUGIN_MARKERS
