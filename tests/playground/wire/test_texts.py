"""The playground's words: the page carries the vocabulary the server's registries
define (playground.vocabulary: every error code with its glossary entry, every state as
ss prints it, the flags, the ops) and its scripts write none of it again, and every
guided experiment links to and from its lesson. The registries' own checks are in
test_errors.py (every code the server can send, and the glossary entry naming it) and
test_ops.py (the ops' forms and words)."""

import json
import re
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from playground.host.kernel import TCP_STATES, UDP_STATES
from playground.vocabulary import vocabulary
from playground.wire.errors import ERRORS
from playground.wire.protocol import page_ops
from tests.support.paths import ROOT

PLAYGROUND = ROOT / "playground"
MODULES = PLAYGROUND / "static" / "playground"
# What ss(8) prints for each state the kernel or the playground gives a socket.
SS_NAMES = {
    "ESTABLISHED": "ESTAB",
    "SYN_SENT": "SYN-SENT",
    "SYN_RECV": "SYN-RECV",
    "NEW_SYN_RECV": "SYN-RECV",
    "FIN_WAIT1": "FIN-WAIT-1",
    "FIN_WAIT2": "FIN-WAIT-2",
    "TIME_WAIT": "TIME-WAIT",
    "CLOSE": "UNCONN",
    "CLOSE_WAIT": "CLOSE-WAIT",
    "LAST_ACK": "LAST-ACK",
    "LISTEN": "LISTEN",
    "CLOSING": "CLOSING",
    "UNCONN": "UNCONN",
}


def script(name: str) -> str:
    """One of the playground's modules (static/playground/), by its path there."""
    return (MODULES / name).read_text()


def experiments() -> list[dict]:
    """The guided experiments as the course files declare them (load_course loads them)."""
    folder = Path(settings.COURSE_CONTENT_DIR) / "experiments"
    return [
        {"id": path.stem, **yaml.safe_load(path.read_text())}
        for path in sorted(folder.glob("*.yaml"))
    ]


def glossary() -> dict[str, str]:
    entries = yaml.safe_load((Path(settings.COURSE_CONTENT_DIR) / "glossary.yaml").read_text())
    return {
        e["slug"]: " ".join([e["term"], *(e.get("aliases") or []), e["definition"]])
        for e in entries
    }


def test_it_links_every_error_code_to_the_glossary_entry_its_registry_names():
    links = vocabulary()["errors"]
    assert links == {code: error.glossary for code, error in ERRORS.items()}
    entries = glossary()
    for code, slug in links.items():
        assert slug in entries, f"{code} links to #{slug}, which is not in the glossary"


def test_it_links_any_other_operating_system_error_to_the_errno_entry():
    # explain.os_error names any other errno it meets, e.g. EADDRNOTAVAIL.
    assert (
        'name = errno.errorcode.get(exc.errno, "OSError")'
        in (PLAYGROUND / "wire" / "explain.py").read_text()
    )
    assert "const ERRNO_NAME = /^E[A-Z0-9]+$/;" in script("vocabulary.js")
    assert 'ERRNO_NAME.test(code || "") ? "errno" : null' in script("vocabulary.js")
    entry = glossary()["errno"]
    assert "EADDRNOTAVAIL" in entry and "operating system's own message" in entry


def test_it_prints_states_in_the_ss_view_as_ss_does():
    names = vocabulary()["states"]
    assert names == SS_NAMES
    assert set(names) == {*TCP_STATES.values(), *UDP_STATES.values()}
    assert "const st = ssState(row.state);" in script("views/ss.js")


def test_it_never_says_a_listener_will_get_a_remote_address():
    for experiment in experiments():
        text = " ".join(step["text"] for step in experiment["steps"])
        assert not re.search(r"remote address,? yet|not yet", text, re.I), experiment["id"]
    assert "A listening socket never has a remote address" in script("views/table.js")


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
    assert 'link.href = `/lessons/${lesson}/${section ? `#${section}` : ""}`;' in script(
        "views/steps.js"
    )


@pytest.mark.django_db
def test_it_gives_the_page_and_the_lesson_panel_the_server_s_vocabulary(client, course):
    words = vocabulary()
    assert list(words["ops"])[:2] == ["tcp.listen", "tcp.connect"] and "capture" in words["ops"]
    assert words["ops"] == page_ops()
    assert words["flags"]["SYN"] == {
        "meaning": "synchronise: open a connection",
        "letter": "S",
        "bit": 0x02,
    }
    assert words["flags"]["ACK"]["letter"] == "."
    assert list(words["flags"]) == ["SYN", "FIN", "RST", "PSH", "ACK", "URG"]
    for path in ("/playground/", "/lessons/ports/"):
        page = client.get(path).content.decode()
        sent = page.split('<script id="playground-vocabulary" type="application/json">', 1)
        assert json.loads(sent[1].split("</script>", 1)[0]) == words, path
    # The words leave the script: it reads them from the page.
    for path in MODULES.rglob("*.js"):
        text = path.read_text()
        for word in ('"eaddrinuse"', '"FIN-WAIT-1"', "synchronise: open", '"F"', "SYN again"):
            assert word not in text, (path.name, word)
    # The forms and the log read the ops' inputs and words: no switch over the ops.
    for name in ("forms.js", "views/log.js"):
        assert not re.search(r'case "(tcp|udp)\.', script(name)), name
