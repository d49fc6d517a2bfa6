"""The project stands on its own: a fresh clone reads nothing outside its own tree."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# This file names the patterns it looks for, so it does not check itself.
THIS_FILE = Path(__file__).resolve().relative_to(ROOT).as_posix()

# The old home of the seed article, however the path is spelt ("shared" / "seed" too).
SEED = re.compile(r"\.\./shared|\bshared\W{1,8}seed\b")
# One ".." path component; "..." (Ellipsis, spread, prose) and "1..9" are not.
UP = re.compile(r"(?<![\w.])\.\.(?![\w.])")
# Path(__file__).parent.parent, .parents[2], os.path.dirname(os.path.dirname(__file__)).
PARENT = re.compile(r"\.parent\b|\bdirname\(")
PARENTS = re.compile(r"\.parents\[(\d+)\]")

# Third-party files copied in whole, whose ".." are not paths the project reads. Each
# entry says why it is inert; an upgrade changes the path and so brings it back here.
VENDORED = {
    # The ".." are browserify's module names ("../../lib/codemirror"), mapped to numbers
    # inside the bundle itself, and one regular expression ("\\..*rv:"); the browser
    # fetches nothing by them. Its outside URLs are inert as configured by
    # lessons/static/lessons/admin/lesson_editor.js: Font Awesome (autoDownloadFontAwesome
    # false), the spell checker's dictionaries (spellChecker false), the Markdown guide
    # (its button is not in the toolbar); the rest are text in messages. The lesson admin
    # page runs under the site's Content-Security-Policy in
    # tests/browser/test_security_headers_browser.py, which would report any outside load.
    "lessons/static/lessons/admin/vendor/easymde-2.21.0/easymde.min.js",
}


def project_files() -> list[str]:
    """Every tracked or new (not ignored) file, as a fresh clone would hold them."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"needs a git work tree to list the project's files: {exc}")
        pytest.skip("not a git work tree: cannot list the project's files")
    return sorted({name for name in out.decode().split("\0") if name})


def climbs(line: str, depth: int) -> str | None:
    """Why this line reaches above the repository root, for a file `depth` folders down."""
    if SEED.search(line):
        return "names the shared seed folder outside the project"
    # Relative paths are taken from the file's own folder, the most lenient reading.
    ups = len(UP.findall(line))
    if ups > depth:
        return f"climbs {ups} folders up from a file {depth} folder(s) below the root"
    if "__file__" in line:
        # The first .parent (or dirname) is the file's folder; each further one climbs.
        up = len(PARENT.findall(line)) + sum(int(n) + 1 for n in PARENTS.findall(line)) - 1
        if up > depth:
            return f"climbs {up} folders up from __file__, {depth} folder(s) below the root"
    return None


def test_it_reads_nothing_outside_the_project():
    problems = []
    for name in project_files():
        path = ROOT / name
        if name == THIS_FILE or name in VENDORED or name.endswith(".md") or not path.is_file():
            continue  # Markdown is prose; a file deleted in the work tree is gone.
        data = path.read_bytes()
        if b"\0" in data:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        depth = name.count("/")
        for number, line in enumerate(text.splitlines(), start=1):
            reason = climbs(line, depth)
            if reason:
                problems.append(f"{name}:{number}: {reason}: {line.strip()}")
    assert problems == [], "\n".join(["Paths outside the project:", *problems])
    assert set(project_files()) >= VENDORED  # no stale exemption
    assert len(project_files()) > 50  # the listing really saw the project


@pytest.mark.parametrize(
    ("line", "depth"),
    [
        ('ARTICLE = Path(__file__).resolve().parent.parent.parent / "shared" / "seed"', 1),
        ("ARTICLE = BASE / 'shared' / 'seed' / 'sockets-article.md'", 0),
        ('open("../shared/seed/sockets-article.md")', 1),
        ('cd "$(dirname "$0")/../.."', 1),
        ('os.path.join(HERE, "..", "..")', 1),
        ("ROOT = Path(__file__).parents[2]", 1),
        ("os.path.dirname(os.path.dirname(os.path.dirname(__file__)))", 1),
    ],
)
def test_it_spots_a_path_that_leaves_the_project(line, depth):
    assert climbs(line, depth)


@pytest.mark.parametrize(
    ("line", "depth"),
    [
        ("BASE_DIR = Path(__file__).resolve().parent.parent", 1),
        ('cd "$(dirname "$0")/.."', 1),
        ("from .. import markdown", 2),
        ("def handle(self, *args, **options): ...", 1),
        ("const all = [...rows, ...more];", 2),
        ("ROOT = Path(__file__).resolve().parents[1]", 1),
        ("shared lock file, whose seed is random", 1),
    ],
)
def test_it_leaves_paths_inside_the_project_alone(line, depth):
    assert climbs(line, depth) is None
