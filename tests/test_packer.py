"""The knapsack solver on abstract items: feasibility, optimality, and the greedy it beats."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codeintel.agent.packer import Option, Solution, SolverSettings, ratio_greedy, solve

options = st.builds(Option, cost=st.integers(0, 40), value=st.floats(0, 10))
groups_strategy = st.lists(st.lists(options, max_size=3), max_size=8)


def optimum(groups: list[list[Option]], capacity: int) -> float:
    """Exhaustive search over every view assignment (None: item left out)."""
    best = 0.0
    for combo in itertools.product(*[[None, *range(len(group))] for group in groups]):
        chosen = [groups[g][j] for g, j in enumerate(combo) if j is not None]
        if sum(option.cost for option in chosen) <= capacity:
            best = max(best, sum(option.value for option in chosen))
    return best


def check_consistent(groups: list[list[Option]], capacity: int, solution: Solution) -> None:
    chosen = [groups[g][j] for g, j in enumerate(solution.choices) if j is not None]
    assert len(solution.choices) == len(groups)
    assert solution.cost == sum(option.cost for option in chosen) <= max(capacity, 0)
    assert solution.value == pytest.approx(sum(option.value for option in chosen))


@settings(max_examples=300, deadline=None)
@given(groups=groups_strategy, capacity=st.integers(-5, 150))
def test_small_instances_are_solved_to_optimality(
    groups: list[list[Option]], capacity: int
) -> None:
    solution = solve(groups, capacity)
    check_consistent(groups, capacity, solution)
    assert solution.exact
    assert solution.value >= 0.99 * optimum(groups, capacity) - 1e-9


@settings(max_examples=200, deadline=None)
@given(groups=groups_strategy, capacity=st.integers(0, 150), cells=st.integers(1, 200))
def test_a_tight_work_cap_stays_feasible_and_exact_when_it_says_so(
    groups: list[list[Option]], capacity: int, cells: int
) -> None:
    solution = solve(groups, capacity, SolverSettings(max_dp_cells=cells))
    check_consistent(groups, capacity, solution)
    if solution.exact:
        assert solution.value >= optimum(groups, capacity) - 1e-9


def realistic_groups(count: int, seed: int) -> list[list[Option]]:
    """Full / skeleton / signature views of chunks with decaying relevance."""
    rng = random.Random(seed)
    groups = []
    for rank in range(count):
        score = rng.uniform(0.5, 1.5) / (1 + rank / 100)
        full = rng.randint(30, 600)
        skeleton = max(8, int(full * rng.uniform(0.15, 0.5)))
        groups.append(
            [
                Option(full, score),
                Option(skeleton, score * 0.45),
                Option(rng.randint(6, 25), score * 0.15),
            ]
        )
    return groups


@pytest.mark.parametrize("seed", range(3))
def test_the_core_path_reaches_the_optimum_of_one_big_dp(seed: int) -> None:
    groups = realistic_groups(500, seed)
    solution = solve(groups, 32_000)
    reference = solve(groups, 32_000, SolverSettings(max_dp_cells=10**9, max_rounds=1))
    check_consistent(groups, 32_000, solution)
    assert reference.exact
    assert solution.value == pytest.approx(reference.value, rel=1e-12)
    assert solution.value > ratio_greedy(groups, 32_000).value


def test_beats_ratio_greedy_on_a_crafted_instance() -> None:
    # The signature has the best value per token, so greedy takes it and the full view no
    # longer fits; the second chunk's two cheap views then crowd out the rest.
    groups = [
        [Option(cost=100, value=10.0), Option(cost=4, value=1.0)],
        [Option(cost=60, value=3.0), Option(cost=50, value=2.6)],
    ]
    greedy = ratio_greedy(groups, 100)
    best = solve(groups, 100)
    assert greedy.choices == (1, 1) and greedy.value == pytest.approx(3.6)
    assert best.choices == (0, None) and best.value == pytest.approx(10.0)


def test_free_options_fit_a_zero_capacity_and_nothing_else_does() -> None:
    groups = [[Option(cost=0, value=1.0), Option(cost=5, value=9.0)], [Option(cost=1, value=3.0)]]
    assert solve(groups, 0).choices == (0, None)
    assert solve([], 100) == Solution((), 0.0, 0, True)


def test_worthless_options_are_never_chosen() -> None:
    assert solve([[Option(cost=1, value=0.0)]], 10).choices == (None,)


def test_a_negative_cost_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        Option(cost=-1, value=1.0)
