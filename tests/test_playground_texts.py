"""The playground's words: every error code the server can send links to a glossary
entry that names it, the ss view prints states as ss does, and every guided experiment
links to and from its lesson."""

import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from playground.kernel import TCP_STATES, UDP_STATES

ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND = ROOT / "playground"
SCRIPT = (PLAYGROUND / "static" / "playground" / "playground.js").read_text()
# Where error codes are raised or sent; engine code is read, never imported for this.
SOURCES = [
    "sandbox.py",
    "protocol.py",
    "engines/local.py",
    "engines/pool/engine.py",
    "engines/pool/presence.py",
    "engines/pool/quotas.py",
    "consumer.py",
    "quotas.py",
    "registry.py",
    "explain.py",
    "events.py",
    "labs.py",
    "lab_checks.py",
]
CODE_PATTERNS = [
    r"(?:SandboxError|ProtocolError)\(\s*\"(\w+)\"",
    r"\"code\":\s*\"(\w+)\"",
    r"(?:_|\.)error\(\s*\"(\w+)\"",
    r"return \"(\w+)\",",  # explain.os_error's (code, message) pairs
]


def experiments() -> list[dict]:
    """The guided experiments as the course files declare them (load_course loads them)."""
    folder = Path(settings.COURSE_CONTENT_DIR) / "experiments"
    return [
        {"id": path.stem, **yaml.safe_load(path.read_text())}
        for path in sorted(folder.glob("*.yaml"))
    ]


def sent_codes() -> set[str]:
    codes = set()
    for name in SOURCES:
        text = (PLAYGROUND / name).read_text()
        for pattern in CODE_PATTERNS:
            codes.update(re.findall(pattern, text))
    documented = (ROOT / "docs" / "playground-protocol.md").read_text()
    table = documented.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    # The documented codes too: the first column of the protocol's error table.
    for cell in re.findall(r"^\| ([^|]+) \|", table, re.M):
        codes.update(re.findall(r"`(\w+)`", cell))
    return codes


def js_object(name: str) -> dict[str, str]:
    body = SCRIPT.split(f"const {name} = {{", 1)[1].split("\n};", 1)[0]
    return dict(re.findall(r"^\s+(\w+): \"([^\"]+)\",", body, re.M))


def glossary() -> dict[str, str]:
    entries = yaml.safe_load((Path(settings.COURSE_CONTENT_DIR) / "glossary.yaml").read_text())
    return {
        e["slug"]: " ".join([e["term"], *(e.get("aliases") or []), e["definition"]])
        for e in entries
    }


def test_it_finds_the_error_codes_the_playground_can_send():
    codes = sent_codes()
    for code in ("EADDRINUSE", "ECONNREFUSED", "EPIPE", "no_receiver", "limit_descriptors"):
        assert code in codes
    assert "bad_json" in codes and "limit_websockets_per_session" in codes


def test_it_links_every_error_code_to_a_glossary_entry_that_names_it():
    links = js_object("GLOSSARY")
    entries = glossary()
    for code in sorted(sent_codes()):
        assert code in links, f"{code} has no glossary link in playground.js"
        slug = links[code]
        assert slug in entries, f"{code} links to #{slug}, which is not in the glossary"
        assert re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", entries[slug]), (code, slug)


def test_it_links_any_other_operating_system_error_to_the_errno_entry():
    # explain.os_error names any other errno it meets, e.g. EADDRNOTAVAIL.
    assert (
        'name = errno.errorcode.get(exc.errno, "OSError")'
        in (PLAYGROUND / "explain.py").read_text()
    )
    assert "const ERRNO_NAME = /^E[A-Z0-9]+$/;" in SCRIPT
    assert 'ERRNO_NAME.test(code || "") ? "errno" : null' in SCRIPT
    entry = glossary()["errno"]
    assert "EADDRNOTAVAIL" in entry and "operating system's own message" in entry


def test_it_prints_states_in_the_ss_view_as_ss_does():
    names = js_object("SS_STATES")
    for state in {*TCP_STATES.values(), *UDP_STATES.values()}:
        assert state in names, state
        assert "_" not in names[state], (state, names[state])
    assert names["TIME_WAIT"] == "TIME-WAIT"
    assert names["FIN_WAIT2"] == "FIN-WAIT-2"
    assert names["CLOSE_WAIT"] == "CLOSE-WAIT"
    assert names["ESTABLISHED"] == "ESTAB"
    assert "const st = ssState(row.state);" in SCRIPT


def test_it_never_says_a_listener_will_get_a_remote_address():
    for experiment in experiments():
        text = " ".join(step["text"] for step in experiment["steps"])
        assert not re.search(r"remote address,? yet|not yet", text, re.I), experiment["id"]
    assert "A listening socket never has a remote address" in SCRIPT


@pytest.mark.django_db
def test_it_links_each_experiment_to_its_lesson_section_and_back(client, course):
    ids = {e["id"] for e in experiments()}
    assert {"connection-refused", "handshake-packets", "who-waits", "reset-connection"} <= ids
    pages = {}
    for experiment in experiments():
        lesson, section = experiment["teaches"].split("#")
        assert lesson == experiment["lesson"]
        page = pages.setdefault(lesson, client.get(f"/lessons/{lesson}/").content.decode())
        after = page.split(f'id="{section}"', 1)[1]
        here = re.split(r"<h2 id=", after, maxsplit=1)[0]
        assert f'href="/playground/?experiment={experiment["id"]}"' in here, experiment["id"]
    # The page links back with the experiment's `teaches`, which the server's hello lists.
    assert 'link.href = `/lessons/${lesson}/${section ? `#${section}` : ""}`;' in SCRIPT
