"""The dependency direction the layout promises: agent and hub import the spine, never each other."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder: Path) -> set[tuple[str, str]]:
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
            elif isinstance(node, ast.Import):
                found.update((str(path.relative_to(ROOT)), alias.name) for alias in node.names)
    return found


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("hub", ("replens.device_agent",)),
        ("device_agent", ("replens.hub",)),
        ("replens/contract", ("replens.hub", "replens.device_agent", "replens.integrations")),
        ("replens/config", ("replens.hub", "replens.device_agent", "replens.integrations")),
    ],
)
def test_dependency_direction(folder, forbidden):
    bad = sorted((f, m) for f, m in imported_modules(ROOT / folder) if m.startswith(forbidden))
    assert bad == []


def test_no_top_level_imports_of_mapped_folders():
    """`import hub` would pick up an unrelated PyPI package; always go through replens.*."""
    bad = sorted(
        (f, m)
        for folder in ("replens", "hub", "device_agent", "integrations")
        for f, m in imported_modules(ROOT / folder)
        if m.split(".")[0] in {"hub", "device_agent", "integrations"}
    )
    assert bad == []
