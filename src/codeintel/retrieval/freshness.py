"""Results never point at lines that moved.

Before a search opens the index, indexed files whose size or mtime changed are re-indexed
lexically (``refresh_lexical``: an incremental build that does not wait for the writer
lock), so their new text can be found. Whatever happens later, or if that build cannot
run (another writer, a read-only checkout), every result is checked against its file on
disk at answer time: a file that changed since the snapshot is re-chunked in memory and the
result mapped by content id. A chunk that only moved keeps its id and gets its new lines;
one whose text changed is dropped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from codeintel.errors import CodeintelError
from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.discover import read_file
from codeintel.indexer.languages import language_for
from codeintel.indexer.models import Chunk
from codeintel.indexer.repository import Repository


def stale_paths(repo: Repository, states: dict[str, tuple[str, int, float]]) -> list[str]:
    """Indexed files whose size or mtime differ on disk, or that are gone."""
    stale = []
    root = os.fspath(repo.root)
    for path, (_, size, mtime) in states.items():
        try:
            info = os.lstat(os.path.join(root, path))  # not pathlib: thousands of files
        except OSError:
            stale.append(path)
            continue
        if (info.st_size, info.st_mtime) != (size, mtime):
            stale.append(path)
    return stale


def refresh_lexical(repo: Repository) -> str | None:
    """Re-index changed files without embedding, if any changed; why not, when that cannot
    happen now (another writer holds the lock, the index folder is read-only, the settings
    no longer match the index): results are then remapped onto the disk instead."""
    try:
        if not stale_paths(repo, repo.snapshot(check=False).file_states()):
            return None
        settings = repo.index_settings.model_copy(update={"lock_timeout": 0.0})
        Repository(repo.root, settings, repo.embed_settings).build(embed=False)
    except CodeintelError as exc:
        return str(exc)
    except OSError as exc:
        return f"the index cannot be written ({exc.strerror or exc})"
    return None


@dataclass
class Remapper:
    """Maps index chunks onto their files as they are on disk now, by content id."""

    repo: Repository
    states: dict[str, tuple[str, int, float]]  # path → (sha256, size, mtime) in the snapshot
    _fresh: dict[tuple[str, int, float], dict[str, Chunk]] = field(default_factory=dict)

    def is_stale(self, path: str) -> bool:
        return self._disk_state(path) != self.states.get(path, ("", -1, -1.0))[1:]

    def current(self, chunk: Chunk) -> Chunk | None:
        if not self.is_stale(chunk.path):
            return chunk
        return self._chunks(chunk.path).get(chunk.id)

    def id_at(self, path: str, line: int) -> str | None:
        """The content id of the chunk holding ``line`` of stale ``path`` as it is now (the
        index holds it only if that chunk merely moved)."""
        chunks = self._chunks(path).values()
        return next((c.id for c in chunks if c.start_line <= line <= c.end_line), None)

    def _disk_state(self, path: str) -> tuple[int, float]:
        try:
            info = os.lstat(self.repo.root / path)
        except OSError:
            return (-1, -1.0)
        return (info.st_size, info.st_mtime)

    def _chunks(self, path: str) -> dict[str, Chunk]:
        key = (path, *self._disk_state(path))
        if key not in self._fresh:
            self._fresh[key] = {c.id: c for c in self._rechunk(path)}
        return self._fresh[key]

    def _rechunk(self, path: str) -> list[Chunk]:
        settings = self.repo.index_settings
        record, text, _ = read_file(self.repo.root, path, settings)
        if record is None or not isinstance(text, str):
            return []
        return chunk_file(path, text, language_for(path), ChunkLimits.of(settings))
