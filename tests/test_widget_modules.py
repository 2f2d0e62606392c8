"""The widget's modules depend one way, like the backend's (tests/test_architecture.py).

The widget is plain ES modules with no build step, so its dependency graph is what the files say
(backend/widget_modules.py reads it, for this test and for the widget page's modulepreload links):
every ``import … from './x.js'``, ``import './x.js'``, ``export … from './x.js'`` and dynamic
``import('./x.js')`` of ``widget/*.js``. A dynamic import counts: loading a module later only hides a
cycle, it does not remove it (the two modules still need each other to work).
"""
from __future__ import annotations

from backend.api.pages import WIDGET_DIR as WIDGET
from backend.widget_modules import first_screen, imports
from backend.widget_modules import graph as module_graph


def graph() -> dict[str, set[str]]:
    """module file name -> the widget modules it imports."""
    edges: dict[str, set[str]] = {}
    for name, targets in module_graph(WIDGET).items():
        for spec in imports((WIDGET / name).read_text()):
            assert spec.startswith("./") and "/" not in spec[2:], f"{name} imports {spec!r}: widget modules import siblings only"
        edges[name] = set(targets)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in edges.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return groups


def test_the_parser_reads_every_form_of_import() -> None:
    source = """
import { h } from './dom.js';
import words from './i18n-account.js';
import './early.js';
export { firstRange } from './early.js';
import {
  a,
  b,
} from './many.js';
// import { nothing } from './commented.js';
/* import('./commented.js') */
const later = () => import('./steps.js');
const url = 'https://example.com/x.js'; // import('./not-code.js') in a comment
"""
    assert imports(source) == ["./dom.js", "./i18n-account.js", "./early.js", "./early.js", "./many.js", "./steps.js"]


def test_the_cycle_finder_finds_a_cycle_through_a_dynamic_import() -> None:
    assert cycles({"app.js": {"steps.js"}, "steps.js": {"app.js"}, "dom.js": set()}) == [["app.js", "steps.js"]]
    assert cycles({"a.js": {"b.js"}, "b.js": {"c.js"}, "c.js": set()}) == []


def test_every_import_names_a_widget_module_that_exists() -> None:
    edges = graph()
    assert len(edges) > 20  # read the widget, not an empty folder
    missing = {(name, target) for name, targets in edges.items() for target in targets if not (WIDGET / target).is_file()}
    assert missing == set()


def test_no_import_cycle_among_the_widgets_modules() -> None:
    edges = graph()
    assert edges["app.js"] >= {"state.js", "nav.js"}  # the graph holds the entry's imports
    assert cycles(edges) == []


def test_the_first_screen_is_the_entry_and_the_first_step_with_everything_they_import() -> None:
    static = module_graph(WIDGET, dynamic=False)
    for step, last in (("time", "month.js"), ("services", "services.js")):
        modules = first_screen(step)
        assert modules[-1] == last and {"early.js", "app.js", "state.js", "nav.js"} <= set(modules)
        for i, name in enumerate(modules):  # each after what it imports, and nothing missing
            assert set(static[name]) <= set(modules[:i]), name
        assert not {"steps.js", "signin.js", "fr.js", "zones.js"} & set(modules), "later steps load on intent"
    assert {"times.js", "picker.js", "zone.js"} <= set(first_screen("time"))


def test_the_widget_page_preloads_its_first_screen(client, expert) -> None:
    import re
    for path, step in (("/widget/jane/intro-call", "time"), ("/widget/jane", "services")):
        html = client.get(path).get_data(as_text=True)
        preloaded = re.findall(r'<link rel="modulepreload" href="/assets/[0-9a-f]{12}/([a-z0-9-]+\.js)">', html)
        assert preloaded == list(first_screen(step)), path
