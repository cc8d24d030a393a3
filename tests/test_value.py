"""The packer's value model: ranks, the fitted probabilities, and what a skeleton must say."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codeintel.agent.context import says_more
from codeintel.agent.value import (
    FEATURES,
    Features,
    competition_ranks,
    edit_probability,
    file_probability,
)
from codeintel.settings import EDIT_MODEL, FILE_MODEL, ContextSettings


def test_tied_scores_share_the_better_rank() -> None:
    assert competition_ranks([0.5, 0.9, 0.5, 0.1, 0.9]) == [3, 1, 3, 5, 1]
    assert competition_ranks([]) == []


@given(st.lists(st.floats(0, 1), max_size=40))
def test_ranks_follow_the_scores(scores: list[float]) -> None:
    ranks = competition_ranks(scores)
    for i, first in enumerate(scores):
        for j, second in enumerate(scores):
            if first > second:
                assert ranks[i] < ranks[j]
            if first == second:
                assert ranks[i] == ranks[j]


def features(
    rank: int = 1, file_rank: int = 1, tokens: int = 300, file_units: int = 5, **kw: str
) -> Features:
    item_class = kw.get("item_class", "definition")
    origin = kw.get("origin", "retrieved")
    return Features(rank, file_rank, tokens, item_class, origin, file_units)  # type: ignore[arg-type]


def test_the_fitted_model_prefers_better_ranks_and_files() -> None:
    p = [edit_probability(features(rank=r), EDIT_MODEL) for r in (1, 2, 5, 20, 200)]
    assert p == sorted(p, reverse=True) and 0 < p[-1] < p[0] < 1
    files = [edit_probability(features(file_rank=f), EDIT_MODEL) for f in (1, 3, 10)]
    assert files == sorted(files, reverse=True)
    crowded = [edit_probability(features(file_units=n), EDIT_MODEL) for n in (1, 10, 100)]
    assert crowded == sorted(crowded, reverse=True)
    named = [file_probability(f, False, FILE_MODEL) for f in (1, 2, 5, 50)]
    assert named == sorted(named, reverse=True)
    assert file_probability(1, True, FILE_MODEL) < file_probability(1, False, FILE_MODEL)


def test_the_model_reads_its_coefficients_in_order() -> None:
    only_log_rank = [0.0, -1.0] + [0.0] * (len(FEATURES) - 1)
    assert edit_probability(features(rank=1), only_log_rank) == 0.5
    expected = 1 / (1 + math.exp(math.log(4)))
    assert edit_probability(features(rank=4), only_log_rank) == pytest.approx(expected)


def test_a_model_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="coefficients"):
        edit_probability(features(), [0.0, 1.0])
    with pytest.raises(ValueError, match="edit_model"):
        ContextSettings(edit_model=(0.0, 1.0))


@pytest.mark.parametrize(
    ("skeleton", "signature", "more"),
    [
        ("def f(arg):\n    ...", "def f(arg):", False),
        ("def f(\n    a,\n    b,\n):\n    ...", "def f( a, b, ):", False),
        ('def f(arg):\n    """Adds one."""\n    ...', "def f(arg):", True),
        ("class C:\n    def m(self):\n        ...", "class C:", True),
        ("@cached\ndef f():\n    ...", "def f():", False),
        ("from os import path\nimport sys\n...", "from os import path", False),
        ("function f(a) {\n  ...\n}", "function f(a) {", False),
    ],
)
def test_a_skeleton_must_say_more_than_its_signature(
    skeleton: str, signature: str, more: bool
) -> None:
    assert says_more(skeleton, signature) is more
