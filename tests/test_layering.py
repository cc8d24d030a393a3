"""Dependencies point down only (DESIGN.md): the front doors sit on the application API,
which sits on agent → retrieval, cache → indexer; ``errors`` and ``settings`` are leaves
every layer may use."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "codeintel"
LEAVES = {"errors", "settings"}
ALLOWED = {
    "errors": set(),
    "settings": {"errors"},
    "indexer": LEAVES,
    "retrieval": {"indexer"} | LEAVES,
    "cache": {"indexer"} | LEAVES,
    "agent": {"indexer", "retrieval", "cache"} | LEAVES,
    "workspace": {"indexer", "retrieval", "cache", "agent"} | LEAVES,
}
# A front door imports the public API (the package itself), the errors, and its own code.
FRONT_DOORS = {"cli"}
FRONT_DOOR_MAY_IMPORT = {"codeintel", "codeintel.errors"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module or "")
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return {name for name in modules if name.split(".")[0] == "codeintel"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def files_of(layer: str) -> list[Path]:
    folder = SRC / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [SRC / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_no_layer_imports_upward_or_sideways(layer: str) -> None:
    files = files_of(layer)
    assert all(path.is_file() for path in files) and files
    for path in files:
        layers = {layer_of(module) for module in imported_modules(path)}
        wrong = layers - ALLOWED[layer] - {layer}
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)}"


@pytest.mark.parametrize("door", sorted(FRONT_DOORS))
def test_front_doors_use_only_the_public_api(door: str) -> None:
    for path in files_of(door):
        own = f"codeintel.{door}"
        wrong = {
            module
            for module in imported_modules(path)
            if module not in FRONT_DOOR_MAY_IMPORT and not module.startswith(own)
        }
        assert not wrong, f"{path.relative_to(SRC)} imports {sorted(wrong)}"


def test_every_module_has_a_layer() -> None:
    """A new top-level module or package must be placed in the layering above."""
    known = set(ALLOWED) | FRONT_DOORS | {"__init__"}
    modules = {path.stem for path in SRC.glob("*.py")}
    packages = {path.parent.name for path in SRC.glob("*/__init__.py")}
    found = modules | packages
    assert found <= known, sorted(found - known)
