"""What the packer chooses from: search results, the rest of split definitions, and the
other chunks of the very top files (their heads, the imports, scored higher)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, TypeVar

from codeintel.agent.context import Candidate, span_of
from codeintel.agent.value import Origin
from codeintel.indexer.models import Chunk
from codeintel.retrieval.search import SearchResult, split_key
from codeintel.settings import ContextSettings

_Key = TypeVar("_Key")


class Retriever(Protocol):
    """What candidates are drawn from: ``Searcher``, or a recorded search replayed."""

    def search(self, query: str, k: int | None = None) -> list[SearchResult]: ...

    def split_siblings(self, results: list[SearchResult], share: float) -> list[SearchResult]: ...

    def chunks_of(self, paths: list[str]) -> list[Chunk]: ...


def candidates_for(
    searcher: Retriever, query: str, limit: int, settings: ContextSettings | None = None
) -> list[Candidate]:
    """The ``limit`` best chunks for ``query``, the sibling parts of any split function
    among them, and every other chunk of the ``settings.companion_files`` best files: the
    scoring policy after fusion, its shares in ``ContextSettings`` (the measurements
    behind them: docs/decisions.md).

    - Every part of a split function scores at least ``split_part_share`` of its best
      part: where the question matches a long function's start, its edit is as likely in
      a later part, matched weakly or not at all.
    - Companions (the top files' other chunks) score ``companion_share`` of the lowest
      retrieved score, so they only fill budget the retrieved chunks leave: the change an
      issue needs often sits in a part of the right file that matches none of its words.
    - A top file's head (its imports and module-level set-up) scores at least
      ``head_share`` of its file's best score: an edit often adds an import, and the names
      a file imports say where its code comes from."""
    settings = settings or ContextSettings()
    found = searcher.search(query, k=limit)
    share = settings.split_part_share
    siblings = searcher.split_siblings(found, share)
    results = _parts_lifted(found + siblings, share)
    origin: dict[tuple[str, int, int], Origin] = {span_of(r.chunk): "part" for r in siblings}
    file_chunks: list[Chunk] = []
    heads: dict[tuple[str, int, int], float] = {}
    if results and settings.companion_files > 0:
        top_files = list(dict.fromkeys(r.chunk.path for r in results))[: settings.companion_files]
        file_chunks = searcher.chunks_of(top_files)
        heads = _file_heads(results, file_chunks, settings.head_share)

    def candidate(chunk: Chunk, score: float, default: Origin) -> Candidate:
        span = span_of(chunk)
        return Candidate(
            chunk, max(score, heads.get(span, 0.0)), origin.get(span, default), span in heads
        )

    below = settings.companion_share * min((r.score for r in found), default=0.0)
    taken = {span_of(result.chunk) for result in results}
    return [candidate(r.chunk, r.score, "retrieved") for r in results] + [
        candidate(chunk, below, "companion") for chunk in file_chunks if span_of(chunk) not in taken
    ]


def _parts_lifted(results: list[SearchResult], share: float) -> list[SearchResult]:
    """``results`` with every part of a split definition scored at least ``share`` of its
    best part, as its unfound siblings are: a part that matched the question weakly is no
    less likely to hold the edit than one that did not match."""
    best = _best_scores(results, split_key)
    return [
        replace(result, score=max(result.score, share * best[key]))
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


def _file_heads(
    results: list[SearchResult], file_chunks: list[Chunk], share: float
) -> dict[tuple[str, int, int], float]:
    """The span of each top file's head → its least score: the file's first chunk, when
    that is module-level code (``file_chunks`` come in file and line order)."""
    best = _best_scores(results, lambda chunk: chunk.path)
    first: dict[str, Chunk] = {}
    for chunk in file_chunks:
        first.setdefault(chunk.path, chunk)
    return {
        span_of(chunk): share * best[path] for path, chunk in first.items() if chunk.kind == "code"
    }
