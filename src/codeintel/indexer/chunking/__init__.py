"""Chunking: a file's text → chunks with views, ids and token counts (pure functions)."""

from __future__ import annotations

import functools
import itertools
from collections import Counter
from collections.abc import Iterator

from codeintel.indexer.chunking.prose import line_pieces, prose_pieces
from codeintel.indexer.chunking.source import ChunkLimits, Piece, Source
from codeintel.indexer.chunking.syntax import syntax_pieces
from codeintel.indexer.languages import LanguageSpec
from codeintel.indexer.models import Chunk, sha256_text
from codeintel.indexer.terms import identifiers

__all__ = ["ChunkLimits", "chunk_file"]

_MAX_REFERENCES = 256
_KEYWORDS = frozenset(
    """
    and as assert async await break case catch class const continue def default del do
    elif else end enum except export extends false final finally fn for from func
    function go if impl implements import in interface is let match mod module mut new
    nil none not null of or package pass private protected pub public raise return self
    static struct super switch this throw throws trait true try type typeof undefined
    use val var void while with yield int str bool float string char long double byte
    short unsigned signed auto
    """.split()
)


def _pieces(spec: LanguageSpec, source: Source, limits: ChunkLimits) -> list[Piece]:
    if spec.splitter == "treesitter":
        return syntax_pieces(spec, source, limits)
    if spec.splitter in ("markdown", "rst"):
        return prose_pieces(source, limits, spec.splitter)
    return line_pieces(source, limits)


def references_in(text: str, defines: list[str]) -> list[str]:
    """Identifiers a chunk mentions, keywords and its own definitions left out."""
    found: Iterator[str] = filter(_may_reference, identifiers(text))
    if defines:
        found = itertools.filterfalse(set(defines).__contains__, found)
    return list(itertools.islice(found, _MAX_REFERENCES))


@functools.lru_cache(maxsize=1 << 18)
def _may_reference(word: str) -> bool:
    return len(word) > 1 and word.lower() not in _KEYWORDS


def chunk_file(
    path: str,
    text: str,
    spec: LanguageSpec,
    limits: ChunkLimits | None = None,
) -> list[Chunk]:
    """Chunks of one file, in file order, covering every non-blank line exactly once."""
    source = Source(text)
    pieces = _pieces(spec, source, limits or ChunkLimits())
    chunks = [_chunk_of(path, spec.name, source, piece) for piece in pieces]
    _assign_ids(chunks)
    return chunks


def _chunk_of(path: str, language: str, source: Source, piece: Piece) -> Chunk:
    text = source.rows(piece.start_row, piece.end_row)
    defines = [name for name in piece.defines if name]
    return Chunk(
        path=path,
        language=language,
        kind=piece.kind,
        symbol=piece.symbol,
        parent=piece.parent,
        start_line=piece.start_row + 1,
        end_line=piece.end_row + 1,
        start_byte=source.byte_starts[piece.start_row],
        end_byte=source.byte_starts[piece.end_row + 1] - 1,
        text=text,
        signature=piece.signature or source.first_line(piece.start_row, piece.end_row),
        docstring=piece.docstring,
        skeleton=piece.skeleton or text,
        defines=defines,
        references=references_in(text, defines),
    )


def _assign_ids(chunks: list[Chunk]) -> None:
    """Content ids: path + text + occurrence, so a chunk that only moves keeps its id."""
    seen: Counter[str] = Counter()
    for chunk in chunks:
        chunk.sha256 = sha256_text(chunk.text)
        occurrence = seen[chunk.sha256]
        seen[chunk.sha256] += 1
        chunk.id = sha256_text(f"{chunk.path}\0{chunk.sha256}\0{occurrence}")[:32]
