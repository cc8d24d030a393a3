"""Weighted reciprocal rank fusion of ranked lists, remembering which signals found what."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Fused:
    id: str
    score: float = 0.0
    signals: dict[str, int] = field(default_factory=dict)  # signal → 1-based rank in it


def reciprocal_rank_fusion(
    ranked: dict[str, list[str]], weights: dict[str, float], k: float
) -> list[Fused]:
    """score(d) = Σ_s w_s / (k + rank_s(d)); ties broken by the number of signals."""
    fused: dict[str, Fused] = {}
    for signal, ids in ranked.items():
        weight = weights.get(signal, 1.0)
        for rank, chunk_id in enumerate(dict.fromkeys(ids), start=1):
            hit = fused.setdefault(chunk_id, Fused(chunk_id))
            hit.score += weight / (k + rank)
            hit.signals[signal] = rank
    return best_first(fused.values())


def best_first(hits: Iterable[Fused]) -> list[Fused]:
    """Best first; ties go to the hit more signals found, then to the id (a stable order)."""
    return sorted(hits, key=lambda h: (-h.score, -len(h.signals), h.id))


def by_file_rank(
    fused: Iterable[Fused], path_of: dict[str, str], file_ranks: dict[str, int]
) -> list[str]:
    """The ids of ``fused`` hits whose file is ranked, ordered by that file's rank and,
    within a file, in their fused order: a file-level ranking as a signal over chunks."""
    ranked = [hit.id for hit in fused if path_of.get(hit.id) in file_ranks]
    return sorted(ranked, key=lambda chunk_id: file_ranks[path_of[chunk_id]])
