"""What the packer chooses from: search results, the rest of split definitions, and the
other chunks of the very top files (their heads, the imports, scored higher)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from codeintel.agent.context import Candidate
from codeintel.indexer.models import Chunk
from codeintel.retrieval.search import SPLIT_PART_SHARE, Searcher, SearchResult, split_key
from codeintel.settings import ContextSettings

_BELOW_RETRIEVED = 0.9  # a companion's score, as a share of the lowest retrieved score
_Key = TypeVar("_Key")
_HEAD_SHARE = 0.5  # a top file's head's least score, as a share of the file's best score


def candidates_for(
    searcher: Searcher,
    query: str,
    limit: int,
    companion_files: int = ContextSettings().companion_files,
) -> list[Candidate]:
    """The ``limit`` best chunks for ``query``, the sibling parts of any split function
    among them, and every other chunk of the ``companion_files`` best files.

    Every part of a split function scores at least half its best part: where the question
    matches a long function's start, its edit is as likely in a later part, matched weakly
    or not at all. (Unfound parts scored 0.95 of the best part before, and weakly found
    ones kept their own score; replayed on the candidates of 98 SWE-bench dev instances,
    the half share raised edit_all at 4k from 34.7 to 39.8% and at 8k from 44.9 to 50.0%,
    file_all at 2k from 65.3 to 68.4%, and lost one instance of file_all at 4k.)

    The change an issue needs often sits in a part of the right file that matches none of
    the question's words. Companions score just below every retrieved chunk, so they only
    fill budget the retrieved ones leave: on 22 SWE-bench dev instances, every edit site
    was among the candidates in 86% instead of 59%, and the packer's edit_all at 32k went
    from 59 to 64% with no change at 4k to 16k (scored at half their file's best score
    instead, they crowded out other files at small budgets).

    The exception is a top file's head (its imports and module-level set-up): an edit
    often adds an import, and the names a file imports say where its code comes from. It
    scores at least half its file's best score (on 98 SWE-bench dev instances, edit_all at
    8k went from 40.8 to 43.9%, file_all from 80.6 to 81.6%)."""
    found = searcher.search(query, k=limit)
    results = _parts_lifted(found + searcher.split_siblings(found))
    if not results or companion_files <= 0:
        return [Candidate(result.chunk, result.score) for result in results]
    top_files = list(dict.fromkeys(result.chunk.path for result in results))[:companion_files]
    file_chunks = searcher.chunks_of(top_files)
    heads = _file_heads(results, file_chunks)
    candidates = [
        Candidate(result.chunk, max(result.score, heads.get(_span(result.chunk), 0.0)))
        for result in results
    ]
    below = _BELOW_RETRIEVED * min(result.score for result in found)
    taken = {_span(result.chunk) for result in results}
    return candidates + [
        Candidate(chunk, max(below, heads.get(_span(chunk), 0.0)))
        for chunk in file_chunks
        if _span(chunk) not in taken
    ]


def _parts_lifted(results: list[SearchResult]) -> list[SearchResult]:
    """``results`` with every part of a split definition scored at least
    ``SPLIT_PART_SHARE`` of its best part, as its unfound siblings are: a part that matched
    the question weakly is no less likely to hold the edit than one that did not match."""
    best = _best_scores(results, split_key)
    return [
        replace(result, score=max(result.score, SPLIT_PART_SHARE * best[key]))
        if (key := split_key(result.chunk)) is not None
        else result
        for result in results
    ]


def _best_scores(
    results: list[SearchResult], key: Callable[[Chunk], _Key | None]
) -> dict[_Key, float]:
    """The best score among ``results`` per ``key`` of their chunks (None: left out)."""
    best: dict[_Key, float] = {}
    for result in results:
        group = key(result.chunk)
        if group is not None:
            best[group] = max(best.get(group, 0.0), result.score)
    return best


def _span(chunk: Chunk) -> tuple[str, int, int]:
    return chunk.path, chunk.start_line, chunk.end_line


def _file_heads(
    results: list[SearchResult], file_chunks: list[Chunk]
) -> dict[tuple[str, int, int], float]:
    """The span of each top file's head → its least score: the file's first chunk, when
    that is module-level code (``file_chunks`` come in file and line order)."""
    best = _best_scores(results, lambda chunk: chunk.path)
    first: dict[str, Chunk] = {}
    for chunk in file_chunks:
        first.setdefault(chunk.path, chunk)
    return {
        _span(chunk): _HEAD_SHARE * best[path]
        for path, chunk in first.items()
        if chunk.kind == "code"
    }
