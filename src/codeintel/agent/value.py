"""The packer's value model: how likely an item is to hold a line the change must edit,
and how likely its file is to be one the change edits.

An item (one chunk, or every part of a split definition) is described by its rank among the
items (by retrieval score; tied scores share the better rank), its file's rank, its size in
tokens when shown in full, its kind, how it became a candidate and how many items its file
has among the candidates (an edit is one of them). A logistic model over those gives the
probability that it holds an edit site; a second one, over its file's rank and whether the
file is prose, the probability that its file is edited. Their coefficients are fitted on
the gold edit sites and files of the dev set (``python -m benchmarks.replay_packing --fit``;
the fit and what it shows: docs/decisions.md). Pure: no I/O.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from codeintel.settings import EDIT_FEATURES

ItemClass = Literal["definition", "head", "code", "text"]
Origin = Literal["retrieved", "part", "companion"]

FEATURES = EDIT_FEATURES  # the model's inputs, in its coefficients' order after the intercept


@dataclass(frozen=True)
class Features:
    """What the model knows of an item (``file_units``: its file's items among all)."""

    rank: int
    file_rank: int
    tokens: int
    item_class: ItemClass
    origin: Origin
    file_units: int

    def vector(self) -> list[float]:
        """1 (the intercept), then ``FEATURES`` in order."""
        return [
            1.0,
            math.log(self.rank),
            math.log(self.file_rank),
            math.log(max(self.tokens, 1)),
            float(self.item_class == "head"),
            float(self.item_class == "code"),
            float(self.item_class == "text"),
            float(self.origin == "companion"),
            math.log(self.file_units),
        ]


def edit_probability(features: Features, coefficients: Sequence[float]) -> float:
    """The fitted probability that the item holds an edit site."""
    if len(coefficients) != len(FEATURES) + 1:
        raise ValueError(
            f"the edit model takes {len(FEATURES) + 1} coefficients (intercept, "
            f"{', '.join(FEATURES)}); got {len(coefficients)}"
        )
    return _sigmoid(sum(map(operator.mul, coefficients, features.vector())))


def file_probability(file_rank: int, prose: bool, coefficients: Sequence[float]) -> float:
    """The fitted probability that the file at ``file_rank`` is one the change edits
    (coefficients: intercept, log_file_rank, prose); ``prose``: the file's best item is
    text (documentation), not code."""
    intercept, slope, prose_shift = coefficients
    return _sigmoid(intercept + slope * math.log(file_rank) + prose_shift * prose)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


def competition_ranks(scores: Sequence[float]) -> list[int]:
    """1-based ranks of ``scores``, larger first; equal scores share the better rank."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    ranks = [0] * len(scores)
    for position, index in enumerate(order):
        tied = position and scores[order[position - 1]] == scores[index]
        ranks[index] = ranks[order[position - 1]] if tied else position + 1
    return ranks
