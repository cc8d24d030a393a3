"""Markdown and reStructuredText split at headings; sections too large become windows."""

from __future__ import annotations

import re
from collections.abc import Iterator

from codeintel.indexer.chunking.source import ELISION, ChunkLimits, Piece, Source, window_pieces

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_MD_FENCE = re.compile(r"^\s*(```|~~~)")
_RST_ADORNMENT = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


def _markdown_headings(source: Source) -> Iterator[tuple[int, int, str]]:
    """(row, level, title) of each heading outside fenced code."""
    in_fence = False
    for row, line in enumerate(source.lines):
        if _MD_FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else _MD_HEADING.match(line)
        if match:
            yield row, len(match.group(1)), match.group(2)


def _rst_headings(source: Source) -> Iterator[tuple[int, int, str]]:
    """(row, level, title) of each underlined title; levels follow first use of each adornment."""
    levels: dict[str, int] = {}
    lines = source.lines
    for row in range(len(lines) - 1):
        title, under = lines[row].strip(), lines[row + 1]
        match = _RST_ADORNMENT.match(under)
        if (
            not title
            or not match
            or _RST_ADORNMENT.match(lines[row])
            or len(under.rstrip()) < len(title)
        ):
            continue
        overlined = row > 0 and lines[row - 1].strip() == under.strip()
        char = ("over" if overlined else "") + match.group(1)
        level = levels.setdefault(char, len(levels) + 1)
        yield (row - 1 if overlined else row), level, title


def prose_pieces(source: Source, limits: ChunkLimits, flavour: str) -> list[Piece]:
    headings = list(_markdown_headings(source) if flavour == "markdown" else _rst_headings(source))
    starts = [0] + [row for row, _, _ in headings if row > 0]
    titles: list[tuple[int, str]] = []  # the heading path in force
    by_row = {row: (level, title) for row, level, title in headings}
    pieces: list[Piece] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] - 1 if index + 1 < len(starts) else source.last_row
        if start in by_row:
            level, title = by_row[start]
            titles = [(lvl, t) for lvl, t in titles if lvl < level] + [(level, title)]
        symbol = " > ".join(t for _, t in titles)
        template = Piece(
            start, end, kind="section", symbol=symbol, parent=" > ".join(t for _, t in titles[:-1])
        )
        for piece in window_pieces(source, start, end, limits, template):
            piece.signature = source.first_line(piece.start_row, piece.end_row)
            piece.skeleton = _section_skeleton(source, piece)
            pieces.append(piece)
    return pieces


def _section_skeleton(source: Source, piece: Piece) -> str:
    """The heading and the section's first non-blank line after it."""
    rows = [row for row in range(piece.start_row, piece.end_row + 1) if not source.is_blank(row)]
    head = [source.lines[row] for row in rows[:3]]
    return "\n".join(head + ([ELISION] if len(rows) > 3 else []))


def line_pieces(source: Source, limits: ChunkLimits) -> list[Piece]:
    template = Piece(0, source.last_row, kind="lines")
    pieces = window_pieces(source, 0, source.last_row, limits, template)
    for piece in pieces:
        piece.skeleton = _section_skeleton(source, piece)
    return pieces
