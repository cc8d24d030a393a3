"""Nearest neighbours of the query embedding.

Exact search in numpy over the stored vectors (a 70k×384 matrix product takes a few ms,
where LanceDB's brute-force scan takes far longer); once the build has made an ANN index
(past ``index.vector_index_min_rows`` embedded chunks), that index with a refine step.
Unembedded chunks are simply not here: the lexical signals still find them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codeintel.indexer.sql import sql_in

if TYPE_CHECKING:
    from lance import LanceDataset
    from numpy.typing import NDArray

_REFINE_FACTOR = 10
_PROBES = 16


class VectorSignal:
    def __init__(self, dataset: LanceDataset) -> None:
        self.dataset = dataset
        self.use_ann = any(index["name"] == "vector_idx" for index in dataset.list_indices())
        self._ids: list[str] = []
        self._paths: NDArray[np.str_] = np.array([], dtype=str)
        self._matrix: NDArray[np.float32] | None = None
        self._pending: set[str] | None = None

    def pending(self) -> set[str]:
        """Ids of chunks not embedded yet (read once): this signal cannot rank them."""
        if self._pending is None:
            data = self.dataset.to_table(columns=["id"], filter="vector IS NULL")
            self._pending = {str(i) for i in data.column("id").to_pylist()}
        return self._pending

    def _load(self) -> NDArray[np.float32]:
        if self._matrix is None:
            data = self.dataset.to_table(
                columns=["id", "path", "vector"], filter="vector IS NOT NULL"
            )
            self._ids = [str(i) for i in data.column("id").to_pylist()]
            self._paths = np.array(data.column("path").to_pylist(), dtype=str)
            flat = data.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            dim = max(1, flat.size // max(1, len(self._ids)))
            self._matrix = np.ascontiguousarray(flat.reshape(len(self._ids), dim), dtype=np.float32)
        return self._matrix

    def search(
        self, query: NDArray[np.float32], limit: int, allowed_paths: set[str] | None = None
    ) -> list[tuple[str, float]]:
        """(id, cosine similarity) best first; ``allowed_paths`` restricts the files."""
        if self.use_ann:
            return self._search_ann(query, limit, allowed_paths)
        matrix = self._load()
        if not len(self._ids):
            return []
        scores = matrix @ query.astype(np.float32)
        if allowed_paths is not None:
            scores = np.where(np.isin(self._paths, list(allowed_paths)), scores, -np.inf)
        top = min(limit, len(scores))
        best = np.argpartition(-scores, top - 1)[:top]
        best = best[np.argsort(-scores[best])]
        return [(self._ids[i], float(scores[i])) for i in best if np.isfinite(scores[i])]

    def _search_ann(
        self, query: NDArray[np.float32], limit: int, allowed_paths: set[str] | None
    ) -> list[tuple[str, float]]:
        nearest = {
            "column": "vector",
            "q": query,
            "k": limit,
            "metric": "cosine",
            "refine_factor": _REFINE_FACTOR,
            "nprobes": _PROBES,
        }
        where = sql_in("path", allowed_paths) if allowed_paths is not None else None
        columns = ["id", "_distance"]
        table = self.dataset.to_table(
            columns=columns, nearest=nearest, filter=where, prefilter=True
        )
        distances = table.column("_distance").to_pylist()
        return [
            (i, 1.0 - d) for i, d in zip(table.column("id").to_pylist(), distances, strict=True)
        ]
