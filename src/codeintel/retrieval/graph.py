"""The symbol graph around the top hits, ranked by personalized PageRank.

Chunks are nodes. A chunk that references an identifier points to the chunks defining it
(its callees, types, imported names); a member points to its enclosing class. Starting from
the best fused hits, the neighbourhood is fetched with filters on the ``defines`` and
``references`` columns (no whole-graph load), and PageRank personalized on the seeds ranks
it: Aider's repo-map idea, seeded by retrieval instead of chat files.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from codeintel.indexer.sql import sql_list, sql_string

if TYPE_CHECKING:
    from lancedb.table import Table

_COLUMNS = ["id", "path", "symbol", "parent", "defines", "references"]
_NEIGHBOURS = 200
_MAX_DEFINERS = 8  # an identifier defined in more places than this is too common to follow
_DAMPING = 0.85
_ITERATIONS = 30


class SymbolGraph:
    def __init__(self, table: Table) -> None:
        self.table = table

    def _rows(self, where: str, limit: int) -> list[dict[str, Any]]:
        data = self.table.to_lance().to_table(columns=_COLUMNS, filter=where, limit=limit)
        return list(data.to_pylist())

    def neighbourhood(self, seeds: dict[str, float]) -> list[tuple[str, float]]:
        """(id, PageRank) of seeds' neighbours, best first (the seeds themselves left out)."""
        if not seeds:
            return []
        seed_rows = self._rows(f"id IN ({sql_list(seeds)})", len(seeds))
        references = {r for row in seed_rows for r in row["references"] or []}
        defined = {d for row in seed_rows for d in row["defines"] or []}
        clauses = []
        if references:
            clauses.append(f"array_has_any(defines, [{sql_list(sorted(references))}])")
        if defined:
            clauses.append(f"array_has_any(references, [{sql_list(sorted(defined))}])")
        clauses += [
            f"(path = {sql_string(row['path'])} AND symbol = {sql_string(row['parent'])})"
            for row in seed_rows
            if row["parent"]
        ]
        if not clauses:
            return []
        rows = {row["id"]: row for row in seed_rows}
        for row in self._rows(" OR ".join(clauses), _NEIGHBOURS * 4):
            rows.setdefault(row["id"], row)
        ranks = personalized_pagerank(_edges(list(rows.values())), seeds)
        found = [(node, score) for node, score in ranks.items() if node not in seeds]
        return sorted(found, key=lambda item: -item[1])[:_NEIGHBOURS]


def _edges(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Weighted edges among the given chunks: reference → definition, member → class."""
    definers: dict[str, list[str]] = defaultdict(list)
    by_symbol: dict[tuple[str, str], str] = {}
    for row in rows:
        for name in row["defines"] or []:
            definers[name].append(row["id"])
        by_symbol[(row["path"], row["symbol"])] = row["id"]
    edges: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        for name in row["references"] or []:
            targets = definers.get(name, [])
            if 0 < len(targets) <= _MAX_DEFINERS:
                weight = 1.0 / math.log2(1 + len(targets))
                for target in targets:
                    if target != row["id"]:
                        edges[row["id"]][target] = edges[row["id"]].get(target, 0.0) + weight
                        edges[target].setdefault(row["id"], 0.0)
                        edges[target][row["id"]] += 0.5 * weight  # callers matter, less
        owner = by_symbol.get((row["path"], row["parent"]))
        if owner and owner != row["id"]:
            edges[row["id"]][owner] = edges[row["id"]].get(owner, 0.0) + 1.0
            edges[owner][row["id"]] = edges[owner].get(row["id"], 0.0) + 0.5
    return edges


def personalized_pagerank(
    edges: dict[str, dict[str, float]], personalization: dict[str, float]
) -> dict[str, float]:
    """Power iteration; dangling nodes and the damping mass return to the seeds."""
    total = sum(personalization.values()) or 1.0
    restart = {node: weight / total for node, weight in personalization.items()}
    nodes = set(edges) | set(restart) | {t for targets in edges.values() for t in targets}
    rank = {node: restart.get(node, 0.0) for node in nodes}
    out_weight = {node: sum(targets.values()) for node, targets in edges.items()}
    for _ in range(_ITERATIONS):
        nxt = {node: (1 - _DAMPING) * restart.get(node, 0.0) for node in nodes}
        dangling = 0.0
        for node, value in rank.items():
            weight = out_weight.get(node, 0.0)
            if weight <= 0:
                dangling += value
                continue
            for target, edge in edges[node].items():
                nxt[target] += _DAMPING * value * edge / weight
        for node, share in restart.items():
            nxt[node] += _DAMPING * dangling * share
        rank = nxt
    return rank
