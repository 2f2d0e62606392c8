"""The widget's module graph, read from its files (pure: standard library only).

The widget is plain ES modules with no build step, so its dependency graph is what the files say:
every ``import … from './x.js'``, ``import './x.js'``, ``export … from './x.js'`` (static: loaded
before the importing module runs) and dynamic ``import('./x.js')`` (loaded when the code asks).

The widget page lists its first screen's modules as ``<link rel="modulepreload">`` (``first_screen``),
so the browser fetches them all at once instead of finding each module's imports only after it
arrives; the list comes from the files themselves and cannot fall behind them.
tests/test_widget_modules.py reads the same graph for its one-way rule.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

WIDGET_DIR = Path(__file__).resolve().parents[1] / "widget"

# Comments first (a comment may quote an import), then the three forms of a module specifier.
COMMENT = re.compile(r"/\*.*?\*/|(?<![:'\"\\])//[^\n]*", re.S)
STATIC = re.compile(r"^\s*(?:import|export)\b[^;'\"()]*?\bfrom\s*['\"]([^'\"]+)['\"]", re.M)
BARE = re.compile(r"^\s*import\s*['\"]([^'\"]+)['\"]", re.M)
DYNAMIC = re.compile(r"\bimport\(\s*['\"]([^'\"]+)['\"]\s*\)")

#: The modules each first step starts from: the entry (``app.js``, with ``early.js`` beside it), then
#: the step the flow shows first, which ``app.js`` imports dynamically: a direct link's time step with
#: the month grid (most services are personal), else the service list.
ENTRIES = ("early.js", "app.js")
FIRST_STEP = {"time": ("times.js", "month.js"), "services": ("services.js",)}


def imports(source: str, *, dynamic: bool = True) -> list[str]:
    """The module specifiers a widget module imports (dynamic ones too unless told), in source order."""
    code = COMMENT.sub("", source)
    patterns = (STATIC, BARE, DYNAMIC) if dynamic else (STATIC, BARE)
    found = [(m.start(), m.group(1)) for pattern in patterns for m in pattern.finditer(code)]
    return [spec for _, spec in sorted(found)]


def graph(directory: Path = WIDGET_DIR, *, dynamic: bool = True) -> dict[str, list[str]]:
    """module file name -> the sibling modules it imports, in source order (``./x.js`` → ``x.js``)."""
    return {path.name: [spec.removeprefix("./") for spec in imports(path.read_text(), dynamic=dynamic)]
            for path in sorted(directory.glob("*.js"))}


def closure(roots: tuple[str, ...], edges: dict[str, list[str]]) -> list[str]:
    """``roots`` and everything they import statically, each after the modules it imports."""
    ordered: list[str] = []

    def visit(name: str, seen: set[str]) -> None:
        if name in ordered or name in seen:
            return
        seen.add(name)
        for target in edges.get(name, ()):
            visit(target, seen)
        ordered.append(name)

    for root in roots:
        visit(root, set())
    return ordered


@cache
def first_screen(step: str) -> tuple[str, ...]:
    """The modules the widget's first screen runs when it opens on ``step`` (``time`` or ``services``),
    dependencies first; read once per process (the files are served as they are)."""
    edges = graph(dynamic=False)
    return tuple(closure(ENTRIES + FIRST_STEP[step], edges))
