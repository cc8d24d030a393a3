"""The ranking as pure functions: each signal's ranked chunk ids in, scored hits out.

No I/O: the searcher and the benchmarks' replay of recorded signals (``tune_fusion``) rank
with the same code.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set as AbstractSet

from codeintel.retrieval.fusion import Fused, best_first, reciprocal_rank_fusion
from codeintel.settings import RetrievalSettings

VECTOR_SIGNALS = ("vector", "emphasis")  # lists that cannot rank unembedded chunks


def fuse(
    ranked: dict[str, list[str]],
    weights: dict[str, float],
    rrf_k: float,
    pending: AbstractSet[str] = frozenset(),
) -> list[Fused]:
    """Weighted RRF, where a ``pending`` chunk (not embedded yet) stands in its BM25 rank
    for its rank in each vector list: otherwise every embedded chunk those lists hold
    outranks it, however poor."""
    fused = reciprocal_rank_fusion(ranked, weights, rrf_k)
    vector_lists = [signal for signal in VECTOR_SIGNALS if signal in ranked]
    if not pending or not vector_lists:
        return fused
    weight = sum(weights.get(signal, 1.0) for signal in vector_lists)
    for hit in fused:
        if hit.id in pending and "bm25" in hit.signals:
            hit.score += weight / (rrf_k + hit.signals["bm25"])
    return best_first(fused)


def rank(
    ranked: dict[str, list[str]],
    settings: RetrievalSettings,
    prior_of: Callable[[str], float],
    pending: AbstractSet[str] = frozenset(),
    allowed: Callable[[str], bool] | None = None,
) -> list[Fused]:
    """What search ranks: the signals fused (``fuse``), the hits ``allowed`` keeps, each
    score scaled by ``prior_of`` its chunk id (the file prior: prose, tests and vendored
    code count less)."""
    fused = fuse(ranked, settings.weights(), settings.rrf_k, pending)
    if allowed is not None:
        fused = [hit for hit in fused if allowed(hit.id)]
    for hit in fused:
        hit.score *= prior_of(hit.id)
    return best_first(fused)
