"""What a search gave one SWE-bench question, recorded so that packing can be replayed offline.

``record`` runs the searcher once and keeps everything the token-savings methods choose
from: the hybrid results (``DEPTH`` of them, scores and signals), every part of the split
definitions among them, every chunk of the ``FILES`` best files, the plain BM25 and vector
lists (the RRF baselines), and the SWE-bench whole-file BM25 ranking with each file's
token count. ``RecordedSearch`` plays the searcher's part from a record, so that
``candidates_for`` (the product's own code) builds the packer's candidates from it exactly as
from a live index: ``token_savings`` scores every method from the record it has just made,
and ``replay_packing`` scores other packer settings from the same records in minutes.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from codeintel.indexer.models import Chunk
    from codeintel.retrieval.search import Searcher, SearchResult

DEPTH = 400  # hybrid results kept: twice the default candidate count
FILES = 10  # best files whose every chunk is kept (companions)
PLAIN_DEPTH = 300  # chunks each plain list keeps


@dataclass
class Record:
    """One question's search, as plain data (``to_json`` / ``of_json`` round-trip)."""

    query: str
    chunks: dict[str, dict[str, Any]]  # id → the chunk's fields
    found: list[tuple[str, float, dict[str, int]]]  # (id, score, signals), best first
    siblings: list[str]  # ids of every part of the split definitions held, in line order
    files: dict[str, list[str]]  # path → ids of its chunks in line order (the best FILES)
    plain: dict[str, list[str]]  # "bm25" / "vector" → ids, best first
    whole_files: list[tuple[str, int]]  # (path, tokens of the whole-file block), best first
    # "bm25" / "vector" → {id: score} of the best files' chunks against the question
    within: dict[str, dict[str, float]] = field(default_factory=dict)

    def chunk(self, chunk_id: str) -> Chunk:
        from codeintel.indexer.models import Chunk

        return Chunk(**self.chunks[chunk_id])

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> Record:
        return cls(
            data["query"],
            data["chunks"],
            [(cid, score, signals) for cid, score, signals in data["found"]],
            data["siblings"],
            data["files"],
            data["plain"],
            [(path, tokens) for path, tokens in data["whole_files"]],
            data.get("within", {}),
        )

    def save(self, path: Path) -> None:
        path.write_bytes(gzip.compress(json.dumps(self.to_json()).encode(), mtime=0))

    @classmethod
    def load(cls, path: Path) -> Record:
        return cls.of_json(json.loads(gzip.decompress(path.read_bytes())))


def record(searcher: Searcher, query: str, whole_files: list[tuple[str, int]]) -> Record:
    """Searches once and keeps what the token-savings methods choose from."""
    from codeintel.retrieval.search import SearchResult, split_key

    found = searcher.search(query, k=DEPTH)
    chunks = {r.chunk.id: r.chunk for r in found}
    plain = plain_lists(searcher, query)
    fetched = searcher.catalogue.fetch([cid for ids in plain.values() for cid in ids])
    for chunk_id, chunk in fetched.items():
        current = searcher.catalogue.on_disk(chunk)
        if current is not None:
            chunks.setdefault(chunk_id, current)
    plain = {signal: [cid for cid in ids if cid in chunks] for signal, ids in plain.items()}
    # every part of every split definition the lists hold, found or not
    split = [SearchResult(c, 1.0, {}) for c in chunks.values() if split_key(c) is not None]
    siblings = [*(r.chunk for r in split), *(r.chunk for r in searcher.split_siblings(split, 1.0))]
    siblings.sort(key=lambda c: (c.path, c.start_line))
    top = list(dict.fromkeys(r.chunk.path for r in found))[:FILES]
    companions = searcher.chunks_of(top)
    for chunk in [*siblings, *companions]:
        chunks.setdefault(chunk.id, chunk)
    files: dict[str, list[str]] = {path: [] for path in top}
    for chunk in companions:
        files[chunk.path].append(chunk.id)
    return Record(
        query,
        {chunk_id: asdict(chunk) for chunk_id, chunk in chunks.items()},
        [(r.chunk.id, r.score, r.signals) for r in found],
        [chunk.id for chunk in siblings],
        files,
        plain,
        whole_files,
        within_files(searcher, query, top),
    )


def within_files(searcher: Searcher, query: str, paths: list[str]) -> dict[str, dict[str, float]]:
    """Every chunk of ``paths`` scored against the question alone: its BM25 score (absent:
    no term matched) and its vector's cosine similarity (absent: not embedded)."""
    from codeintel.indexer.sql import sql_in
    from codeintel.retrieval.query import parse_query

    parsed = parse_query(query)
    limit = 100_000
    where = sql_in("path", paths)
    scores = {"bm25": dict(searcher.lexical.bm25(parsed.terms, limit, where=where))}
    if searcher.embedder is not None:
        vector = searcher.embedder.embed([parsed.text])[0]
        scores["vector"] = dict(searcher.vector.search(vector, limit, allowed_paths=set(paths)))
    return scores


def plain_lists(searcher: Searcher, query: str) -> dict[str, list[str]]:
    """The plain baselines' lists: BM25 over the question's terms and the question's
    vector, ``PLAIN_DEPTH`` chunk ids each, best first, unfiltered and without priors."""
    from codeintel.retrieval.query import parse_query

    parsed = parse_query(query)
    lists = {"bm25": [cid for cid, _ in searcher.lexical.bm25(parsed.terms, PLAIN_DEPTH)]}
    if searcher.embedder is not None:
        vector = searcher.embedder.embed([parsed.text])[0]
        lists["vector"] = [cid for cid, _ in searcher.vector.search(vector, PLAIN_DEPTH)]
    return lists


class RecordedSearch:
    """The searcher's part in ``candidates_for``, played from a record."""

    def __init__(self, recorded: Record) -> None:
        self.recorded = recorded

    def search(self, query: str, k: int | None = None) -> list[SearchResult]:
        from codeintel.retrieval.search import SearchResult

        if (k or DEPTH) > DEPTH:
            raise ValueError(f"the record holds the best {DEPTH} results, not {k}")
        found = self.recorded.found[: k or DEPTH]
        return [
            SearchResult(self.recorded.chunk(cid), score, signals) for cid, score, signals in found
        ]

    def split_siblings(self, results: list[SearchResult], share: float) -> list[SearchResult]:
        """As ``Searcher.split_siblings``: the unfound parts, each ``share`` of its
        definition's first part found."""
        from codeintel.retrieval.search import SearchResult, split_key

        owners: dict[tuple[str, str, str], SearchResult] = {}
        for result in results:
            key = split_key(result.chunk)
            if key is not None:
                owners.setdefault(key, result)
        found = {r.chunk.id for r in results}
        siblings = []
        for chunk_id in self.recorded.siblings:
            chunk = self.recorded.chunk(chunk_id)
            owner = owners.get((chunk.path, chunk.symbol, chunk.kind))
            if owner is not None and chunk_id not in found:
                siblings.append(SearchResult(chunk, owner.score * share, {"split": 1}))
        return siblings

    def chunks_of(self, paths: list[str]) -> list[Chunk]:
        missing = [path for path in paths if path not in self.recorded.files]
        if missing:
            raise ValueError(f"the record holds no chunks of {missing} (only the {FILES} best)")
        return [self.recorded.chunk(cid) for path in paths for cid in self.recorded.files[path]]
