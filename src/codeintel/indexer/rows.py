"""Files → table rows: the pure, batchable step of a build (runs inline or in workers).

A batch comes back as one Arrow table of chunk rows (without vectors, which the writer
adds from the embedding cache) and, per file, its full-text terms and chunk ids: Arrow
crosses from a worker process at a fraction of the cost of pickled rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.embed_cache import cache_key
from codeintel.indexer.embed_text import embedding_text
from codeintel.indexer.languages import BY_NAME
from codeintel.indexer.models import Chunk
from codeintel.indexer.store import CHUNK_ROW_SCHEMA
from codeintel.indexer.terms import chunk_terms, identifiers

Row = dict[str, Any]


@dataclass(frozen=True)
class FileChunks:
    """One file of a batch: its whole-file full-text terms and its chunks' ids, in order."""

    path: str
    terms: str
    chunk_ids: list[str]


@dataclass(frozen=True)
class RowBatch:
    chunks: pa.Table  # CHUNK_ROW_SCHEMA: every chunk column but the vector
    files: list[FileChunks]

    def per_file(self) -> Iterator[tuple[FileChunks, pa.Table]]:
        """Each file with its chunk rows (slices of ``chunks``: no copy)."""
        offset = 0
        for file in self.files:
            yield file, self.chunks.slice(offset, len(file.chunk_ids))
            offset += len(file.chunk_ids)


def chunk_row(chunk: Chunk, model_id: str, found: dict[str, None]) -> Row:
    """``found``: the identifiers of the chunk's text."""
    row = dict(vars(chunk))  # shallow: the lists are not shared with anything else
    row["terms"] = chunk_terms(chunk.path, chunk.symbol, chunk.text, found)
    row["embed_key"] = cache_key(
        model_id, embedding_text(chunk.kind, chunk.symbol, chunk.signature, chunk.text)
    )
    return row


def file_rows(items: list[tuple[str, str, str]], model_id: str, limits: ChunkLimits) -> RowBatch:
    """The rows of (path, language, text) items, in the same order."""
    rows: list[Row] = []
    files: list[FileChunks] = []
    for path, language, text in items:
        first, in_file = len(rows), dict[str, None]()
        for chunk in chunk_file(path, text, BY_NAME[language], limits):
            found = identifiers(chunk.text)
            in_file.update(found)  # chunks cover every non-blank line: all of the file's
            rows.append(chunk_row(chunk, model_id, found))
        ids = [row["id"] for row in rows[first:]]
        files.append(FileChunks(path, chunk_terms(path, "", text, in_file), ids))
    return RowBatch(pa.Table.from_pylist(rows, schema=CHUNK_ROW_SCHEMA), files)
