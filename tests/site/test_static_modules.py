"""The site's ES modules after collectstatic: each relative `import` names the hashed
file of the module it imports, which the same collect wrote (sockets_site.storage).
Without the rewrite a page would load its script by its hashed name, cached for good,
and the modules that script imports by their plain names, which change under it at
the next deploy: one page would run two versions of the playground at once."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
from django.core.management import call_command
from django.test import override_settings

from sockets_site.storage import MODULE_FOLDERS
from tests.support.paths import ROOT

STORAGE = "sockets_site.storage.ModuleImportsStorage"
# `import … from "./x.js"`, `export … from "./x.js"` and `import "./x.js"`: relative only.
IMPORT = re.compile(r"""(?:^|;|\n)\s*(?:import|export)\b[^;"']*?["'](\.{1,2}/[^"']+)["']""")
HASHED = re.compile(r"\.[0-9a-f]{12}\.js$")


def source(name: str) -> str:
    """A module as its app has it: playground/… or lessons/… under the app's static/."""
    app = name.split("/", 1)[0]
    return (ROOT / app / "static" / name).read_text()


def collect(root: Path) -> dict[str, str]:
    """collectstatic into `root` with the site's module storage: its manifest's paths."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": STORAGE},
    }
    with override_settings(STATIC_ROOT=root, STORAGES=storages):
        call_command("collectstatic", "--noinput", verbosity=0)
    return json.loads((root / "staticfiles.json").read_text())["paths"]


@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """One collect for the module's tests: its root and its manifest's paths."""
    root = tmp_path_factory.mktemp("static")
    return root, collect(root)


def test_it_points_every_relative_import_at_a_hashed_module_of_the_same_collect(collected):
    tmp_path, paths = collected
    # Every script of the folders the storage rewrites (MODULE_FOLDERS), its own
    # subfolders' modules included (lessons/admin/check_editor/…).
    modules = [name for name in paths if name.endswith(".js") and name.startswith(MODULE_FOLDERS)]
    assert {
        "playground/main.js",
        "playground/lesson-panel.js",
        "playground/timeline.js",
        "lessons/admin/check_editor.js",
        "lessons/admin/check_editor/part.js",
    } <= set(modules)
    hashed = set(paths.values())
    for name in modules:
        text = (tmp_path / paths[name]).read_text()
        folder = PurePosixPath(paths[name]).parent
        imports = IMPORT.findall(text)
        # Each import of the source is still there, by its hashed name.
        assert len(imports) == len(IMPORT.findall(source(name))), name
        for target in imports:
            resolved = os.path.normpath(folder / target)
            assert HASHED.search(target), (name, target)
            assert resolved in hashed and (tmp_path / resolved).is_file(), (name, target)
    lesson = (tmp_path / paths["lessons/lesson.js"]).read_text()
    assert f'"../{paths["playground/lesson-panel.js"]}"' in lesson
    editor = (tmp_path / paths["lessons/admin/check_editor.js"]).read_text()
    assert f'"./{paths["lessons/admin/check_editor/editor.js"].split("/", 2)[2]}"' in editor


def test_it_leaves_other_apps_scripts_as_they_come(collected):
    tmp_path, paths = collected
    # A script that says `import` where it imports no module: rewritten, it would name
    # a file that is not there, and collectstatic would fail.
    sortable = "nested_admin/src/nested-admin/sortable.js"
    assert (tmp_path / paths[sortable]).read_text() == (tmp_path / sortable).read_text()


def test_it_collects_with_the_module_storage_when_the_site_runs_without_debug():
    env = {**os.environ, "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "test-" + "k" * 60}
    code = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    env["DJANGO_SETTINGS_MODULE"] = "sockets_site.settings"
    backend = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert backend == STORAGE
