"""What the packer chooses from: search results plus the rest of split definitions."""

from __future__ import annotations

from codeintel.agent.context import Candidate
from codeintel.retrieval.search import Searcher


def candidates_for(searcher: Searcher, query: str, limit: int) -> list[Candidate]:
    """The ``limit`` best chunks for ``query`` and the sibling parts of any split function
    among them, as packer candidates."""
    results = searcher.search(query, k=limit)
    results += searcher.split_siblings(results)
    return [Candidate(result.chunk, result.score) for result in results]
