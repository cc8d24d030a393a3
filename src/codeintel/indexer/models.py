"""The records the indexer produces: files, chunks and what was skipped."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

ViewName = Literal["full", "skeleton", "signature"]
VIEWS: tuple[ViewName, ...] = ("full", "skeleton", "signature")


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class FileRecord:
    """A file chosen for indexing: its repository-relative POSIX path and identity."""

    path: str
    language: str
    sha256: str
    size: int
    mtime: float


@dataclass(frozen=True)
class Skipped:
    """A file left out of the index, and why (shown in summaries, never silently dropped)."""

    path: str
    reason: str


@dataclass
class Chunk:
    """One retrievable piece of a file, with the three views the packer chooses between.

    Lines are 1-based and inclusive; bytes are a half-open range into the UTF-8 file.
    ``id`` is a content hash (path, text and occurrence), stable when the chunk only moves.
    """

    path: str
    language: str
    kind: str
    symbol: str
    parent: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    text: str
    signature: str
    docstring: str
    skeleton: str
    defines: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    id: str = ""
    sha256: str = ""
    tokens_full: int = 0
    tokens_skeleton: int = 0
    tokens_signature: int = 0

    def view_text(self, view: ViewName) -> str:
        return {"full": self.text, "skeleton": self.skeleton, "signature": self.signature}[view]
