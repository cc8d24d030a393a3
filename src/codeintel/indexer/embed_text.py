"""What the embedding model sees of a chunk: what it is, then its code.

MiniLM reads 256 word-pieces; the header keeps the symbol and signature inside that window
even for the later parts of a split function, and the body fills the rest. The path is left
out on purpose: the vector then depends on the code alone, so a renamed or moved file, and
the same code in another repository, reuse cached vectors (the path still counts through
the full-text terms and the path signal).
"""

from __future__ import annotations


def embedding_text(kind: str, symbol: str, signature: str, text: str) -> str:
    header = f"{kind} {symbol}".rstrip()
    first_line = text.lstrip().split("\n", 1)[0].strip()
    if signature and not first_line.startswith(signature[:40]):
        return f"{header}\n{signature}\n{text}"
    return f"{header}\n{text}"
