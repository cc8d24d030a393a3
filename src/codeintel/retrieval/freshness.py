"""Results never point at lines that moved: files changed since the last build are re-read.

Before a search, indexed files whose size or mtime changed are re-indexed lexically (a quick
incremental build that does not wait for the writer lock). If another build holds the lock,
results in changed files are re-chunked in memory and mapped by content id: a chunk that
only moved keeps its id and gets its new lines; a chunk whose text changed is dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from codeintel.errors import IndexLocked
from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.discover import read_file
from codeintel.indexer.languages import language_for
from codeintel.indexer.models import Chunk
from codeintel.indexer.repository import Repository
from codeintel.indexer.tokens import TokenCounter


def stale_paths(repo: Repository, states: dict[str, tuple[str, int, float]]) -> list[str]:
    """Indexed files whose size or mtime differ on disk, or that are gone."""
    stale = []
    for path, (_, size, mtime) in states.items():
        try:
            info = os.lstat(repo.root / path)
        except OSError:
            stale.append(path)
            continue
        if (info.st_size, info.st_mtime) != (size, mtime):
            stale.append(path)
    return stale


def refresh_lexical(repo: Repository) -> bool:
    """Re-index changed files without embedding; False when another writer holds the lock."""
    settings = repo.index_settings.model_copy(update={"lock_timeout": 0.0})
    try:
        Repository(repo.root, settings, repo.embed_settings).build(embed=False)
    except IndexLocked:
        return False
    return True


@dataclass
class Remapper:
    """Maps index chunks of stale files onto their current text, by content id."""

    repo: Repository
    stale: set[str]
    _fresh: dict[str, dict[str, Chunk]] = field(default_factory=dict)

    def current(self, chunk: Chunk) -> Chunk | None:
        if chunk.path not in self.stale:
            return chunk
        return self._chunks(chunk.path).get(chunk.id)

    def id_at(self, path: str, line: int) -> str | None:
        """The content id of the chunk holding ``line`` of stale ``path`` as it is now (the
        index holds it only if that chunk merely moved)."""
        chunks = self._chunks(path).values()
        return next((c.id for c in chunks if c.start_line <= line <= c.end_line), None)

    def _chunks(self, path: str) -> dict[str, Chunk]:
        if path not in self._fresh:
            self._fresh[path] = {c.id: c for c in self._rechunk(path)}
        return self._fresh[path]

    def _rechunk(self, path: str) -> list[Chunk]:
        settings = self.repo.index_settings
        record, text, _ = read_file(self.repo.root, path, settings)
        if record is None or not isinstance(text, str):
            return []
        limits = ChunkLimits(settings.max_chunk_chars, settings.window_lines)
        return chunk_file(path, text, language_for(path), TokenCounter(settings.encoding), limits)
