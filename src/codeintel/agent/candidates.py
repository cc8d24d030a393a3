"""What the packer chooses from: search results, the rest of split definitions, and the
other chunks of the very top files."""

from __future__ import annotations

from codeintel.agent.context import Candidate
from codeintel.retrieval.search import Searcher, SearchResult

COMPANION_FILES = 3  # top files whose every chunk is offered
_BELOW_RETRIEVED = 0.9  # a companion's score, as a share of the lowest retrieved score


def candidates_for(
    searcher: Searcher, query: str, limit: int, companion_files: int = COMPANION_FILES
) -> list[Candidate]:
    """The ``limit`` best chunks for ``query``, the sibling parts of any split function
    among them, and every other chunk of the ``companion_files`` best files.

    The change an issue needs often sits in a part of the right file that matches none of
    the question's words. Companions score just below every retrieved chunk, so they only
    fill budget the retrieved ones leave: on 22 SWE-bench dev instances, every edit site
    was among the candidates in 86% instead of 59%, and the packer's edit_all at 32k went
    from 59 to 64% with no change at 4k to 16k (scored at half their file's best score
    instead, they crowded out other files at small budgets)."""
    results = searcher.search(query, k=limit)
    results += searcher.split_siblings(results)
    candidates = [Candidate(result.chunk, result.score) for result in results]
    return candidates + _companions(searcher, results, companion_files)


def _companions(searcher: Searcher, results: list[SearchResult], files: int) -> list[Candidate]:
    if not results or files <= 0:
        return []
    top_files = list(dict.fromkeys(result.chunk.path for result in results))[:files]
    score = _BELOW_RETRIEVED * min(result.score for result in results)
    found = {(r.chunk.path, r.chunk.start_line, r.chunk.end_line) for r in results}
    return [
        Candidate(chunk, score)
        for chunk in searcher.chunks_of(top_files)
        if (chunk.path, chunk.start_line, chunk.end_line) not in found
    ]
