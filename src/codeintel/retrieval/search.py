"""Hybrid search: BM25, vectors, exact identifier/path/frame matches and the symbol graph,
fused into one ranking where every result says which signals found it."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from codeintel.errors import ConfigError
from codeintel.indexer.discover import path_patterns
from codeintel.indexer.embedder import Embedder
from codeintel.indexer.languages import LANGUAGES
from codeintel.indexer.models import Chunk
from codeintel.indexer.repository import Repository
from codeintel.indexer.snapshot import Snapshot
from codeintel.indexer.sql import sql_in, sql_string
from codeintel.retrieval.catalogue import Catalogue
from codeintel.retrieval.freshness import Remapper
from codeintel.retrieval.fusion import Fused, by_file_rank
from codeintel.retrieval.graph import SymbolGraph
from codeintel.retrieval.lexical import LexicalSignals
from codeintel.retrieval.priors import file_prior
from codeintel.retrieval.query import ParsedQuery, parse_query, require_question
from codeintel.retrieval.rank import VECTOR_SIGNALS, fuse, rank
from codeintel.retrieval.vector import VectorSignal
from codeintel.settings import RetrievalSettings

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray


_UNSPLIT_KINDS = frozenset({"code", "section", "lines"})  # their symbol is not their own
_FILES_BROUGHT_IN = 10  # top files by whole-file BM25 that bring a chunk no signal found
_FILES_OPENED = 3  # top files whose other chunks join the file signal, by similarity
_CHUNKS_PER_OPENED_FILE = 8
_FOCUS_FILES = 3  # files of the fused ranking whose best chunks are listed again
_FOCUS_CHUNKS_PER_FILE = 4


def split_key(chunk: Chunk) -> tuple[str, str, str] | None:
    """What the parts of one split definition share (path, symbol, kind); None for chunks
    whose symbol is not their own (module-level code, document sections, line windows)."""
    if not chunk.symbol or chunk.kind in _UNSPLIT_KINDS:
        return None
    return chunk.path, chunk.symbol, chunk.kind


@dataclass
class SearchResult:
    chunk: Chunk
    score: float
    signals: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "path": c.path,
            "start_line": c.start_line,
            "end_line": c.end_line,
            "symbol": c.symbol,
            "kind": c.kind,
            "score": round(self.score, 6),
            "signals": self.signals,
        }


@dataclass(frozen=True)
class IndexCoverage:
    """What a search could draw on: the index's chunks, how many have vectors, and the
    signals that ran (no vector signals without vectors or with ``lexical``)."""

    chunks: int
    embedded: int
    signals: list[str]


@dataclass(frozen=True)
class SearchResults:
    """The ``search --json`` shape: the results, best first, and what found them."""

    results: list[SearchResult]
    index: IndexCoverage

    def to_json(self) -> dict[str, Any]:
        return {
            "results": [result.to_json() for result in self.results],
            "index": asdict(self.index),
        }


@dataclass(frozen=True)
class Filters:
    """Which chunks a search may return: a language (any case), a path glob, a folder."""

    language: str | None = None
    path_glob: str | None = None
    folder: str = ""  # a folder of the repository, posix, relative to its root
    _glob: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.path_glob:
            object.__setattr__(self, "_glob", path_patterns([self.path_glob]))
        if self.language is None:
            return
        language = self.language.lower()
        known = [spec.name for spec in LANGUAGES]
        if language not in known:
            raise ConfigError(
                f"unknown language {self.language!r}; known: {', '.join(sorted(known))}"
            )
        object.__setattr__(self, "language", language)

    @property
    def restricts_paths(self) -> bool:
        return bool(self.path_glob or self._prefix)

    @property
    def _prefix(self) -> str:
        """``folder`` as a path prefix (``src/app/``); empty for the whole repository."""
        folder = PurePosixPath(self.folder or ".").as_posix()
        return "" if folder == "." else folder.strip("/") + "/"

    def allows(self, path: str, language: str) -> bool:
        if self.language and language != self.language:
            return False
        if not path.startswith(self._prefix):
            return False
        return not self.path_glob or bool(self._glob.match_file(path))


class Searcher:
    """Answers queries against one repository's index; keep it to reuse loaded state."""

    def __init__(
        self,
        repo: Repository,
        settings: RetrievalSettings | None = None,
        embedder: Embedder | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        """``snapshot``: the index version to read (default: the current one)."""
        self.repo = repo
        self.settings = settings or RetrievalSettings()
        self.embedder = embedder
        if snapshot is None:
            snapshot = repo.snapshot(check=embedder is not None)
        elif embedder is not None:
            snapshot.meta.check(repo.expected_meta())
        self.snapshot = snapshot
        self.remapper = Remapper(repo, snapshot.file_states()) if self.settings.freshness else None
        self.catalogue = Catalogue(snapshot, self.remapper)
        self.languages = self.catalogue.languages
        self.lexical = LexicalSignals(snapshot.chunks, snapshot.files, sorted(self.languages))
        self.vector = VectorSignal(snapshot.chunks)
        self.graph = SymbolGraph(snapshot.chunks)
        self._priors: dict[str, float] = {}

    def available_signals(self) -> list[str]:
        """The signals this searcher runs: weighted above 0, the vector ones only with an
        embedder."""
        return [
            signal
            for signal, weight in self.settings.weights().items()
            if weight > 0 and (self.embedder is not None or signal not in VECTOR_SIGNALS)
        ]

    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> list[SearchResult]:
        """The ``k`` best chunks for ``query``, best first."""
        k = k or self.settings.k
        filters = filters or Filters()
        return self._results(self._ranked_hits(self.rankings(query, filters), filters), k)

    def rankings(self, query: str, filters: Filters | None = None) -> dict[str, list[str]]:
        """Each signal's chunk ids for ``query``, best first: what ``search`` fuses (exposed
        for diagnostics and weight tuning). The ``file`` list orders the other signals' fused
        hits by file; the ``graph`` list is seeded by the fused top hits of all the others;
        the ``focus`` list is drawn from the fused ranking of everything before it."""
        require_question(query)
        filters = filters or Filters()
        parsed = parse_query(query)
        query_vector, emphasis_vector = self._embed(parsed)
        ranked = self._signals(parsed, filters, query_vector, emphasis_vector)
        if self.settings.weight_file > 0:
            ranked["file"] = self._file_signal(parsed, filters, ranked, query_vector)
        if self.settings.graph_seeds and self.settings.weight_graph > 0:
            fused = self._fuse(ranked)
            seeds = {hit.id: hit.score for hit in fused[: self.settings.graph_seeds]}
            # The seeds lead the list in their fused order: the graph adds neighbours below
            # them, it does not reorder the hits it was found from.
            neighbours = [chunk_id for chunk_id, _ in self.graph.neighbourhood(seeds)]
            ranked["graph"] = [*seeds, *neighbours][: self.settings.candidates]
        if self.settings.weight_focus > 0:
            ranked["focus"] = self._focus(ranked, filters)
        return ranked

    def split_siblings(self, results: list[SearchResult], share: float) -> list[SearchResult]:
        """The other parts of split definitions among ``results`` (a function too long for
        one chunk is stored as parts sharing path, symbol and kind), each scored ``share``
        of the first (best-ranked) part found: the edit may sit in a part that did not
        match the query."""
        found = {r.chunk.id for r in results}
        owners: dict[tuple[str, str, str], SearchResult] = {}
        for result in results:
            key = split_key(result.chunk)
            if key is not None:
                owners.setdefault(key, result)
        if not owners:
            return []
        clauses = " OR ".join(
            f"(path = {sql_string(p)} AND symbol = {sql_string(sym)} AND kind = {sql_string(k)})"
            for p, sym, k in owners
        )
        siblings = []
        stored = sorted(self.catalogue.stored(clauses), key=lambda c: (c.path, c.start_line))
        for chunk in stored:  # in line order, not the table's: equal scores tie the same way
            owner = owners[(chunk.path, chunk.symbol, chunk.kind)]
            current = self.catalogue.on_disk(chunk)
            if current is not None and chunk.id not in found:
                siblings.append(SearchResult(current, owner.score * share, {"split": 1}))
        return siblings

    def chunks_of(self, paths: list[str]) -> list[Chunk]:
        """Every chunk of ``paths`` as it is on disk now, in file and line order."""
        return self.catalogue.chunks_of(paths)

    def named(self, names: list[str], limit: int = 20) -> list[Chunk]:
        """The code a reader asked for by name, as it is on disk now: every chunk of each
        indexed file named, then the chunks defining each identifier or dotted name
        (``Class.method``), in the order asked."""
        files = [name for name in names if name in self.catalogue.languages]
        symbols = [name for name in names if name not in self.catalogue.languages]
        dotted = [name for name in symbols if "." in name]
        plain = [name for name in symbols if "." not in name]
        ids = self.lexical.defining(plain, dotted, limit) if symbols else []
        fetched = self.catalogue.fetch(ids)
        defined = (self.catalogue.on_disk(fetched[i]) for i in ids if i in fetched)
        return self.chunks_of(files) + [chunk for chunk in defined if chunk is not None]

    def _ranked_hits(self, ranked: dict[str, list[str]], filters: Filters) -> list[Fused]:
        """The signals ranked as ``search`` ranks them (``rank``): filtered (graph
        neighbours are not filtered where they are found), scaled by their files' priors."""
        path_of = self.catalogue.path_of()
        allowed = self._allowed_paths(filters)
        return rank(
            ranked,
            self.settings,
            prior_of=lambda chunk_id: self._prior(path_of.get(chunk_id, "")),
            pending=self._pending(ranked),
            allowed=None if allowed is None else lambda chunk_id: path_of.get(chunk_id) in allowed,
        )

    def _focus(self, ranked: dict[str, list[str]], filters: Filters) -> list[str]:
        """The best few chunks of the few best files of the fused ranking, in its order.

        Fusion interleaves files: where the answer's file ranks first, the function to
        change is often among that file's first four chunks but 14th–72nd overall, behind
        other files' hits. Listing the top files' best chunks again lifts them above those."""
        hits = self._ranked_hits(ranked, filters)
        paths = self.catalogue.paths_of([hit.id for hit in hits])
        taken: dict[str, int] = {}  # path → chunks listed
        focus = []
        for hit in hits:
            path = paths.get(hit.id)
            if path is None or (path not in taken and len(taken) == _FOCUS_FILES):
                continue
            if taken.setdefault(path, 0) < _FOCUS_CHUNKS_PER_FILE:
                taken[path] += 1
                focus.append(hit.id)
        return focus

    def _prior(self, path: str) -> float:
        prior = self._priors.get(path)
        if prior is None:
            prior = file_prior(path, self.languages.get(path, ""), self.settings)
            self._priors[path] = prior
        return prior

    def _fuse(self, ranked: dict[str, list[str]]) -> list[Fused]:
        return fuse(ranked, self.settings.weights(), self.settings.rrf_k, self._pending(ranked))

    def _pending(self, ranked: dict[str, list[str]]) -> AbstractSet[str]:
        """Chunks without vectors, read only when a vector list is among ``ranked``."""
        return self.vector.pending() if set(VECTOR_SIGNALS) & set(ranked) else frozenset()

    def _where(self, filters: Filters) -> str | None:
        clauses = []
        if filters.language:
            clauses.append(f"language = {sql_string(filters.language)}")
        allowed = self._allowed_paths(filters)
        if filters.restricts_paths and allowed is not None:
            clauses.append(sql_in("path", sorted(allowed)))
        return " AND ".join(clauses) or None

    def _allowed_paths(self, filters: Filters) -> set[str] | None:
        if not filters.language and not filters.restricts_paths:
            return None
        return {p for p, lang in self.languages.items() if filters.allows(p, lang)}

    def _embed(
        self, parsed: ParsedQuery
    ) -> tuple[NDArray[np.float32] | None, NDArray[np.float32] | None]:
        """The question's vector and, for a question with stressed words, theirs. MiniLM
        reads a long issue's first 256 word pieces; the stressed words alone make a sharper
        query beside it. Two calls, not one batch: a batch pads the short text to the long
        one's length (1.7× the question's own encode time, against 1.3× apart)."""
        if self.embedder is None:
            return None, None
        question = self.embedder.embed([parsed.text])[0]
        if not parsed.emphasis or self.settings.weight_emphasis <= 0:
            return question, None
        return question, self.embedder.embed([parsed.emphasis])[0]

    def _signals(
        self,
        parsed: ParsedQuery,
        filters: Filters,
        query_vector: NDArray[np.float32] | None,
        emphasis_vector: NDArray[np.float32] | None,
    ) -> dict[str, list[str]]:
        n = self.settings.candidates
        where = self._where(filters)
        lexical = self.lexical
        ranked = {
            "bm25": [chunk_id for chunk_id, _ in lexical.bm25(parsed.terms, n, where)],
            "symbol": lexical.defining(parsed.identifiers, parsed.dotted, n, where),
            "path": lexical.in_files(self._named_files(parsed), parsed.terms, n, where),
            "frame": lexical.at_lines(parsed.frames, where, self.remapper),
        }
        allowed = self._allowed_paths(filters)
        if query_vector is not None:
            ranked["vector"] = [cid for cid, _ in self.vector.search(query_vector, n, allowed)]
        if emphasis_vector is not None:
            found = self.vector.search(emphasis_vector, n, allowed)
            ranked["emphasis"] = [chunk_id for chunk_id, _ in found]
        return {signal: ids for signal, ids in ranked.items() if ids}

    def _file_signal(
        self,
        parsed: ParsedQuery,
        filters: Filters,
        ranked: dict[str, list[str]],
        query_vector: NDArray[np.float32] | None,
    ) -> list[str]:
        """The other signals' fused hits, ordered by their file's whole-file BM25 rank. A
        top file none of them found brings in its best BM25 chunk; the very top files add
        their other chunks after their hits, most similar to the query first."""
        file_ranks = self._file_ranks(parsed, filters)
        if not file_ranks:
            return []
        where = self._where(filters)
        fused = self._fuse(ranked)
        path_of = self.catalogue.paths_of([hit.id for hit in fused])
        found = set(path_of.values())
        missing = [path for path in list(file_ranks)[:_FILES_BROUGHT_IN] if path not in found]
        brought = self.lexical.best_in_files(parsed.terms, missing, where)
        inside = [
            chunk_id
            for path in list(file_ranks)[:_FILES_OPENED]
            for chunk_id in self._closest_in_file(path, parsed, where, query_vector)
        ]
        path_of.update(self.catalogue.paths_of([*brought, *inside]))
        hits = [*fused, *map(Fused, brought), *map(Fused, inside)]
        return list(dict.fromkeys(by_file_rank(hits, path_of, file_ranks)))

    def _closest_in_file(
        self,
        path: str,
        parsed: ParsedQuery,
        where: str | None,
        query_vector: NDArray[np.float32] | None,
    ) -> list[str]:
        """The chunks of ``path`` most similar to the query (by BM25 without an embedder)."""
        n = _CHUNKS_PER_OPENED_FILE
        if query_vector is None:
            return self.lexical.in_files([path], parsed.terms, n, where)
        return [chunk_id for chunk_id, _ in self.vector.search(query_vector, n, {path})]

    def _file_ranks(self, parsed: ParsedQuery, filters: Filters) -> dict[str, int]:
        """path → rank by whole-file BM25, its score scaled by the file's prior first."""
        found = self.lexical.bm25_files(
            parsed.terms, self.settings.candidates, self._where(filters)
        )
        scored = sorted(
            ((path, score * self._prior(path)) for path, score in found), key=lambda item: -item[1]
        )
        return {path: rank for rank, (path, _) in enumerate(scored, start=1)}

    def _named_files(self, parsed: ParsedQuery) -> list[str]:
        """Files the query names by path, or by dotted module name (whole suffixes only)."""
        named = self.lexical.resolve_paths(parsed.paths)
        return named + self.lexical.resolve_paths(parsed.module_paths, min_parts=2)

    def _results(self, fused: list[Fused], k: int) -> list[SearchResult]:
        results: list[SearchResult] = []
        window = fused[: k * 2 if self.remapper else k]
        chunks = self.catalogue.fetch([hit.id for hit in window])
        for hit in window:
            chunk = chunks.get(hit.id)
            if chunk is not None:
                chunk = self.catalogue.on_disk(chunk)
            if chunk is not None:
                results.append(SearchResult(chunk, hit.score, hit.signals))
        return results[:k]
