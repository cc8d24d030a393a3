"""Files → table rows: the pure, batchable step of a build (runs inline or in workers)."""

from __future__ import annotations

from typing import Any

from codeintel.indexer.chunking import ChunkLimits, chunk_file
from codeintel.indexer.embed_cache import cache_key
from codeintel.indexer.embed_text import embedding_text
from codeintel.indexer.languages import BY_NAME
from codeintel.indexer.models import Chunk
from codeintel.indexer.terms import chunk_terms

Row = dict[str, Any]


def chunk_row(chunk: Chunk, model_id: str) -> Row:
    row = dict(vars(chunk))  # shallow: the lists are not shared with anything else
    row["terms"] = chunk_terms(chunk.path, chunk.symbol, chunk.text)
    row["embed_key"] = cache_key(
        model_id, embedding_text(chunk.kind, chunk.symbol, chunk.signature, chunk.text)
    )
    row["vector"] = None
    return row


def file_rows(
    items: list[tuple[str, str, str]], model_id: str, limits: ChunkLimits
) -> list[tuple[str, str, list[Row]]]:
    """For (path, language, text) items: (path, the whole file's full-text terms, chunk
    rows) each, in the same order."""
    out: list[tuple[str, str, list[Row]]] = []
    for path, language, text in items:
        chunks = chunk_file(path, text, BY_NAME[language], limits)
        rows = [chunk_row(chunk, model_id) for chunk in chunks]
        out.append((path, chunk_terms(path, "", text), rows))
    return out
