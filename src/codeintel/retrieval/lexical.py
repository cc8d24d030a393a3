"""The lexical signals: BM25 over code-aware terms, and exact identifier, path and line matches."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codeintel.indexer.sql import sql_in, sql_like_escaped, sql_list, sql_string
from codeintel.retrieval.query import Frame

if TYPE_CHECKING:
    from lance import LanceDataset

    from codeintel.retrieval.freshness import Remapper


# Rows fetched past a full-text limit at least, to order the ties at the cut by key.
_TIE_MARGIN = 10


def _and(*clauses: str | None) -> str | None:
    parts = [f"({clause})" for clause in clauses if clause]
    return " AND ".join(parts) or None


def _full_text(
    dataset: LanceDataset, columns: list[str], terms: str, limit: int, where: str | None
) -> list[dict[str, Any]]:
    """``columns`` and ``_score`` of the rows whose ``terms`` best match BM25, best first,
    equal scores in the order of ``columns[0]`` (the key): Lance returns ties in storage
    order, which depends on the builds that wrote the rows. A margin past ``limit`` is
    fetched so ties at the cut are mostly settled by the key too."""
    if not terms.strip():
        return []
    rows = dataset.to_table(
        columns=[*columns, "_score"],
        full_text_query={"columns": ["terms"], "query": terms},
        filter=where,
        prefilter=True,
        limit=limit + max(limit // 2, _TIE_MARGIN),
    ).to_pylist()
    key = columns[0]
    return sorted(rows, key=lambda row: (-row["_score"], row[key]))[:limit]


def _symbol_is(name: str) -> str:
    """The chunk's symbol is ``name``, or a longer dotted name ending with it."""
    suffix = sql_string("%." + sql_like_escaped(name))
    return f"symbol = {sql_string(name)} OR symbol LIKE {suffix} ESCAPE '\\'"


class LexicalSignals:
    def __init__(self, chunks: LanceDataset, files: LanceDataset, paths: list[str]) -> None:
        self.dataset = chunks
        self.files = files
        self.paths = paths  # every indexed file path

    def bm25(self, terms: str, limit: int, where: str | None = None) -> list[tuple[str, float]]:
        """(chunk id, score) by BM25 over each chunk's terms."""
        rows = _full_text(self.dataset, ["id"], terms, limit, where)
        return [(row["id"], row["_score"]) for row in rows]

    def bm25_files(
        self, terms: str, limit: int, where: str | None = None
    ) -> list[tuple[str, float]]:
        """(path, score) by BM25 over each whole file's terms: a file whose parts match
        different words of a long question ranks high though no one chunk matches them all."""
        rows = _full_text(self.files, ["path"], terms, limit, where)
        return [(row["path"], row["_score"]) for row in rows]

    def best_in_files(self, terms: str, paths: list[str], where: str | None = None) -> list[str]:
        """For each of ``paths``, its best chunk by BM25 among the best ``20 × len(paths)``
        matches in those files (so a file whose chunks all match weakly may bring none)."""
        if not paths:
            return []
        in_paths = _and(sql_in("path", paths), where)
        hits = _full_text(self.dataset, ["id", "path"], terms, 20 * len(paths), in_paths)
        best: dict[str, str] = {}
        for hit in hits:
            best.setdefault(hit["path"], hit["id"])
        return list(best.values())

    def defining(
        self, identifiers: list[str], dotted: list[str], limit: int, where: str | None = None
    ) -> list[str]:
        """Chunks that define a named identifier: dotted names (``Class.method``) first, then
        by the position in the query of the first identifier each defines."""
        exact = self._dotted(dotted, limit, where)
        if not identifiers:
            return exact
        clause = f"array_has_any(defines, [{sql_list(identifiers)}])"
        rows = self._rows(self._ids(_and(clause, where), limit), ["id", "defines"])
        position = {name: i for i, name in enumerate(identifiers)}

        def first_named(row: dict[str, Any]) -> int:
            return min((position.get(d, len(position)) for d in row["defines"] or []), default=0)

        by_query_order = [row["id"] for row in sorted(rows, key=first_named)]
        return list(dict.fromkeys(exact + by_query_order))[:limit]

    def _dotted(self, dotted: list[str], limit: int, where: str | None) -> list[str]:
        """Chunks whose symbol is a dotted name (or ends with it), then chunks of the name's
        owner that define its last part: a class small enough to stay one chunk holds its
        methods (``Expression.compile`` is inside the chunk of ``Expression``)."""
        owned = [name.rpartition(".") for name in dotted]
        clauses = [_symbol_is(name) for name in dotted] + [
            f"({_symbol_is(owner)}) AND array_has_any(defines, [{sql_list([member])}])"
            for owner, _, member in owned
            if owner
        ]
        if not clauses:
            return []
        filter_ = _and(" OR ".join(f"({clause})" for clause in clauses), where)
        rows = self.dataset.to_table(columns=["id", "symbol"], filter=filter_).to_pylist()
        named = set(dotted)

        def is_named(row: dict[str, Any]) -> bool:
            symbol = row["symbol"]
            return any(symbol == name or symbol.endswith(f".{name}") for name in named)

        return [row["id"] for row in sorted(rows, key=lambda r: not is_named(r))][:limit]

    def resolve_paths(self, mentioned: list[str], min_parts: int = 1) -> list[str]:
        """Indexed paths a mention refers to: exact, else the longest matching suffix of at
        least ``min_parts`` components."""
        resolved: list[str] = []
        for mention in mentioned:
            parts = mention.replace("\\", "/").lstrip("./").split("/")
            for start in range(max(1, len(parts) - min_parts + 1)):
                suffix = "/".join(parts[start:])
                hits = [p for p in self.paths if p == suffix or p.endswith("/" + suffix)]
                if hits:
                    resolved += hits if len(hits) <= 3 else []
                    break
        return list(dict.fromkeys(resolved))

    def in_files(
        self, paths: list[str], terms: str, limit: int, where: str | None = None
    ) -> list[str]:
        """The chunks of named files, the ones matching the query's terms first."""
        if not paths:
            return []
        in_paths = sql_in("path", paths)
        ranked = [chunk_id for chunk_id, _ in self.bm25(terms, limit, _and(in_paths, where))]
        rest = self._ids(_and(in_paths, where), limit)
        return list(dict.fromkeys(ranked + rest))[:limit]

    def at_lines(
        self, frames: list[Frame], where: str | None = None, remapper: Remapper | None = None
    ) -> list[str]:
        """Chunks holding the lines of stack-trace frames, innermost frame first. A frame's
        line is the file's line now: in a file changed since the build, ``remapper`` finds
        the chunk there now, which the index holds only if it merely moved."""
        found: list[str] = []
        for frame in reversed(frames):
            for path in self.resolve_paths([frame.path]):
                clause = (
                    f"path = {sql_string(path)} AND start_line <= {frame.line} "
                    f"AND end_line >= {frame.line}"
                )
                if remapper is not None and remapper.is_stale(path):
                    current = remapper.id_at(path, frame.line)
                    if current is None:
                        continue
                    clause = f"id = {sql_string(current)}"
                found += self._ids(_and(clause, where), 1)
        return list(dict.fromkeys(found))

    def _ids(self, where: str | None, limit: int) -> list[str]:
        if not where:
            return []
        table = self.dataset.to_table(columns=["id"], filter=where, limit=limit)
        return [str(i) for i in table.column("id").to_pylist()]

    def _rows(self, ids: list[str], columns: list[str]) -> list[dict[str, Any]]:
        if not ids:
            return []
        filter_ = sql_in("id", ids)
        return list(self.dataset.to_table(columns=columns, filter=filter_).to_pylist())
