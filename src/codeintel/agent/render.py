"""Lays chosen items out as prompt text, and prices each view exactly as it will be rendered.

Layout: one block per item (or per run of adjacent items), each opened by a header line
``path:START-END`` (1-based, inclusive), then the symbols the block shows (the definition,
or the class or function a piece of code sits in), then `` (skeleton)`` or `` (signature)``
for views other than full; a blank line closes it. Blocks of a file stay together in source
order; files go most relevant first and second-most relevant last, since models read the ends
of a long prompt best ("lost in the middle"). Adjacent blocks of one file and view
(``end_line + 1 == start_line``) merge under one header.

Because every block names its path, a block's tokens do not depend on its neighbours: the
price of a view is the token count of its block on its own, and a text's count is the sum of
its blocks' counts up to rare token merges at a boundary (which ``context`` checks for).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from codeintel.indexer.models import Chunk, ViewName
from codeintel.indexer.tokens import TokenCounter
from codeintel.retrieval.search import split_key

ItemKind = Literal["code", "answer"]
# What a piece shows: a definition whole, module-level code or a text (prose, line window)
# in full, or a definition's skeleton or signature.
Shape = Literal["definition", "code", "text", "skeleton", "signature"]
T = TypeVar("T")


@dataclass(frozen=True)
class Piece:
    """One item shown in one view: what the layout needs, with the view's text as ``body``."""

    kind: ItemKind
    path: str
    start_line: int
    end_line: int
    symbol: str
    view: ViewName
    body: str
    score: float
    shape: Shape = "code"


@dataclass(frozen=True)
class Rendering:
    """The text, the pieces' layout order (indices into the input) and each piece's share of
    the text (by input index; the shares in layout order concatenate to ``text``)."""

    text: str
    order: tuple[int, ...]
    segments: tuple[str, ...]


def chunk_piece(chunk: Chunk, view: ViewName, score: float, line_numbers: bool = False) -> Piece:
    """A chunk in one view; ``line_numbers`` prefixes full views' lines with their number."""
    body = chunk.view_text(view).removesuffix("\n")
    if line_numbers and view == "full":
        body = "\n".join(
            f"{number}\t{line}" for number, line in enumerate(body.split("\n"), chunk.start_line)
        )
    return Piece(
        "code", chunk.path, chunk.start_line, chunk.end_line, chunk.symbol, view, body, score,
        shape_of(chunk, view),
    )  # fmt: skip


def shape_of(chunk: Chunk, view: ViewName) -> Shape:
    if view != "full":
        return view
    if split_key(chunk) is not None:
        return "definition"
    return "code" if chunk.kind == "code" else "text"


def cost(piece: Piece, counter: TokenCounter) -> int:
    """Exact tokens of the piece rendered as a block of its own."""
    return counter.count(_header([piece]) + piece.body + "\n\n")


def render(pieces: Sequence[Piece]) -> Rendering:
    """Lays the pieces out (see the module docstring)."""
    by_path: dict[str, list[int]] = {}
    for index in sorted(range(len(pieces)), key=lambda i: -pieces[i].score):
        by_path.setdefault(pieces[index].path, []).append(index)
    order = [
        index
        for path in ends_first(list(by_path))
        for index in sorted(by_path[path], key=lambda i: (pieces[i].start_line, pieces[i].end_line))
    ]
    segments = [""] * len(pieces)
    for run in _runs([pieces[i] for i in order], order):
        last = run[-1]
        segments[run[0]] = _header([pieces[index] for index in run])
        for index in run:
            segments[index] += pieces[index].body + "\n"
        segments[last] += "\n"
    return Rendering("".join(segments[i] for i in order), tuple(order), tuple(segments))


def ends_first(ranked: Sequence[T]) -> list[T]:
    """Most relevant first, second last, third second, ...: the middle gets the least."""
    return list(ranked[0::2]) + list(ranked[1::2])[::-1]


def _header(run: Sequence[Piece]) -> str:
    """The header of a block showing ``run`` (adjacent pieces of one file and view)."""
    first = run[0]
    names = [first.symbol] if len(run) == 1 else dict.fromkeys(piece.symbol for piece in run)
    symbols = ", ".join(name for name in names if name)
    label = "" if first.view == "full" else f" ({first.view})"
    return (
        f"{first.path}:{first.start_line}-{run[-1].end_line}{' ' * bool(symbols)}{symbols}{label}\n"
    )


def _runs(laid_out: Sequence[Piece], indices: Sequence[int]) -> list[list[int]]:
    """Splits the layout into blocks: runs of adjacent pieces of one file and view."""
    runs: list[list[int]] = []
    previous: Piece | None = None
    for piece, index in zip(laid_out, indices, strict=True):
        if (
            previous is not None
            and (previous.path, previous.view) == (piece.path, piece.view)
            and previous.end_line + 1 == piece.start_line
        ):
            runs[-1].append(index)
        else:
            runs.append([index])
        previous = piece
    return runs
