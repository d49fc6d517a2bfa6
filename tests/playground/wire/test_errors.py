"""The error codes, declared once (playground.wire.errors): the protocol's reference
lists exactly them, each links to a glossary entry that names it and names only
limits that exist, a SandboxError refuses any other code, and a refused attach closes
the WebSocket with its code's close code. Plain data and real objects, no server."""

import ast
import re
from dataclasses import fields

import yaml

from playground.consumer import refusal_close_code
from playground.wire.errors import ERRORS, SandboxError, lookup
from playground.wire.limits import Limits
from tests.support.paths import ROOT


def documented_codes() -> list[str]:
    """The codes in the first column of docs/playground-protocol.md's error table."""
    text = (ROOT / "docs" / "playground-protocol.md").read_text()
    table = text.split("## Error codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([^|]+) \|", table, re.M)
    return [code for cell in rows[1:] for code in re.findall(r"`(\w+)`", cell)]


def glossary() -> dict[str, str]:
    entries = yaml.safe_load((ROOT / "lessons" / "content" / "glossary.yaml").read_text())
    return {
        e["slug"]: " ".join([e["term"], *(e.get("aliases") or []), e["definition"]])
        for e in entries
    }


def test_it_documents_exactly_the_codes_it_declares():
    assert set(documented_codes()) == set(ERRORS)


def test_it_links_every_code_to_a_glossary_entry_that_names_it():
    entries = glossary()
    for code, error in ERRORS.items():
        assert error.glossary in entries, f"{code} links to #{error.glossary}, not in the glossary"
        named = re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", entries[error.glossary])
        assert named, (code, error.glossary)


def test_it_names_only_limits_that_exist():
    names = {f.name for f in fields(Limits)}
    for code, error in ERRORS.items():
        assert error.limit is None or error.limit in names, code


def test_it_refuses_a_code_it_does_not_declare():
    assert SandboxError("limit_sockets", "Too many.").code == "limit_sockets"
    # Any other operating-system error comes under its errno name (explain.os_error).
    assert SandboxError("EADDRNOTAVAIL", "No such address.").code == "EADDRNOTAVAIL"
    assert lookup("EADDRNOTAVAIL").glossary == "errno"
    for code in ("limit_everything", "eaddrinuse", ""):
        try:
            SandboxError(code, "Made up.")
        except ValueError as refused:
            assert repr(code) in str(refused)
        else:
            raise AssertionError(f"{code!r} was taken")


def test_it_closes_a_refused_attach_with_its_code_s_close_code():
    def closed_with(code, **extra):
        return refusal_close_code(SandboxError(code, "Refused.", **extra))

    assert closed_with("limit_sandboxes", limit="sandboxes_per_process") == 4503
    assert closed_with("limit_addresses") == 4503
    assert closed_with("limit_sandboxes_per_address", limit="sandboxes_per_address") == 4429
    assert closed_with("limit_websockets_per_session", limit="websockets_per_session") == 4429
    # A pool's refusal for now, whatever its code; any other refusal: the playground is full.
    assert closed_with("limit_sandboxes", limit="processes") == 4012
    assert closed_with("internal_error") == 4503


# The calls that name an error code as their first argument, and explain.py's returns.
RAISERS = {"SandboxError", "ProtocolError", "error"}


def codes_in_source() -> dict[str, str]:
    """Every literal error code the playground's code names, with where: read, not run,
    so a code in a path no test takes is still found."""
    found = {}
    for path in sorted((ROOT / "playground").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                owner = getattr(getattr(node.func, "value", None), "id", None)
                first = node.args[0]
                logged = owner in ("log", "logger", "logging")  # log.error(...) is a log line
                if name in RAISERS and not logged and isinstance(first, ast.Constant):
                    found[first.value] = f"{path.relative_to(ROOT)}:{node.lineno}"
            if path.name == "explain.py" and isinstance(node, ast.Return):
                value = node.value
                if isinstance(value, ast.Tuple) and isinstance(value.elts[0], ast.Constant):
                    found[value.elts[0].value] = f"{path.relative_to(ROOT)}:{node.lineno}"
    return found


def test_it_declares_every_error_code_the_code_names():
    found = codes_in_source()
    assert len(found) > 30  # the scan reads the calls it means to
    undeclared = {}
    for code, where in found.items():
        try:
            lookup(code)
        except ValueError:
            undeclared[code] = where
    assert undeclared == {}


def test_it_would_find_an_undeclared_code_in_a_rarely_taken_path(tmp_path, monkeypatch):
    planted = tmp_path / "playground" / "planted.py"
    planted.parent.mkdir()
    planted.write_text('def later():\n    raise SandboxError("no_such_code", "never sent")\n')
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert codes_in_source() == {"no_such_code": "playground/planted.py:2"}
