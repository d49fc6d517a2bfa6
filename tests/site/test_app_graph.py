"""The apps import each other in one direction only: the import graph between them has no cycle.

Rules:
- The graph is read from the source, not from what happens to be loaded: every module of
  every app is parsed (ast) and every import counts, at the top of the module or inside a
  function, since a function-local import is as much a dependency as any other.
- A node is an app: the top-level package a module is in. The site's root modules
  (SITE_ROOT: settings, URLs, ASGI and WSGI apps) wire every app together, and nothing
  imports them, so they are a node of their own ("site"); the rest of sockets_site is
  the small library the apps share (env, learners, client_ip, ...).
- A hook named by a string (a setting read with import_string, e.g. PLAYGROUND_LAB_HOOKS)
  is no import, so no edge: it is how a lower app calls into a higher one.
- Imports of anything but these apps (Django, the standard library, tests) are left out.
- The layers this keeps, bottom to top: sockets_site, playground, labs, lessons, review,
  accounts. A lower app reaches a higher one only through what the higher one registers
  in its AppConfig.ready() (signals, hooks) or a string (a lazy "lessons.Lesson").
"""

import ast
from pathlib import Path

from tests.support.paths import ROOT

APPS = ("accounts", "labs", "lessons", "playground", "review", "sockets_site")
SITE_ROOT = {"sockets_site.settings", "sockets_site.urls", "sockets_site.asgi", "sockets_site.wsgi"}


def _node(module: str) -> str | None:
    if module in SITE_ROOT:
        return "site"
    top = module.split(".")[0]
    return top if top in APPS else None


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imported(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names.add(target)
            # `from sockets_site import asgi` imports a module, which may be the site root.
            names.update(f"{target}.{alias.name}" for alias in node.names)
    return names


def app_graph(why: dict | None = None) -> dict[str, set[str]]:
    """App -> the apps its modules import; `why`, if given, gets (app, app) -> the modules."""
    graph: dict[str, set[str]] = {app: set() for app in (*APPS, "site")}
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            module = _module_name(path)
            source = _node(module)
            tree = ast.parse(path.read_text(), filename=str(path))
            for name in _imported(tree, module, path.name == "__init__.py"):
                # `from a.b import c` names a.b and a.b.c: the site root is a module, the
                # rest are apps, so the longest name that is the site root wins.
                target = "site" if name in SITE_ROOT else _node(name)
                if target is not None and target != source:
                    graph[source].add(target)
                    if why is not None:
                        why.setdefault((source, target), set()).add(module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one app (Tarjan), each sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def describe(graph: dict[str, set[str]], why: dict) -> str:
    lines = []
    for app in graph:
        lines.append(f"{app} -> {', '.join(sorted(graph[app])) or '(none)'}")
        lines += [
            f"    {other}: {', '.join(sorted(why[app, other]))}" for other in sorted(graph[app])
        ]
    return "\n".join(lines)


def test_it_finds_no_cycle_between_the_apps():
    why: dict = {}
    graph = app_graph(why)
    print(describe(graph, why))  # shown with -s, for quoting
    assert cycles(graph) == [], describe(graph, why)


def test_it_sees_function_local_and_relative_imports():
    module = ast.parse("def f():\n    from labs import hooks\n\nfrom .models import X\n")
    assert _imported(module, "lessons.views", is_package=False) == {
        "labs",
        "labs.hooks",
        "lessons.models",
        "lessons.models.X",
    }
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
