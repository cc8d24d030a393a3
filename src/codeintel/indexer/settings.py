"""The indexer's settings section: typed values with their defaults in one place."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codeintel.indexer.chunking.source import ChunkLimits

Encoding = Literal["cl100k_base", "o200k_base"]
Device = Literal["cpu", "cuda", "mps", "auto"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IndexSettings(_Section):
    """What gets indexed, how it is chunked, and where the index lives."""

    max_file_bytes: int = Field(1_000_000, gt=0, description="skip larger files")
    max_chunk_chars: int = Field(1200, ge=200, description="split chunks larger than this")
    window_lines: int = Field(60, ge=5, description="line-window size for files without a grammar")
    include: list[str] = Field(default_factory=list, description="globs indexed even if ignored")
    exclude: list[str] = Field(default_factory=list, description="extra globs to leave out")
    uri: str = Field("", description="database URI; default <repo>/.codeintel/db")
    storage_options: dict[str, str] = Field(default_factory=dict)
    encoding: Encoding = "cl100k_base"
    lock_timeout: float = Field(30.0, ge=0, description="seconds to wait for another writer")
    workers: int = Field(0, ge=0, description="chunking processes; 0 = one per core")
    vector_index_min_rows: int = Field(
        500_000, ge=1, description="embedded rows from which an ANN vector index is built"
    )

    def chunk_limits(self) -> ChunkLimits:
        return ChunkLimits(self.max_chunk_chars, self.window_lines)


class EmbedSettings(_Section):
    """The embedding model and how it runs."""

    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path")
    device: Device = "cpu"
    batch_size: int = Field(64, ge=1)
    cache_dir: str = Field("", description="embedding cache folder; default user cache dir")
