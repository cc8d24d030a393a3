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

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal, cast

from codeintel.agent.packer import Option, SolverSettings, solve
from codeintel.agent.render import (
    ItemKind,
    Piece,
    Rendering,
    Shape,
    chunk_piece,
    cost,
    render,
    shape_of,
)
from codeintel.agent.value import (
    Features,
    ItemClass,
    Origin,
    competition_ranks,
    edit_probability,
    file_probability,
)
from codeintel.errors import ConfigError
from codeintel.indexer.models import Chunk, ViewName
from codeintel.indexer.tokens import TokenCounter
from codeintel.retrieval.search import IndexCoverage, split_key
from codeintel.settings import ContextSettings


@dataclass(frozen=True)
class Candidate:
    """A chunk to choose from: its relevance (>= 0; larger is more relevant), how it became
    a candidate, and whether it is its file's head (the module-level code at its top)."""

    chunk: Chunk
    score: float
    origin: Origin = "retrieved"
    head: bool = False


@dataclass(frozen=True)
class ContextItem:
    """One chosen item as rendered; ``tokens`` is its share of the text's count."""

    kind: ItemKind
    path: str
    start_line: int
    end_line: int
    symbol: str
    view: ViewName
    shape: Shape
    tokens: int
    score: float

    @classmethod
    def of(cls, piece: Piece, tokens: int) -> ContextItem:
        return cls(
            piece.kind, piece.path, piece.start_line, piece.end_line, piece.symbol, piece.view,
            piece.shape, tokens, piece.score,
        )  # fmt: skip


@dataclass(frozen=True)
class Context:
    """The packed context; ``tokens`` is the exact count of ``text`` and <= ``budget``.

    ``retrieved`` (the candidates it was chosen from), ``index`` (what retrieval could draw
    on) and ``shown`` are for the caller; they are not part of the ``--json`` contract."""

    budget: int
    tokens: int
    encoding: str
    items: tuple[ContextItem, ...]
    text: str
    retrieved: int = 0
    index: IndexCoverage | None = None
    shown: tuple[Chunk, ...] = ()  # the candidates' chunks it shows in full

    def to_json(self) -> dict[str, Any]:
        """The ``context --json`` shape of the CLI contract."""
        return {
            "budget": self.budget,
            "tokens": self.tokens,
            "encoding": self.encoding,
            "items": [vars(item).copy() for item in self.items],
            "text": self.text,
        }


def shown_in_full(context: Context, candidates: Sequence[Candidate]) -> tuple[Chunk, ...]:
    """The candidates' chunks whose every line ``context`` shows in full, each once."""
    full: dict[str, list[ContextItem]] = {}
    for item in context.items:
        if item.view == "full":
            full.setdefault(item.path, []).append(item)
    shown: dict[str, Chunk] = {}
    for candidate in candidates:
        chunk = candidate.chunk
        if any(
            item.start_line <= chunk.start_line and chunk.end_line <= item.end_line
            for item in full.get(chunk.path, ())
        ):
            shown.setdefault(chunk.id, chunk)
    return tuple(shown.values())


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


def item_features(
    candidates: Sequence[Candidate], counter: TokenCounter, settings: ContextSettings | None = None
) -> list[tuple[Chunk, Features]]:
    """Each item ``build_context`` offers (a split definition's parts joined into one chunk)
    and what the value model knows of it: what the model is fitted on."""
    settings = settings or ContextSettings()
    return [
        (unit.chunk, features) for unit, _, features in _described(candidates, counter, settings)
    ]


def _described(
    candidates: Sequence[Candidate], counter: TokenCounter, settings: ContextSettings
) -> list[tuple[_Unit, Piece, Features]]:
    """The units, best first, each with its full view and the value model's features (the
    first unit of each file is its file's best)."""
    units = _units(candidates)
    ranks = competition_ranks([unit.score for unit in units])
    file_scores: dict[str, float] = {}
    for unit in units:
        file_scores.setdefault(unit.chunk.path, unit.score)
    file_ranks = dict(zip(file_scores, competition_ranks(list(file_scores.values())), strict=True))
    file_units = Counter(unit.chunk.path for unit in units)
    described = []
    for unit, rank in zip(units, ranks, strict=True):
        full = chunk_piece(unit.chunk, "full", unit.score, settings.line_numbers)
        features = Features(
            rank,
            file_ranks[unit.chunk.path],
            cost(full, counter),
            unit.item_class,
            unit.origin,
            file_units[unit.chunk.path],
        )
        described.append((unit, full, features))
    return described


def _items(
    candidates: Sequence[Candidate], counter: TokenCounter, settings: ContextSettings
) -> list[_Item]:
    offered: set[tuple[str, str]] = set()  # (path, body) of skeletons/signatures already offered
    described = _described(candidates, counter, settings)
    units = [unit for unit, _, _ in described]
    namer, prose = _file_namers(units), _prose_files(units)
    return [
        _item(
            unit,
            full,
            features,
            settings.file_weight
            * file_probability(features.file_rank, unit.chunk.path in prose, settings.file_model)
            if index in namer
            else 0.0,
            counter,
            settings,
            offered,
        )
        for index, (unit, full, features) in enumerate(described)
    ]


def _file_namers(units: Sequence[_Unit]) -> set[int]:
    """Per file, the unit that carries what naming the file is worth: its best definition
    (whose signature names the file for a few tokens), else its best unit."""
    first: dict[str, int] = {}
    first_definition: dict[str, int] = {}
    for index, unit in enumerate(units):
        first.setdefault(unit.chunk.path, index)
        if unit.item_class == "definition":
            first_definition.setdefault(unit.chunk.path, index)
    return {first_definition.get(path, index) for path, index in first.items()}


def _prose_files(units: Sequence[_Unit]) -> set[str]:
    """The files whose every unit is text (documentation, not code)."""
    coded = {unit.chunk.path for unit in units if unit.item_class != "text"}
    return {unit.chunk.path for unit in units} - coded


@dataclass(frozen=True)
class _Unit:
    """What the packer offers as one item: a chunk, or every part of a split definition
    (in line order; shown whole or summarised, never a part alone)."""

    chunks: tuple[Chunk, ...]
    score: float
    origin: Origin
    head: bool

    @cached_property
    def chunk(self) -> Chunk:
        """The unit as one chunk: the parts' texts joined, the blank lines between them
        restored (the chunker splits a definition into consecutive windows and trims only
        blank lines off their ends)."""
        first, last = self.chunks[0], self.chunks[-1]
        if len(self.chunks) == 1:
            return first
        text = self.chunks[0].text.removesuffix("\n")
        for previous, part in zip(self.chunks, self.chunks[1:], strict=False):
            text += "\n" * (part.start_line - previous.end_line) + part.text.removesuffix("\n")
        return replace(first, text=text, end_line=last.end_line, end_byte=last.end_byte)

    @cached_property
    def item_class(self) -> ItemClass:
        shape = shape_of(self.chunks[0], "full")
        return "head" if shape == "code" and self.head else cast(ItemClass, shape)


_ORIGIN_ORDER: tuple[Origin, ...] = ("retrieved", "part", "companion")


def _units(candidates: Sequence[Candidate]) -> list[_Unit]:
    """The candidates as units, best first: duplicates (same lines, or same text as a more
    relevant unit) left out, a split definition's parts in one unit."""
    units = [_unit(members) for members in _split_groups(_unique_spans(candidates))]
    units.sort(key=lambda u: (-u.score, u.chunks[0].path, u.chunks[0].start_line))
    seen: set[str] = set()
    unique = []
    for unit in units:
        if unit.chunk.text not in seen:
            unique.append(unit)
            seen.add(unit.chunk.text)
    return unique


def _unit(members: list[Candidate]) -> _Unit:
    return _Unit(
        tuple(c.chunk for c in members),
        max(c.score for c in members),
        min((c.origin for c in members), key=_ORIGIN_ORDER.index),
        any(c.head for c in members),
    )


def _split_groups(candidates: Sequence[Candidate]) -> list[list[Candidate]]:
    """Candidates grouped into definitions, each group in line order. Chunks sharing a
    split key (path, symbol, kind) are parts of one definition when only the first defines
    a name: the chunker's later parts define none, while a second definition of the name
    (a property's setter, a redefinition) does."""
    by_key: dict[object, list[Candidate]] = {}
    for candidate in candidates:
        key = split_key(candidate.chunk) or span_of(candidate.chunk)
        by_key.setdefault(key, []).append(candidate)
    groups: list[list[Candidate]] = []
    for members in by_key.values():
        members.sort(key=lambda c: c.chunk.start_line)
        start = len(groups)
        for candidate in members:
            if len(groups) == start or candidate.chunk.defines:
                groups.append([candidate])
            else:
                groups[-1].append(candidate)
    return groups


def span_of(chunk: Chunk) -> tuple[str, int, int]:
    """A chunk's place: path, first and last line."""
    return chunk.path, chunk.start_line, chunk.end_line


def _unique_spans(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The most relevant candidate of each span (path and lines)."""
    best: dict[tuple[str, int, int], Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: -c.score):
        best.setdefault(span_of(candidate.chunk), candidate)
    return list(best.values())


def _item(
    unit: _Unit,
    full: Piece,
    features: Features,
    file_value: float,
    counter: TokenCounter,
    settings: ContextSettings,
    offered: set[tuple[str, str]],
) -> _Item:
    """The unit's views, each worth its utility times the unit's edit probability, plus
    ``file_value`` (what naming its file is worth, given to each file's best unit). Only a
    definition has a skeleton (when it says more than the signature: a docstring, members)
    and a signature; a reduced view a more relevant unit of the same file already offers is
    skipped (a class's methods can share its lines)."""
    chunk = unit.chunk
    probability = edit_probability(features, settings.edit_model)
    views = [_View(full, Option(features.tokens, probability * settings.full + file_value))]
    if unit.item_class != "definition":
        return _Item(chunk.parent, tuple(views))
    for view in ("skeleton", "signature"):
        piece = chunk_piece(chunk, view, unit.score)
        key = (chunk.path, piece.body)
        if key in offered or not piece.body.strip():
            continue
        if view == "skeleton" and not says_more(piece.body, chunk.signature):
            continue
        offered.add(key)
        if all(piece.body != kept.piece.body for kept in views):
            value = probability * settings.utility(view) + file_value
            views.append(_View(piece, Option(cost(piece, counter), value)))
    return _Item(chunk.parent, tuple(views))


_TRIVIAL = re.compile(r"\s*(?:\.\.\.|[{}();]*|@.*|#.*|//.*|(?:import|from|use|using)\b.*)")


def says_more(skeleton: str, signature: str) -> bool:
    """Whether a skeleton shows something its signature does not: a line that is not blank,
    an elision, a decorator, a comment, an import, or part of the signature (which may span
    several lines)."""
    words = signature.split()
    for line in skeleton.split("\n"):
        if _TRIVIAL.fullmatch(line):
            continue
        shown = line.split()
        if not words or " ".join(shown) not in " ".join(words):
            return True
        words = words[len(shown) :]
    return False


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
