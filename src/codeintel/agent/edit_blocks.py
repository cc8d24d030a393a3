"""SEARCH/REPLACE edit blocks: read from a model's answer (tolerant of how the markers are
typed), then applied in memory (strictly: each SEARCH matches exactly once).

The format the model is asked for::

    path/to/file.py
    <<<<<<< SEARCH
    the exact lines to find
    =======
    the lines to put there
    >>>>>>> REPLACE

An empty SEARCH creates the file, which must not exist. Markers may have 5 to 9 of their
characters and any case; the path may sit in backticks or after a code fence line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEARCH = re.compile(r"^\s*<{5,9}\s*SEARCH\s*$", re.IGNORECASE)
_DIVIDER = re.compile(r"^\s*={5,9}\s*$")
_REPLACE = re.compile(r"^\s*>{5,9}\s*REPLACE\s*$", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```")


@dataclass(frozen=True)
class EditBlock:
    path: str
    search: str  # "" creates the file
    replace: str


class BlockError(ValueError):
    """A block that cannot be applied; the message says why, for the user and the model."""


def parse_blocks(answer: str) -> list[EditBlock]:
    """The blocks in ``answer``, in order; a block without a path or with a marker missing
    is a ``BlockError`` (nothing half-read is applied)."""
    lines = answer.split("\n")
    blocks: list[EditBlock] = []
    index = 0
    while index < len(lines):
        if not _SEARCH.match(lines[index]):
            index += 1
            continue
        path = _path_before(lines, index)
        end = _next(lines, index + 1, _REPLACE, ">>>>>>> REPLACE", path)
        divider = _divider(lines, index + 1, end, path)
        search = "\n".join(lines[index + 1 : divider])
        replace = "\n".join(lines[divider + 1 : end])
        blocks.append(EditBlock(path, _as_lines(search), _as_lines(replace)))
        index = end + 1
    return blocks


def _as_lines(text: str) -> str:
    return f"{text}\n" if text else ""


def _path_before(lines: list[str], search_row: int) -> str:
    for row in range(search_row - 1, -1, -1):
        line = lines[row].strip()
        if not line or _FENCE.match(line):
            continue
        path = line.strip("`*'\":").strip()
        if path and " " not in path:
            return path
        break
    raise BlockError(f"a SEARCH block (line {search_row + 1}) has no file path on the line above")


def _divider(lines: list[str], start: int, end: int, path: str) -> int:
    """The ``=======`` line between SEARCH and REPLACE: the only one, else the only one of
    exactly seven (a reStructuredText underline is a row of ``=`` too)."""
    rows = [row for row in range(start, end) if _DIVIDER.match(lines[row])]
    if len(rows) > 1:
        rows = [row for row in rows if lines[row].strip() == "======="]
    if len(rows) != 1:
        found = "no" if not rows else "more than one"
        raise BlockError(f"the block for {path} has {found} '=======' line to split it")
    return rows[0]


def _next(lines: list[str], start: int, marker: re.Pattern[str], name: str, path: str) -> int:
    for row in range(start, len(lines)):
        if _SEARCH.match(lines[row]):
            break
        if marker.match(lines[row]):
            return row
    raise BlockError(f"the block for {path} has no {name!r} line")


def apply_block(text: str | None, block: EditBlock) -> str:
    """``text`` (None: the file does not exist) with ``block`` applied."""
    if not block.search:
        if text is not None:
            raise BlockError(f"{block.path}: an empty SEARCH creates a file, and it exists")
        return block.replace
    if text is None:
        raise BlockError(f"{block.path}: no such file (an empty SEARCH creates one)")
    starts = _line_starts(text, block.search)
    if len(starts) == 1:
        start = starts[0]
        return text[:start] + block.replace + text[start + len(block.search) :]
    if len(starts) > 1:
        times = len(starts)
        raise BlockError(f"{block.path}: the SEARCH text occurs {times} times; quote more lines")
    return _apply_loosely(text, block)


def _line_starts(text: str, search: str) -> list[int]:
    """Where ``search`` occurs starting a line (overlapping occurrences counted)."""
    starts, at = [], text.find(search)
    while at != -1:
        if at == 0 or text[at - 1] == "\n":
            starts.append(at)
        at = text.find(search, at + 1)
    return starts


def _apply_loosely(text: str, block: EditBlock) -> str:
    """Matching with leading whitespace ignored: the file's indentation is kept, the
    replacement shifted by the indentation the SEARCH lacked or had too much of."""
    lines = text.split("\n")
    wanted = block.search.removesuffix("\n").split("\n")
    stripped = [line.lstrip() for line in wanted]
    hits = [
        start
        for start in range(len(lines) - len(wanted) + 1)
        if all(lines[start + i].lstrip() == stripped[i] for i in range(len(wanted)))
    ]
    if len(hits) != 1:
        found = "is not in the file" if not hits else f"occurs {len(hits)} times"
        raise BlockError(f"{block.path}: the SEARCH text {found}, even ignoring indentation")
    start = hits[0]
    first = next((i for i, line in enumerate(wanted) if line.strip()), 0)
    have, had = _indent(lines[start + first]), _indent(wanted[first])
    replacement = (
        [_reindent(line, had, have) for line in block.replace.removesuffix("\n").split("\n")]
        if block.replace
        else []
    )
    return "\n".join(lines[:start] + replacement + lines[start + len(wanted) :])


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _reindent(line: str, had: str, have: str) -> str:
    if not line.strip():
        return line
    return have + line.removeprefix(had) if line.startswith(had) else have + line.lstrip()
