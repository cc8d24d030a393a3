"""Builds the context for a question: ranked candidates in, text under an exact budget out.

Ties the knapsack solver (``packer``) to the layout (``render``). Each candidate becomes an
item with up to three views (full, skeleton, signature), each priced exactly as rendered and
worth ``score * utility(view)``; the solver picks at most one view per item; the rendered
text is then counted with the real tokenizer and the budget tightened until it fits.

Overlap between chosen chunks of one file is resolved by re-solving (see ``_fix_overlaps``):

- duplicates (identical text, or identical path and lines) are merged before solving;
- a chunk inside a chunk shown in full adds nothing: it is dropped;
- a method whose class is shown as a skeleton: its signature view only repeats a line of that
  skeleton and is removed; if the method is shown in full or as a skeleton, the skeleton's
  line for it is redundant, so the skeleton's value is discounted by one line's share
  (skeleton value / its line count), once per such method;
- chunks that overlap otherwise: the less relevant one is dropped.

Every fix removes a view or applies a discount not applied before, so the loop ends. A dropped
chunk stays dropped even if the chunk that covered it is later shown smaller: an
approximation that keeps each solve a plain multiple-choice knapsack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from codeintel.agent.packer import Option, SolverSettings, solve
from codeintel.agent.render import ItemKind, Piece, Rendering, chunk_piece, cost, render
from codeintel.errors import ConfigError
from codeintel.indexer.models import VIEWS, Chunk, ViewName
from codeintel.indexer.tokens import TokenCounter
from codeintel.retrieval.search import IndexCoverage
from codeintel.settings import ContextSettings


@dataclass(frozen=True)
class Candidate:
    """A retrieved chunk and its relevance (>= 0; larger is more relevant)."""

    chunk: Chunk
    score: float


@dataclass(frozen=True)
class ContextItem:
    """One chosen item as rendered; ``tokens`` is its share of the text's count."""

    kind: ItemKind
    path: str
    start_line: int
    end_line: int
    symbol: str
    view: ViewName
    tokens: int
    score: float

    @classmethod
    def of(cls, piece: Piece, tokens: int) -> ContextItem:
        return cls(
            piece.kind, piece.path, piece.start_line, piece.end_line, piece.symbol, piece.view,
            tokens, piece.score,
        )  # fmt: skip


@dataclass(frozen=True)
class Context:
    """The packed context; ``tokens`` is the exact count of ``text`` and <= ``budget``.

    ``retrieved`` (the candidates it was chosen from) and ``index`` (what retrieval could
    draw on) are for the caller; they are not part of the ``--json`` contract."""

    budget: int
    tokens: int
    encoding: str
    items: tuple[ContextItem, ...]
    text: str
    retrieved: int = 0
    index: IndexCoverage | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``context --json`` shape of the CLI contract."""
        return {
            "budget": self.budget,
            "tokens": self.tokens,
            "encoding": self.encoding,
            "items": [vars(item).copy() for item in self.items],
            "text": self.text,
        }


_Action = Literal["drop_less_relevant", "drop_inner", "drop_inner_view", "discount_outer"]


@dataclass(frozen=True)
class _View:
    piece: Piece
    option: Option


@dataclass(frozen=True)
class _Item:
    """A candidate's views as the solver sees them (none left: the item was dropped)."""

    parent: str
    views: tuple[_View, ...]


def build_context(
    candidates: Sequence[Candidate],
    budget: int,
    counter: TokenCounter,
    settings: ContextSettings | None = None,
) -> Context:
    """Packs the most valuable views of ``candidates`` into at most ``budget`` tokens."""
    if budget < 0:
        raise ConfigError(f"the token budget cannot be negative (got {budget}); pass 0 or more")
    settings = settings or ContextSettings()
    views = _fit(_items(candidates, counter, settings), budget, counter, settings)
    rendering = render([view.piece for view in views])
    return _result(rendering, [view.piece for view in views], budget, counter)


def solver_groups(
    candidates: Sequence[Candidate], counter: TokenCounter, settings: ContextSettings | None = None
) -> list[list[Option]]:
    """The knapsack groups ``build_context`` solves first: the view options of each unique
    candidate (for benchmarks and for comparing solvers on real items)."""
    return _groups(_items(candidates, counter, settings or ContextSettings()))


def _groups(items: Sequence[_Item]) -> list[list[Option]]:
    return [[view.option for view in item.views] for item in items]


def _items(
    candidates: Sequence[Candidate], counter: TokenCounter, settings: ContextSettings
) -> list[_Item]:
    offered: set[tuple[str, str]] = set()  # (path, body) of skeletons/signatures already offered
    unique = _unique(candidates)
    top = max((c.score for c in unique), default=0.0) or 1.0
    return [
        _item(c, (c.score / top) ** settings.relevance_power, counter, settings, offered)
        for c in unique
    ]


def _unique(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The most relevant of each set of duplicates (same text, or same path and lines)."""
    seen: set[object] = set()
    unique: list[Candidate] = []
    for candidate in sorted(candidates, key=lambda c: -c.score):
        chunk = candidate.chunk
        keys = {chunk.text, (chunk.path, chunk.start_line, chunk.end_line)}
        if not keys & seen:
            unique.append(candidate)
        seen |= keys
    return unique


def _item(
    candidate: Candidate,
    relevance: float,
    counter: TokenCounter,
    settings: ContextSettings,
    offered: set[tuple[str, str]],
) -> _Item:
    """The candidate's non-empty views, each once: a view repeating the text of a more useful
    one is skipped, and so is a reduced view a more relevant candidate of the same file
    already offers (the parts of a split function share one skeleton and signature)."""
    views: list[_View] = []
    for view in sorted(VIEWS, key=settings.utility, reverse=True):
        piece = chunk_piece(candidate.chunk, view, candidate.score, settings.line_numbers)
        key = (candidate.chunk.path, piece.body)
        if view != "full" and key in offered:
            continue
        offered.add(key)
        if piece.body.strip() and all(piece.body != kept.piece.body for kept in views):
            value = relevance * settings.utility(view)
            views.append(_View(piece, Option(cost(piece, counter), value)))
    return _Item(candidate.chunk.parent, tuple(views))


def _fit(
    items: list[_Item], budget: int, counter: TokenCounter, settings: ContextSettings
) -> list[_View]:
    """The chosen views, whose rendering counts at most ``budget`` tokens.

    Costs are per block, so the rendering rarely differs from their sum (merged blocks only
    save tokens); when it overshoots, the solver's capacity shrinks in proportion and it
    solves again.
    """
    capacity = budget
    views: list[_View] = []
    discounted: set[tuple[int, int]] = set()
    for _ in range(settings.tighten_rounds):
        solver = SolverSettings(settings.max_dp_cells, settings.solver_rounds)
        items, views = _choose(items, capacity, solver, discounted)
        tokens = _count(views, counter)
        if tokens <= budget:
            return views
        capacity = min(capacity - 1, capacity * budget // tokens)
    while _count(views, counter) > budget:
        views.remove(min(views, key=lambda v: v.option.value / max(v.option.cost, 1)))
    return views


def _count(views: Sequence[_View], counter: TokenCounter) -> int:
    return counter.count(render([view.piece for view in views]).text)


def _choose(
    items: list[_Item], capacity: int, solver: SolverSettings, discounted: set[tuple[int, int]]
) -> tuple[list[_Item], list[_View]]:
    """Solves, fixes overlaps among the chosen views and solves again until none is left.

    Returns the items as fixed (later solves start from them) and the chosen views;
    ``discounted`` (see ``_fix_overlaps``) grows.
    """
    while True:
        solution = solve(_groups(items), capacity, solver)
        chosen = {g: j for g, j in enumerate(solution.choices) if j is not None}
        fixed = _fix_overlaps(items, chosen, discounted)
        if fixed is None:
            return items, [items[g].views[j] for g, j in chosen.items()]
        items = fixed


def _fix_overlaps(
    items: list[_Item], chosen: dict[int, int], discounted: set[tuple[int, int]]
) -> list[_Item] | None:
    """Items with the overlaps among ``chosen`` (item -> view index) fixed; None if none.

    ``discounted`` holds the (class, method) pairs already discounted and grows.
    """
    fixed = list(items)
    changed = False
    for outer, inner in _overlapping_pairs(items, chosen):
        first, second = items[outer].views[chosen[outer]], items[inner].views[chosen[inner]]
        action = _overlap_action(first.piece, second.piece, items[inner].parent)
        if action == "drop_less_relevant":
            loser = inner if second.piece.score <= first.piece.score else outer
            fixed[loser] = replace(fixed[loser], views=())
        elif action == "drop_inner":
            fixed[inner] = replace(fixed[inner], views=())
        elif action == "drop_inner_view":
            fixed[inner] = _without(fixed[inner], second.piece)
        elif action == "discount_outer" and (outer, inner) not in discounted:
            discounted.add((outer, inner))
            fixed[outer] = _discounted(fixed[outer], first.piece)
        else:
            continue
        changed = True
    return fixed if changed else None


def _overlap_action(outer: Piece, inner: Piece, inner_parent: str) -> _Action | None:
    """What to do about two chosen pieces of one file, ``outer`` starting first."""
    if inner.end_line > outer.end_line:
        return "drop_less_relevant"
    if outer.view == "full":
        return "drop_inner"
    if outer.view != "skeleton" or inner_parent != outer.symbol:
        return None
    return "drop_inner_view" if inner.view == "signature" else "discount_outer"


def _overlapping_pairs(items: list[_Item], chosen: dict[int, int]) -> list[tuple[int, int]]:
    """Pairs (outer, inner) of chosen items in one file whose lines overlap: ``outer`` starts
    first (on a tie: is longer, then more relevant)."""

    def piece(g: int) -> Piece:
        return items[g].views[chosen[g]].piece

    ordered = sorted(
        chosen,
        key=lambda g: (piece(g).path, piece(g).start_line, -piece(g).end_line, -piece(g).score),
    )
    pairs: list[tuple[int, int]] = []
    for position, outer in enumerate(ordered):
        for inner in ordered[position + 1 :]:
            if (
                piece(inner).path != piece(outer).path
                or piece(inner).start_line > piece(outer).end_line
            ):
                break
            pairs.append((outer, inner))
    return pairs


def _without(item: _Item, dropped: Piece) -> _Item:
    return replace(item, views=tuple(view for view in item.views if view.piece != dropped))


def _discounted(item: _Item, skeleton: Piece) -> _Item:
    """The item with its skeleton worth one line less (the line of a method shown elsewhere)."""
    keep = 1 - 1 / (skeleton.body.count("\n") + 1)
    return replace(
        item,
        views=tuple(
            replace(view, option=replace(view.option, value=view.option.value * keep))
            if view.piece == skeleton
            else view
            for view in item.views
        ),
    )


def _result(
    rendering: Rendering, pieces: Sequence[Piece], budget: int, counter: TokenCounter
) -> Context:
    """The result, items in layout order; their shares add up to the text's exact count."""
    tokens = counter.count(rendering.text)
    shares = [counter.count(rendering.segments[i]) for i in rendering.order]
    if shares:
        shares[-1] += tokens - sum(shares)
    items = tuple(
        ContextItem.of(pieces[i], share) for i, share in zip(rendering.order, shares, strict=True)
    )
    return Context(budget, tokens, counter.encoding_name, items, rendering.text)
