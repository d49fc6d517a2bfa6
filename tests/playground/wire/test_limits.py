"""The limits, declared once (playground.wire.limits): the README's configuration table
lists each with its declared words and default, the settings read every one from the
environment, and the engine settings' defaults are the settings' defaults. Plain data:
the README, the settings module and the dataclasses."""

import json
import os
import re
import subprocess
import sys
from dataclasses import fields

from django.conf import settings

from playground.checks import check_playground
from playground.wire.limits import EngineConfig, Limits
from tests.support.paths import ROOT

# The engine settings (not limits) the README's playground table also lists.
ENGINE_SETTINGS = {
    "PLAYGROUND_ADDRESS_RANGE",
    "PLAYGROUND_KERNEL_TICK",
    "PLAYGROUND_KERNEL_STATES",
    "PLAYGROUND_NETWORK_NAMESPACE",
    "PLAYGROUND_ENGINE",
    "PLAYGROUND_LOCK_FILE",
}


def readme_rows() -> dict[str, tuple[str, str]]:
    """The README's playground settings: variable -> (default, meaning), as written."""
    text = (ROOT / "README.md").read_text()
    table = text.split("### The socket playground", 1)[1].split("\n\n|", 1)[1]
    table = table.split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(PLAYGROUND_\w+)` \| (.+?) \| (.+) \|$", table, re.M)
    return {name: (default, meaning) for name, default, meaning in rows}


def test_it_lists_every_limit_in_the_readme_with_its_words_and_default():
    rows = readme_rows()
    limits = {f"PLAYGROUND_{f.name.upper()}": f for f in fields(Limits)}
    assert set(rows) - ENGINE_SETTINGS == set(limits)
    for name, limit in limits.items():
        assert rows[name] == (f"`{limit.default}`", limit.metadata["doc"]), name
        # The words say what the check takes: what 0 means where it may be 0, the most.
        assert ("`0`" in limit.metadata["doc"]) == limit.metadata["may_be_zero"], name
        if limit.metadata["max"] is not None:
            assert f"at most {limit.metadata['max']}" in limit.metadata["doc"], name


def test_it_spells_the_engine_defaults_once():
    rows = readme_rows()
    assert rows["PLAYGROUND_ADDRESS_RANGE"][0] == f"`{EngineConfig.address_range}`"
    assert rows["PLAYGROUND_KERNEL_TICK"][0] == f"`{EngineConfig.kernel_tick}`"
    # Written out only there: the settings read the dataclass's.
    assert (ROOT / "README.md").read_text().count(EngineConfig.address_range) == 1
    assert EngineConfig.address_range not in (ROOT / "sockets_site" / "settings.py").read_text()


def test_it_reads_every_limit_from_the_environment():
    assert list(settings.PLAYGROUND_LIMITS) == [f.name for f in fields(Limits)]
    env = {**os.environ, "PLAYGROUND_IDLE_TIMEOUT": "12.5", "PLAYGROUND_PAYLOAD_PREVIEW": "0"}
    for name in ("PLAYGROUND_COMMAND_BURST", "PLAYGROUND_ADDRESS_RANGE"):
        env.pop(name, None)
    code = (
        "import json; from sockets_site import settings as s; "
        "print(json.dumps([s.PLAYGROUND_LIMITS, s.PLAYGROUND_ADDRESS_RANGE]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    limits, address_range = json.loads(result.stdout)
    assert limits["idle_timeout"] == 12.5 and limits["payload_preview"] == 0
    assert limits["command_burst"] == Limits.command_burst
    assert address_range == EngineConfig.address_range


def test_it_validates_each_limit_by_its_metadata_in_the_system_check(settings):
    def refused(name, value) -> list[str]:
        settings.PLAYGROUND_LIMITS = {**defaults, name: value}
        return [message.id for message in check_playground()]

    defaults = dict(settings.PLAYGROUND_LIMITS)
    for limit in fields(Limits):
        rule, name = limit.metadata, limit.name
        assert ("playground.E002" in refused(name, 0)) != rule["may_be_zero"], name
        assert refused(name, -1) == ["playground.E002"], name
        assert ("playground.E012" in refused(name, limit.default + 0.5)) == rule["whole"], name
        if rule["max"] is not None:
            assert refused(name, rule["max"]) == [] and refused(name, rule["max"] + 1) == [
                "playground.E014"
            ], name
        if rule["min"] is not None:
            assert refused(name, rule["min"] - 0.5) == ["playground.E004"], name
