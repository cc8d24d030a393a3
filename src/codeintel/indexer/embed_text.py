"""What the embedding model sees of a chunk: where it is, what it is, then its code.

MiniLM reads 256 word-pieces; the header keeps path, symbol and signature inside that
window even for the later parts of a split function, and the body fills the rest.
"""

from __future__ import annotations


def embedding_text(path: str, kind: str, symbol: str, signature: str, text: str) -> str:
    header = f"{path} {kind} {symbol}".rstrip()
    first_line = text.lstrip().split("\n", 1)[0].strip()
    if signature and not first_line.startswith(signature[:40]):
        return f"{header}\n{signature}\n{text}"
    return f"{header}\n{text}"
