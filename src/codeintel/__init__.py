"""codeintel: index a codebase once, then hand an LLM only the code that matters.

The application API is ``Workspace`` (one per repository) and the typed results its
methods return; every front door (the CLI, and later HTTP and MCP) calls only these.
Names are imported on first use, so ``import codeintel`` costs nothing until then.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codeintel.agent.context import Context, ContextItem
    from codeintel.indexer.models import DryRun, IndexStatus, Skipped
    from codeintel.indexer.pipeline import BuildReport, Progress
    from codeintel.indexer.tokens import ENCODINGS
    from codeintel.retrieval.search import IndexCoverage, SearchResult, SearchResults
    from codeintel.settings import Settings
    from codeintel.workspace import Workspace

__version__ = "0.1.0"

_HOMES = {
    "BuildReport": "codeintel.indexer.pipeline",
    "Context": "codeintel.agent.context",
    "ContextItem": "codeintel.agent.context",
    "DryRun": "codeintel.indexer.models",
    "ENCODINGS": "codeintel.indexer.tokens",
    "IndexCoverage": "codeintel.retrieval.search",
    "IndexStatus": "codeintel.indexer.models",
    "Progress": "codeintel.indexer.pipeline",
    "SearchResult": "codeintel.retrieval.search",
    "SearchResults": "codeintel.retrieval.search",
    "Settings": "codeintel.settings",
    "Skipped": "codeintel.indexer.models",
    "Workspace": "codeintel.workspace",
}

__all__ = [
    "ENCODINGS",
    "BuildReport",
    "Context",
    "ContextItem",
    "DryRun",
    "IndexCoverage",
    "IndexStatus",
    "Progress",
    "SearchResult",
    "SearchResults",
    "Settings",
    "Skipped",
    "Workspace",
    "__version__",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'codeintel' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
