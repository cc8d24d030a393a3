"""What the packer chooses from: search results, the rest of split definitions, and the
other chunks of the very top files, their headers first."""

from __future__ import annotations

from codeintel.agent.context import Candidate
from codeintel.indexer.models import Chunk
from codeintel.retrieval.search import Searcher, SearchResult

COMPANION_FILES = 3  # top files whose every chunk is offered
_BELOW_RETRIEVED = 0.9  # a companion's score, as a share of the lowest retrieved score
_HEADER_SHARE = 0.5  # a top file's header's score, as a share of the file's best score


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
    instead, they crowded out other files at small budgets).

    The exception is a top file's header (its imports and module-level set-up): an edit
    often adds an import, and the names a file imports say where its code comes from. It
    scores at least half its file's best score (on 98 SWE-bench dev instances, edit_all at
    8k went from 40.8 to 43.9%, file_all from 80.6 to 81.6%)."""
    results = searcher.search(query, k=limit)
    results += searcher.split_siblings(results)
    if not results or companion_files <= 0:
        return [Candidate(result.chunk, result.score) for result in results]
    top_files = list(dict.fromkeys(result.chunk.path for result in results))[:companion_files]
    file_chunks = searcher.chunks_of(top_files)
    headers = _headers(results, file_chunks)
    candidates = [
        Candidate(result.chunk, max(result.score, headers.get(_span(result.chunk), 0.0)))
        for result in results
    ]
    return candidates + _companions(results, file_chunks, headers)


def _span(chunk: Chunk) -> tuple[str, int, int]:
    return chunk.path, chunk.start_line, chunk.end_line


def _headers(
    results: list[SearchResult], file_chunks: list[Chunk]
) -> dict[tuple[str, int, int], float]:
    """The span of each top file's header → its least score: the file's first chunk, when
    that is module-level code (``file_chunks`` come in file and line order)."""
    best: dict[str, float] = {}
    for result in results:
        best[result.chunk.path] = max(best.get(result.chunk.path, 0.0), result.score)
    first: dict[str, Chunk] = {}
    for chunk in file_chunks:
        first.setdefault(chunk.path, chunk)
    return {
        _span(chunk): _HEADER_SHARE * best[path]
        for path, chunk in first.items()
        if chunk.kind == "code"
    }


def _companions(
    results: list[SearchResult],
    file_chunks: list[Chunk],
    headers: dict[tuple[str, int, int], float],
) -> list[Candidate]:
    below = _BELOW_RETRIEVED * min(result.score for result in results)
    found = {_span(result.chunk) for result in results}
    return [
        Candidate(chunk, max(below, headers.get(_span(chunk), 0.0)))
        for chunk in file_chunks
        if _span(chunk) not in found
    ]
