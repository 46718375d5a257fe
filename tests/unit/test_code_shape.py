"""The code keeps a shape a newcomer can read: modules under 500 lines, functions under 60, and `bot/` never
reaching up into the Bolt listeners. The sandbox (a fake of Slack, with its own page) and the migrations
(generated history) are left out. A function that reads better whole says so in its docstring with "Kept whole:"
and why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60
KEPT_WHOLE = "Kept whole:"


def _sources() -> list[Path]:
    found = [path for folder in ("bot", "handlers", "storage") for path in sorted((ROOT / folder).rglob("*.py"))]
    return [path for path in found if "sandbox" not in path.relative_to(ROOT).parts]


SOURCES = _sources()


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_sources_are_found():
    assert len(SOURCES) > 100 and any(path.name == "context.py" for path in SOURCES)


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_a_module_stays_under_500_lines(path: Path):
    lines = path.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_MODULE_LINES, f"{_name(path)} has {lines} lines: split it along its sections"


@pytest.mark.parametrize("path", SOURCES, ids=_name)
def test_a_function_stays_under_60_lines_or_says_why(path: Path):
    long = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_FUNCTION_LINES and KEPT_WHOLE not in (ast.get_docstring(node) or ""):
                long.append(f"{node.name} ({length} lines)")
    assert not long, f"{_name(path)}: {', '.join(long)}"


# bot/app.py builds the Bolt app and registers the listeners: the one place below handlers/ that wires them in
MAY_IMPORT_LISTENERS = {"bot/app.py"}
LOWER_LAYERS = [
    path
    for folder in ("bot", "storage")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if _name(path) not in MAY_IMPORT_LISTENERS
]


@pytest.mark.parametrize("path", LOWER_LAYERS, ids=_name)
def test_bot_and_storage_never_import_the_listeners(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        assert not [name for name in names if name == "handlers" or name.startswith("handlers.")], _name(path)


def _imports(path: Path) -> list[str]:
    """The modules `path` imports (`from a.b import c` counts as `a.b`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


# the web dashboard reads through the rituals and storage; nothing below it knows it is there
DASHBOARD = sorted((ROOT / "bot" / "dashboard").rglob("*.py"))
BELOW_THE_DASHBOARD = [path for folder in ("bot/rituals", "storage") for path in sorted((ROOT / folder).rglob("*.py"))]


@pytest.mark.parametrize("path", DASHBOARD, ids=_name)
def test_the_dashboard_never_imports_the_listeners_or_the_delivery(path: Path):
    found = [name for name in _imports(path) if _within(name, "handlers") or _within(name, "bot.delivery")]
    assert not found, f"{_name(path)} imports {found}"


@pytest.mark.parametrize("path", BELOW_THE_DASHBOARD, ids=_name)
def test_the_rituals_and_storage_never_import_the_dashboard(path: Path):
    found = [name for name in _imports(path) if _within(name, "bot.dashboard")]
    assert not found, f"{_name(path)} imports {found}"
