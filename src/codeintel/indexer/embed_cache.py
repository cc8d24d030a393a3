"""The user-level embedding cache: sha256(model id + text) → vector, in one SQLite file.

Shared by every repository, clone and worktree on the machine, so unchanged code is never
embedded twice. SQLite in WAL mode lets several indexers read and write it at once.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import numpy as np

from codeintel.errors import ConfigError


def default_cache_dir() -> Path:
    configured = os.environ.get("CODEINTEL_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "codeintel"


def cache_key(model_id: str, text: str) -> str:
    return hashlib.sha256(f"{model_id}\0{text}".encode("utf-8", "surrogatepass")).hexdigest()


class EmbeddingCache:
    def __init__(self, folder: Path, dim: int) -> None:
        self.dim = dim
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                folder / "embeddings.sqlite3", timeout=60, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS embeddings (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
            )
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"cannot use the embedding cache in {folder} ({exc}); "
                "set CODEINTEL_CACHE_DIR to a writable folder"
            ) from exc

    def get_many(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            marks = ",".join("?" * len(batch))
            rows = self._db.execute(
                f"SELECT key, vector FROM embeddings WHERE key IN ({marks})", batch
            )
            for key, blob in rows:
                vector = np.frombuffer(blob, dtype=np.float32)
                if vector.shape[0] == self.dim and np.isfinite(vector).all():
                    found[key] = vector
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        """Store the vectors; one holding a NaN or an infinity is not kept (nor returned by
        ``get_many``): its chunk stays pending rather than poisoning every similarity."""
        arrays = {key: np.asarray(v, dtype=np.float32) for key, v in items.items()}
        rows = [(key, v.tobytes()) for key, v in arrays.items() if np.isfinite(v).all()]
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")  # take the write lock now, waiting if busy
            self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?)", rows)

    def close(self) -> None:
        self._db.close()
