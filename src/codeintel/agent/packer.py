"""The multiple-choice knapsack solver behind context packing (pure: no I/O, no tokenizer).

Each group (an item: a chunk or, later, a cached answer) offers options with an integer cost
and a value; pick at most one option per group so that the total cost fits the capacity and
the total value is as large as possible.

The method is exact within a work cap:

1. Lagrangian / LP relaxation: for a token price ``lam`` each group takes the option that
   maximizes ``value - lam * cost``. The smallest breakpoint price whose choice fits is the
   LP dual optimum (Dyer–Zemel: the split of the groups' convex hulls), and
   ``lam * C + sum_g max_j (v_gj - lam * c_gj)`` is an upper bound on any solution.
2. That choice, filled greedily with the best upgrades that still fit, is the incumbent;
   when it is more than 1% below the bound, so is a choice made by value alone (each
   group's most valuable option that still fits, most valuable groups first) filled the
   same way, if it is worth more.
3. Reduction: an option whose bound, with its group forced to it, cannot beat the incumbent
   is dropped; most groups keep one option and are fixed.
4. The free groups left are solved by dynamic programming over the remaining capacity (exact
   costs, never scaled, so the result is feasible as it stands). If that table would exceed
   ``max_dp_cells`` (the time cap), the DP runs on a core of the most uncertain groups with
   all others held at the incumbent; its better solution tightens the next reduction. This
   repeats until the whole reduced problem fits one DP (``exact``), nothing improves, or
   ``max_rounds`` is spent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Relative slack under which a bound counts as "cannot beat the incumbent".
_TOLERANCE = 1e-9
# The second incumbent start is tried when the first is this far (relatively) below the bound.
_SECOND_START_GAP = 0.01

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Option:
    """One way to show an item: what it costs (tokens) and what it is worth."""

    cost: int
    value: float

    def __post_init__(self) -> None:
        if self.cost < 0:
            raise ValueError(f"an option's cost cannot be negative (got {self.cost})")


@dataclass(frozen=True)
class SolverSettings:
    """Limits of the solver: DP table size (groups x capacity) and reduce/DP rounds."""

    max_dp_cells: int = 1_000_000
    max_rounds: int = 4


@dataclass(frozen=True)
class Solution:
    """The option index chosen per group (None: group left out), with totals."""

    choices: tuple[int | None, ...]
    value: float
    cost: int
    exact: bool


@dataclass(frozen=True)
class _Table:
    """Groups as rows; column 0 is "leave out"; columns sorted by cost within a row.

    Options that cannot be taken (too costly, worthless, padding) have value -inf.
    ``labels`` maps a column back to the caller's option index plus one (0: left out).
    """

    costs: IntArray
    values: FloatArray
    labels: IntArray

    def cost(self, columns: IntArray) -> int:
        return int(self.costs[np.arange(len(columns)), columns].sum())

    def value(self, columns: IntArray) -> float:
        return float(self.values[np.arange(len(columns)), columns].sum())


def solve(
    groups: Sequence[Sequence[Option]], capacity: int, settings: SolverSettings | None = None
) -> Solution:
    """The best choice of at most one option per group with total cost <= ``capacity``."""
    settings = settings or SolverSettings()
    capacity = max(capacity, 0)
    table = _table(groups, capacity)
    lam, columns = _split(table, capacity)
    incumbent = _fill(table, columns, capacity)
    best = (table.values - lam * table.costs).max(axis=1)
    if table.value(incumbent) < (1 - _SECOND_START_GAP) * _bound(best, lam, capacity):
        second = _fill(table, _by_value(table, capacity), capacity)
        incumbent = max(incumbent, second, key=table.value)
    exact = False
    for _ in range(settings.max_rounds):
        allowed = _reduce(table, lam, capacity, table.value(incumbent))
        mask, exact = _core(table, allowed, lam, incumbent, capacity, settings.max_dp_cells)
        candidate = _best_within(table, mask, capacity)
        if candidate is None or table.value(candidate) <= table.value(incumbent):
            break
        incumbent = candidate
        if exact:
            break
    return _solution(table, incumbent, exact)


def ratio_greedy(groups: Sequence[Sequence[Option]], capacity: int) -> Solution:
    """The naive baseline: options by value per token, the first that fits wins its group."""
    ranked = sorted(
        (
            (option.value / max(option.cost, 1), g, j)
            for g, group in enumerate(groups)
            for j, option in enumerate(group)
            if option.value > 0
        ),
        reverse=True,
    )
    choices: list[int | None] = [None] * len(groups)
    used = 0
    for _, g, j in ranked:
        if choices[g] is None and used + groups[g][j].cost <= capacity:
            choices[g] = j
            used += groups[g][j].cost
    value = sum(groups[g][j].value for g, j in enumerate(choices) if j is not None)
    return Solution(tuple(choices), value, used, exact=False)


def _table(groups: Sequence[Sequence[Option]], capacity: int) -> _Table:
    width = 1 + max((len(group) for group in groups), default=0)
    costs = np.zeros((len(groups), width), dtype=np.int64)
    values = np.full((len(groups), width), -np.inf)
    values[:, 0] = 0.0
    for g, group in enumerate(groups):
        for j, option in enumerate(group, start=1):
            costs[g, j] = option.cost
            if option.cost <= capacity and option.value > 0:
                values[g, j] = option.value
    order = np.argsort(costs, axis=1, kind="stable")
    return _Table(
        np.take_along_axis(costs, order, axis=1),
        np.take_along_axis(values, order, axis=1),
        order.astype(np.int64),
    )


def _best_at(table: _Table, lam: float) -> IntArray:
    """Each group's column maximizing ``value - lam * cost`` (ties: the cheapest)."""
    best: IntArray = np.argmax(table.values - lam * table.costs, axis=1).astype(np.int64)
    return best


def _split(table: _Table, capacity: int) -> tuple[float, IntArray]:
    """The smallest breakpoint price whose Lagrangian choice fits, and that choice.

    Breakpoints are the slopes between two options of one group; the choice's cost only
    falls as the price rises, so a binary search over the sorted slopes finds it. Should
    rounding leave no price that fits, the choice is the cost-free options alone.
    """
    if table.cost(_best_at(table, 0.0)) <= capacity:
        return 0.0, _best_at(table, 0.0)
    low, high = np.triu_indices(table.costs.shape[1], k=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slopes = (table.values[:, high] - table.values[:, low]) / (
            table.costs[:, high] - table.costs[:, low]
        )
    prices = np.unique(slopes[np.isfinite(slopes) & (slopes > 0)])
    first, last = 0, len(prices)
    while first < last:
        middle = (first + last) // 2
        if table.cost(_best_at(table, float(prices[middle]))) <= capacity:
            last = middle
        else:
            first = middle + 1
    if first == len(prices):
        free: IntArray = np.argmax(np.where(table.costs == 0, table.values, -np.inf), axis=1)
        return float(prices[-1]) if len(prices) else 0.0, free
    lam = float(prices[first])
    return lam, _best_at(table, lam)


def _bound(best: FloatArray, lam: float, capacity: int) -> float:
    """The Lagrangian upper bound at price ``lam`` on any solution's value, given ``best``,
    each group's largest ``value - lam * cost``."""
    return lam * capacity + float(best.sum())


def _by_value(table: _Table, capacity: int) -> IntArray:
    """A second start for the incumbent: groups by their most valuable option, each taking
    its most valuable option that still fits. Where one large option holds much of the value
    (a whole function), the LP start takes the options around it instead and the capped DP
    may not recover it."""
    values, costs = table.values.tolist(), table.costs.tolist()  # plain lists: a loop per group
    columns = [0] * len(values)
    spare = capacity
    for g in np.argsort(-table.values.max(axis=1), kind="stable").tolist():
        fitting = [k for k, cost in enumerate(costs[g]) if cost <= spare]
        k = max(fitting, key=values[g].__getitem__)
        if values[g][k] > 0:
            columns[g] = k
            spare -= costs[g][k]
    return np.array(columns, dtype=np.int64)


def _fill(table: _Table, columns: IntArray, capacity: int) -> IntArray:
    """Improves a feasible choice greedily: repeatedly the switch adding most value that fits."""
    columns = columns.copy()
    rows = np.arange(len(columns))
    while len(columns):
        spare = capacity - table.cost(columns)
        gain = table.values - table.values[rows, columns][:, None]
        gain[table.costs - table.costs[rows, columns][:, None] > spare] = -np.inf
        g, k = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if gain[g, k] <= 0:
            break
        columns[g] = k
    return columns


def _reduce(table: _Table, lam: float, capacity: int, incumbent: float) -> BoolArray:
    """Which options (columns per group) could still be part of a solution beating
    ``incumbent``, by the Lagrangian bound at price ``lam`` with their group forced."""
    reduced = table.values - lam * table.costs
    best = reduced.max(axis=1, keepdims=True)
    bound = _bound(best, lam, capacity)
    threshold = incumbent + _TOLERANCE * max(1.0, abs(incumbent))
    allowed: BoolArray = bound - (best - reduced) > threshold
    return allowed


def _core(
    table: _Table,
    allowed: BoolArray,
    lam: float,
    incumbent: IntArray,
    capacity: int,
    max_cells: int,
) -> tuple[BoolArray, bool]:
    """The options the next DP may use, and whether that DP settles the problem exactly.

    If the groups still free fit in ``max_cells`` they all go to the DP. Otherwise only a core
    does: groups whose incumbent option is not their Lagrangian best, then the most ambiguous
    (smallest gap between their two best Lagrangian values); every other group keeps its
    incumbent option, so the DP can only improve the incumbent.
    """
    counts = allowed.sum(axis=1)
    _, free, room = _fixed(table, allowed, capacity)
    if not counts.all() or (room + 1) * int(counts[free].sum()) <= max_cells:
        return allowed, True
    reduced = np.where(allowed[free], table.values[free] - lam * table.costs[free], -np.inf)
    top_two = -np.sort(-reduced, axis=1)[:, :2]
    off_lp = reduced[np.arange(len(free)), incumbent[free]] < top_two[:, 0]
    ambiguity = np.where(off_lp, -1.0, top_two[:, 0] - top_two[:, 1])
    free = free[np.argsort(ambiguity, kind="stable")]
    rows = np.arange(len(incumbent))
    spare = capacity - table.cost(incumbent)
    rooms = spare + np.cumsum(table.costs[free, incumbent[free]])
    cells = (rooms + 1) * np.cumsum(counts[free] + 1)
    core = free[: int(np.searchsorted(cells, max_cells, side="right"))]
    mask = np.zeros_like(allowed)
    mask[rows, incumbent] = True
    mask[core] |= allowed[core]
    return mask, False


def _fixed(table: _Table, mask: BoolArray, capacity: int) -> tuple[IntArray, IntArray, int]:
    """The only option of each single-option group (others: left out), the groups with
    several options, and the capacity that remains for those."""
    counts = mask.sum(axis=1)
    columns = np.where(counts == 1, np.argmax(mask, axis=1), 0).astype(np.int64)
    return columns, np.flatnonzero(counts > 1), capacity - table.cost(columns)


def _best_within(table: _Table, mask: BoolArray, capacity: int) -> IntArray | None:
    """The best choice using only masked options, by DP over the groups with several."""
    columns, free, room = _fixed(table, mask, capacity)
    if not mask.any(axis=1).all() or room < 0:
        return None
    menus = [
        [
            (int(k), int(table.costs[g, k]), float(table.values[g, k]))
            for k in np.flatnonzero(mask[g])
        ]
        for g in free
    ]
    picked = _dp(menus, room)
    if picked is None:
        return None
    columns[free] = picked
    return columns


def _dp(menus: Sequence[Sequence[tuple[int, int, float]]], room: int) -> list[int] | None:
    """Multiple-choice knapsack by DP; each menu lists (label, cost, value), one is taken.

    Returns the chosen label per menu, or None when no choice fits. Menus hold at most
    127 entries (choices are kept as int8).
    """
    best = np.zeros(room + 1)
    taken = np.zeros((len(menus), room + 1), dtype=np.int8)
    for m, menu in enumerate(menus):
        new = np.full(room + 1, -np.inf)
        for j, (_, cost, value) in enumerate(menu):
            if cost > room:
                continue
            shifted = best[: room + 1 - cost] + value
            better = shifted > new[cost:]
            new[cost:][better] = shifted[better]
            taken[m, cost:][better] = j
        best = new
    w = int(np.argmax(best))
    if best[w] == -np.inf:
        return None
    labels: list[int] = []
    for m in range(len(menus) - 1, -1, -1):
        label, cost, _ = menus[m][taken[m, w]]
        labels.append(label)
        w -= cost
    return labels[::-1]


def _solution(table: _Table, columns: IntArray, exact: bool) -> Solution:
    labels = table.labels[np.arange(len(columns)), columns]
    choices = tuple(None if label == 0 else int(label) - 1 for label in labels)
    return Solution(choices, table.value(columns), table.cost(columns), exact)
