"""The backend's shape, checked by reading its source with ``ast`` (no import side effects).

- Dependencies point one way: no cycle among ``backend`` modules, counting imports placed inside
  functions too (an import inside a function only hides a cycle, it does not remove it).
- A first-party import inside a function needs a comment on its line saying why.
- ``.commit()`` appears only in the layer that owns transactions: routes, CLI, worker jobs.
"""
from __future__ import annotations

import ast
from pathlib import Path

BACKEND = Path(__file__).resolve().parent.parent / "backend"
#: Modules that own a transaction: they call ``.commit()``; everything below them flushes.
TRANSACTION_OWNERS = ("backend/api/", "backend/dashboard/routes.py", "backend/dashboard/auth.py",
                      "backend/dashboard/common.py",  # the dashboard pages' save/act: each page's one commit
                      "backend/cli.py", "backend/worker.py", "backend/app.py", "backend/migrations/",
                      "backend/transactions.py")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(BACKEND.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in BACKEND.rglob("*.py") if "migrations" not in p.parts}


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The first-party module ``name`` refers to (``backend.x.y`` may be a name inside ``backend.x``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def _imports(module: str, path: Path, known: dict[str, Path]) -> list[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every first-party import of ``module``."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[tuple[str, int, bool]] = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    target = _resolve(alias.name, known)
                    if target:
                        found.append((target, child.lineno, in_function))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                if not base.startswith("backend"):
                    continue
                for alias in child.names:
                    target = _resolve(f"{base}.{alias.name}", known) or _resolve(base, known)
                    if target:
                        found.append((target, child.lineno, in_function))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                continue  # annotations only: never executed, no dependency at run time
            visit(child, nested)

    visit(tree, False)
    return [(target, line, inner) for target, line, inner in found if target != module]


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        # A package's own __init__ is imported by its submodules' import path, not as a dependency.
        graph[module] = {t for t, _, _ in _imports(module, path, known)
                         if not module.startswith(t + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def strongconnect(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                strongconnect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)
    return found


def test_backend_modules_import_each_other_without_a_cycle() -> None:
    assert _cycles(_graph()) == []


def test_a_first_party_import_inside_a_function_says_why() -> None:
    known = _modules()
    unexplained = []
    for module, path in known.items():
        lines = path.read_text().splitlines()
        for _, line, inner in _imports(module, path, known):
            if inner and "#" not in lines[line - 1]:
                unexplained.append(f"{path.relative_to(BACKEND.parent)}:{line}")
    assert unexplained == []
def test_only_routes_cli_and_worker_jobs_commit() -> None:
    committing = []
    for path in sorted(BACKEND.rglob("*.py")):
        rel = path.relative_to(BACKEND.parent).as_posix()
        if rel.startswith(TRANSACTION_OWNERS):
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "commit"):
                committing.append(f"{rel}:{node.lineno}")
    assert committing == []


#: Payment processes that call Stripe between their steps: each Stripe call is its own unit of work.
STRIPE_PROCESSES = ("backend/payments/online.py", "backend/payments/refunds.py", "backend/payments/ledger.py",
                    "backend/payments/webhooks.py", "backend/payments/checkout.py",
                    "backend/payments/cards.py", "backend/payments/purchases.py")


def test_only_payment_processes_end_a_unit_of_work_early() -> None:
    ending = []
    for path in sorted(BACKEND.rglob("*.py")):
        rel = path.relative_to(BACKEND.parent).as_posix()
        if rel.startswith(TRANSACTION_OWNERS) or rel in STRIPE_PROCESSES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "end_unit":
                ending.append(f"{rel}:{node.lineno}")
    assert ending == []


def test_every_api_blueprint_parses_with_the_schema_reusing_parser() -> None:
    """``backend/api/blueprint.py`` gives the one Blueprint: a module importing flask-smorest's own would
    build its request schemas anew on every request."""
    offenders = []
    for name, path in _modules().items():
        if name == "backend.api.blueprint":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "flask_smorest" \
                    and any(alias.name == "Blueprint" for alias in node.names):
                offenders.append(name)
    assert offenders == [], f"import Blueprint from backend.api.blueprint instead: {offenders}"
