"""The rooms of app/ and the one-way flow between them (ARCHITECTURE.md), checked on the code.

registries → plans → (draw, pure) → tasks → credit → stats → publish; the foundation (config,
db, errors, models, states, …) is below all of them and imports none; demo, cli and main sit on
top. A package may import only packages below it, so there is no cycle and no arrow back up.
"""

from __future__ import annotations

import ast
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app"

FOUNDATION = {
    "config",
    "db",
    "errors",
    "models",
    "states",
    "clock",
    "regions",
    "pagination",
    "gcpause",
    "faults",
    "limits",
    "spreadsheets",
    "migrate",
    "inputs",
    "events",
    "jobs",
    "audit",
    "auth",
    "api",
    "keys",
    "gm",
    "tlog",
}
PURE = {"draw"}
# Domain packages, lowest first: each may import the ones before it (and foundation, draw).
DOMAINS = ["registries", "visits", "plans", "tasks", "credit", "stats", "publish"]
TOP = ["demo", "console", "scheduler", "main", "cli"]  # entry points, lowest first
# Foundation modules that build on other foundation modules, lowest first.
FOUNDATION_ORDER = [
    "config",
    "keys",
    "gm",
    "errors",
    "gcpause",
    "faults",
    "states",
    "models",
    "clock",
    "regions",
    "pagination",
    "db",
    "migrate",
    "inputs",
    "limits",
    "spreadsheets",
    "events",
    "jobs",
    "audit",
    "tlog",
    "auth",
    "api",
]


def _package(path: Path) -> str:
    rel = path.relative_to(APP)
    return rel.parts[0].removesuffix(".py")


def _imports(path: Path) -> Iterator[tuple[str, list[str], int]]:
    """(imported app package, imported names, line) for every import of app.* in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] != "app":
                continue
            if len(parts) == 1:  # from app import x
                for alias in node.names:
                    yield alias.name, [], node.lineno
            else:
                yield parts[1], [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "app" and len(parts) > 1:
                    yield parts[1], [], node.lineno


def _rank(package: str) -> tuple[int, int]:
    if package in FOUNDATION:
        return (0, FOUNDATION_ORDER.index(package))
    if package in PURE:
        return (1, 0)
    if package in DOMAINS:
        return (2, DOMAINS.index(package))
    assert package in TOP, f"app/{package} is in no room of ARCHITECTURE.md"
    return (3, TOP.index(package))


def _files() -> list[Path]:
    """Every module of app/ except the package's own __init__ (it holds no code)."""
    return sorted(
        p for p in APP.rglob("*.py") if "__pycache__" not in p.parts and p != APP / "__init__.py"
    )


def test_every_package_has_a_room() -> None:
    for path in _files():
        _rank(_package(path))


def test_imports_flow_one_way() -> None:
    backwards = []
    for path in _files():
        src = _package(path)
        for dst, _, line in _imports(path):
            if dst == src:
                continue
            if _rank(dst) >= _rank(src):
                backwards.append(f"{path.relative_to(ROOT)}:{line}: {src} → {dst}")
    assert backwards == []


def test_draw_is_pure() -> None:
    impure = ("sqlalchemy", "fastapi", "starlette", "app.models", "app.db", "httpx")
    found = []
    for path in (APP / "draw").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found += [
                f"{path.name}:{node.lineno}: {n}"
                for n in names
                if any(n == m or n.startswith(m + ".") for m in impure)
            ]
    assert found == []


def test_no_private_names_across_packages() -> None:
    crossings = []
    for path in _files():
        src = _package(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules: dict[str, str] = {}  # local name → app package it refers to
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("app"):
                parts = node.module.split(".")
                for alias in node.names:
                    pkg = parts[1] if len(parts) > 1 else alias.name
                    if pkg != src and alias.name.startswith("_"):
                        crossings.append(f"{path.relative_to(ROOT)}:{node.lineno}: {alias.name}")
                    modules[alias.asname or alias.name] = pkg
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and modules[node.value.id] != src
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                crossings.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.attr}")
    assert crossings == []


def test_nothing_refers_outside_the_repository() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = ("../shared", "SPEC.md", "SPEC §", "shared/seeds", "seeds/00")
    hits = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".md", ".html", ".js", ".css", ".toml", ".txt", ".json", ""}:
            continue
        if not path.is_file() or name == "tests/test_architecture.py":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        hits += [f"{name}: {o}" for o in outside if o in text]
    assert hits == []
