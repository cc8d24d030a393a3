"""The public API is what ``codeintel.__all__`` says, no more and no less."""

from __future__ import annotations

import subprocess
import sys

import pytest

import codeintel

PUBLIC = {
    "BuildReport",
    "Context",
    "ContextItem",
    "DryRun",
    "ENCODINGS",
    "IndexCoverage",
    "IndexStatus",
    "Progress",
    "SearchResult",
    "SearchResults",
    "Settings",
    "Skipped",
    "Workspace",
    "__version__",
}


def test_all_is_the_public_api() -> None:
    assert set(codeintel.__all__) == PUBLIC
    assert len(codeintel.__all__) == len(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_export_resolves(name: str) -> None:
    value = getattr(codeintel, name)
    assert value is not None
    if isinstance(value, type):
        assert value.__name__ == name


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Searcher'"):
        codeintel.Searcher  # noqa: B018


def test_importing_the_package_loads_nothing_heavy() -> None:
    """The names load on first use: ``import codeintel`` alone pulls in no numpy or torch."""
    code = "import sys, codeintel; print(sorted({'numpy', 'torch', 'lance'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
