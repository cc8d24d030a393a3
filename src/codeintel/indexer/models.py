"""The records the indexer produces: files, chunks, what was skipped, and the index's
status and build plan as the API returns them."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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

    def view_text(self, view: ViewName) -> str:
        return {"full": self.text, "skeleton": self.skeleton, "signature": self.signature}[view]


@dataclass(frozen=True)
class IndexStatus:
    """What an index holds (``index status --json``)."""

    root: str
    uri: str
    files: int
    chunks: int
    embedded: int  # chunks with a vector
    pending: int  # chunks still without one
    languages: dict[str, int]  # chunks per language, most first
    embedder: str
    dim: int
    schema_version: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DryRun:
    """What a build would do now (``index build --dry-run --json``)."""

    index: list[str]  # files it would (re-)chunk
    bytes: int
    languages: dict[str, int]
    unchanged: int
    delete: list[str]
    skipped: list[Skipped]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
