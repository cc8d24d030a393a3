"""The symbol graph around the top hits, ranked by personalized PageRank.

Chunks are nodes. A chunk that references an identifier points to the chunks defining it
(its callees, types, imported names); a member points to its enclosing class. Starting from
the best fused hits, the neighbourhood is looked up in name → chunk maps built once per
Searcher from the ``defines`` and ``references`` columns, and PageRank personalized on the
seeds ranks it: Aider's repo-map idea, seeded by retrieval instead of chat files.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from lancedb.table import Table

_COLUMNS = ["id", "path", "symbol", "parent", "defines", "references"]
_NEIGHBOURS = 200
_MAX_DEFINERS = 8  # an identifier defined in more places than this is too common to follow
_DAMPING = 0.85
_ITERATIONS = 30


class SymbolGraph:
    """Reads the graph columns once per instance (like the vector matrix) and answers
    neighbourhoods from in-memory name → chunk maps: a filtered scan per query over every
    row's ``defines`` and ``references`` took ~0.5 s on a 70k-chunk index."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._loaded: _Loaded | None = None

    def _load(self) -> _Loaded:
        if self._loaded is None:
            data = self.table.to_lance().to_table(columns=_COLUMNS).to_pylist()
            self._loaded = _Loaded(data)
        return self._loaded

    def neighbourhood(self, seeds: dict[str, float]) -> list[tuple[str, float]]:
        """(id, PageRank) of seeds' neighbours, best first (the seeds themselves left out)."""
        if not seeds:
            return []
        graph = self._load()
        seed_rows = [graph.rows[i] for i in (graph.by_id.get(s) for s in seeds) if i is not None]
        references = {r for row in seed_rows for r in row["references"] or []}
        defined = {d for row in seed_rows for d in row["defines"] or []}
        found: set[int] = set()
        for name in references:
            found.update(graph.definers.get(name, ()))
        for name in defined:
            found.update(graph.referrers.get(name, ()))
        for row in seed_rows:
            if row["parent"]:
                found.update(graph.by_symbol.get((row["path"], row["parent"]), ()))
        if not found:
            return []
        rows = {row["id"]: row for row in seed_rows}
        for index in sorted(found)[: _NEIGHBOURS * 4]:
            rows.setdefault(graph.rows[index]["id"], graph.rows[index])
        ranks = personalized_pagerank(_edges(list(rows.values())), seeds)
        found_ranks = [(node, score) for node, score in ranks.items() if node not in seeds]
        return sorted(found_ranks, key=lambda item: -item[1])[:_NEIGHBOURS]


class _Loaded:
    """The graph columns of every chunk, indexed by defined and referenced name."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.by_id = {row["id"]: i for i, row in enumerate(rows)}
        self.definers: dict[str, list[int]] = defaultdict(list)
        self.referrers: dict[str, list[int]] = defaultdict(list)
        self.by_symbol: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            for name in row["defines"] or []:
                self.definers[name].append(i)
            for name in row["references"] or []:
                self.referrers[name].append(i)
            self.by_symbol[(row["path"], row["symbol"])].append(i)


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
    """Power iteration (numpy, over edge arrays); dangling nodes and the damping mass return
    to the seeds."""
    nodes = list(
        dict.fromkeys([*personalization, *edges, *(t for ts in edges.values() for t in ts)])
    )
    index = {node: i for i, node in enumerate(nodes)}
    restart = np.zeros(len(nodes))
    for node, seed_weight in personalization.items():
        restart[index[node]] = seed_weight
    restart /= restart.sum() or 1.0
    src = np.array([index[s] for s, ts in edges.items() for _ in ts], dtype=np.int64)
    dst = np.array([index[t] for ts in edges.values() for t in ts], dtype=np.int64)
    weight = np.array([w for ts in edges.values() for w in ts.values()], dtype=np.float64)
    out_weight = np.bincount(src, weights=weight, minlength=len(nodes))
    share = weight / np.where(out_weight[src] > 0, out_weight[src], 1.0)
    dangling_nodes = out_weight <= 0
    rank = restart.copy()
    for _ in range(_ITERATIONS):
        spread = np.bincount(dst, weights=rank[src] * share, minlength=len(nodes))
        dangling = rank[dangling_nodes].sum()
        rank = (1 - _DAMPING) * restart + _DAMPING * spread + _DAMPING * dangling * restart
    return {node: float(rank[i]) for i, node in enumerate(nodes)}
