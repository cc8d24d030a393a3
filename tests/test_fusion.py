"""Weighted reciprocal rank fusion, checked against a brute-force reference."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from codeintel.retrieval.fusion import Fused, by_file_rank, reciprocal_rank_fusion

SIGNALS = ["bm25", "vector", "symbol", "path", "frame", "graph", "file", "focus", "emphasis"]
ids = st.sampled_from([f"c{i}" for i in range(12)])
ranked_lists = st.dictionaries(st.sampled_from(SIGNALS), st.lists(ids, max_size=10), max_size=6)
weights = st.dictionaries(
    st.sampled_from(SIGNALS), st.floats(0.0, 3.0, allow_nan=False), max_size=6
)


def reference(
    ranked: dict[str, list[str]], weights: dict[str, float], k: float
) -> dict[str, tuple[float, dict[str, int]]]:
    """Σ w_s / (k + rank), each list's first occurrence of an id counting, by brute force."""
    out: dict[str, tuple[float, dict[str, int]]] = {}
    every = {chunk_id for ids in ranked.values() for chunk_id in ids}
    for chunk_id in every:
        score, found = 0.0, {}
        for signal, ids in ranked.items():
            seen: list[str] = []
            for item in ids:
                if item not in seen:
                    seen.append(item)
            if chunk_id in seen:
                rank = seen.index(chunk_id) + 1
                score += weights.get(signal, 1.0) / (k + rank)
                found[signal] = rank
        out[chunk_id] = (score, found)
    return out


@settings(max_examples=300, deadline=None)
@given(ranked_lists, weights, st.floats(1.0, 100.0))
def test_matches_brute_force(
    ranked: dict[str, list[str]], weights: dict[str, float], k: float
) -> None:
    fused = reciprocal_rank_fusion(ranked, weights, k)
    expected = reference(ranked, weights, k)
    assert {hit.id for hit in fused} == set(expected)
    assert len(fused) == len(expected)  # each id once
    for hit in fused:
        score, found = expected[hit.id]
        assert math.isclose(hit.score, score, rel_tol=1e-9, abs_tol=1e-12)
        assert hit.signals == found
    # best first; among equal scores, the one more signals found first
    keys = [(-hit.score, -len(hit.signals)) for hit in fused]
    assert keys == sorted(keys)


@given(ranked_lists, st.floats(1.0, 100.0))
def test_scaling_all_weights_keeps_the_order(ranked: dict[str, list[str]], k: float) -> None:
    ones = [hit.id for hit in reciprocal_rank_fusion(ranked, {}, k)]
    doubled = {signal: 2.0 for signal in SIGNALS}
    assert [hit.id for hit in reciprocal_rank_fusion(ranked, doubled, k)] == ones


def test_agreement_beats_a_single_first_place() -> None:
    fused = reciprocal_rank_fusion(
        {"bm25": ["a", "b"], "vector": ["c", "b"]}, {"bm25": 1.0, "vector": 1.0}, 60.0
    )
    assert fused[0].id == "b" and fused[0].signals == {"bm25": 2, "vector": 2}
    assert fused[0].score == 2 / 62


def test_weights_apply_per_signal() -> None:
    fused = reciprocal_rank_fusion(
        {"bm25": ["a"], "symbol": ["b"]}, {"bm25": 1.0, "symbol": 1.5}, 60.0
    )
    assert [hit.id for hit in fused] == ["b", "a"]
    assert fused[0].score == 1.5 / 61


def test_empty() -> None:
    assert reciprocal_rank_fusion({}, {}, 60.0) == []
    assert reciprocal_rank_fusion({"bm25": []}, {}, 60.0) == []


def test_by_file_rank_orders_hits_by_their_files_rank_then_their_own() -> None:
    fused = [Fused("a1"), Fused("b1"), Fused("c1"), Fused("a2"), Fused("b2")]
    path_of = {"a1": "a.py", "a2": "a.py", "b1": "b.py", "b2": "b.py", "c1": "c.py"}
    assert by_file_rank(fused, path_of, {"b.py": 1, "a.py": 2}) == ["b1", "b2", "a1", "a2"]
    assert by_file_rank(fused, path_of, {}) == []
