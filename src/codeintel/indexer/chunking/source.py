"""A file's text as lines, with the offsets chunkers need (rows are 0-based)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from codeintel.settings import IndexSettings

ELISION = "..."


@dataclass(frozen=True)
class ChunkLimits:
    """Size bounds of a chunk, in characters (a cheap, tokenizer-free proxy).

    ``max_chars`` keeps a chunk within MiniLM's 256 word-piece window for typical code.
    """

    max_chars: int = 1200
    window_lines: int = 60

    @classmethod
    def of(cls, settings: IndexSettings) -> ChunkLimits:
        return cls(settings.max_chunk_chars, settings.window_lines)


@dataclass
class Piece:
    """A chunk before finalization: a row range of the file plus its metadata."""

    start_row: int
    end_row: int
    kind: str
    symbol: str = ""
    parent: str = ""
    signature: str = ""
    docstring: str = ""
    skeleton: str = ""
    defines: list[str] = field(default_factory=list)


class Source:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self._char_starts = [0, *accumulate(len(line) + 1 for line in self.lines)]
        if text.isascii():
            self.byte_starts = self._char_starts
        else:
            encoded = (line.encode("utf-8", "surrogatepass") for line in self.lines)
            self.byte_starts = [0, *accumulate(len(line) + 1 for line in encoded)]

    @property
    def last_row(self) -> int:
        return len(self.lines) - 1

    def chars(self, start_row: int, end_row: int) -> int:
        """Characters in rows ``start_row..end_row`` inclusive."""
        return self._char_starts[end_row + 1] - self._char_starts[start_row]

    def rows(self, start_row: int, end_row: int) -> str:
        return "\n".join(self.lines[start_row : end_row + 1])

    def is_blank(self, row: int) -> bool:
        return not self.lines[row].strip()

    def trim(self, start_row: int, end_row: int) -> tuple[int, int] | None:
        """The range without leading and trailing blank rows; None when all blank."""
        while start_row <= end_row and self.is_blank(start_row):
            start_row += 1
        while end_row >= start_row and self.is_blank(end_row):
            end_row -= 1
        return (start_row, end_row) if start_row <= end_row else None

    def first_line(self, start_row: int, end_row: int) -> str:
        for row in range(start_row, end_row + 1):
            if not self.is_blank(row):
                return self.lines[row].strip()
        return ""

    def indent_of(self, row: int) -> str:
        line = self.lines[row]
        return line[: len(line) - len(line.lstrip())]


def window_pieces(
    source: Source, start_row: int, end_row: int, limits: ChunkLimits, template: Piece
) -> list[Piece]:
    """Split rows into consecutive windows within the size limits, blank windows dropped.

    Each window copies ``template``'s metadata; the first line of a window is its
    signature unless the template carries one (a split function repeats its signature).
    """
    pieces: list[Piece] = []
    row = start_row
    while row <= end_row:
        if source.is_blank(row):  # windows start at text, so blank lines above only move them
            row += 1
            continue
        stop = row
        while (
            stop < end_row
            and stop - row + 1 < limits.window_lines
            and source.chars(row, stop + 1) <= limits.max_chars
        ):
            stop += 1
        trimmed = source.trim(row, stop)
        if trimmed:
            pieces.append(
                Piece(
                    start_row=trimmed[0],
                    end_row=trimmed[1],
                    kind=template.kind,
                    symbol=template.symbol,
                    parent=template.parent,
                    signature=template.signature or source.first_line(*trimmed),
                    docstring=template.docstring if not pieces else "",
                    defines=list(template.defines) if not pieces else [],
                )
            )
        row = stop + 1
    return pieces


_ASSIGNED = re.compile(
    r"^[ \t]*(?:export\s+)?(?:(?:const|let|var|static|final|val|type|readonly|pub)\s+)*"
    r"([A-Za-z_$][\w$]*)\s*(?::[^=\n]{0,60})?\s*:?=(?!=)",
    re.MULTILINE,
)


def assigned_names(text: str) -> list[str]:
    """Names assigned at the start of a line (module constants, globals): a code chunk's defines."""
    return list(dict.fromkeys(_ASSIGNED.findall(text)))
