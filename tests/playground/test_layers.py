"""The playground's layers import no Django: a folder property, proved two ways.

Rules: every module under the layer subpackages (wire, sandbox, host, capture,
labs, engines) is read (its imports, function-local ones included, parsed with
ast) and imported in a fresh interpreter; neither may reach Django, Channels or
a Django app of this project. The only project modules outside the playground a
layer may use are listed in OUTSIDE, and the fresh interpreter proves they load
no Django either. Django glue (apps, checks, conf, consumer, live, routing,
urls, views, vocabulary) stays at the top of playground/.
"""

import ast
import json
import subprocess
import sys

import pytest

from tests.support.paths import ROOT

LAYERS = ("wire", "sandbox", "host", "capture", "labs", "engines")
# Django and everything that imports it, including this project's apps and the
# playground's own glue modules at the top of the package.
FORBIDDEN = ("django", "channels", "daphne", "lessons", "labs", "accounts", "review")
GLUE = ("apps", "checks", "conf", "consumer", "live", "routing", "urls", "views", "vocabulary")
OUTSIDE = ("sockets_site.networks", "sockets_site.outage_notice")


def layer_modules() -> list[str]:
    names = []
    for layer in LAYERS:
        for path in sorted((ROOT / "playground" / layer).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def imported(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def breaks_the_rule(name: str) -> bool:
    top = name.split(".")[0]
    if top in FORBIDDEN:
        return True
    if top == "sockets_site":  # the package itself is empty; its modules are not
        return name != top and not any(
            name == allowed or name.startswith(allowed + ".") for allowed in OUTSIDE
        )
    parts = name.split(".")
    return top == "playground" and len(parts) > 1 and parts[1] in GLUE


@pytest.mark.parametrize("layer", LAYERS)
def test_it_finds_no_django_import_in_the_layer_s_source(layer):
    offending = {}
    for path in sorted((ROOT / "playground" / layer).rglob("*.py")):
        bad = sorted(name for name in imported(path) if breaks_the_rule(name))
        if bad:
            offending[str(path.relative_to(ROOT))] = bad
    assert offending == {}


def test_it_imports_every_layer_module_without_loading_django():
    program = (
        "import importlib, json, sys\n"
        f"for name in {layer_modules()!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=True
    )
    tops = set(json.loads(loaded.stdout))
    assert tops.isdisjoint(FORBIDDEN), sorted(tops & set(FORBIDDEN))


def test_it_would_notice_a_django_import_in_a_layer(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text("def later():\n    from django.conf import settings\n    return settings\n")
    assert any(breaks_the_rule(name) for name in imported(planted))
    assert breaks_the_rule("playground.consumer")
    assert not breaks_the_rule("playground.wire.events")
