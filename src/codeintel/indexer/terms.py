"""Code-aware terms for full-text search: identifiers also yield their words.

``getUserName`` and ``get_user_name`` both add ``get user name``, so a question in prose
finds code, and an identifier in a question finds every spelling of it. The same function
runs on chunks at index time and on queries at search time.
"""

from __future__ import annotations

import functools
import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def identifier_words(identifier: str) -> list[str]:
    """``parseHTTPResponse_v2`` → ``['parse', 'http', 'response', 'v', '2']``."""
    return [part.lower() for part in _WORD_PARTS.findall(identifier)]


def expand_terms(text: str) -> str:
    """The text followed by the words of each compound identifier in it (each once)."""
    expansions = (_expansion(word) for word in sorted(set(_IDENTIFIER.findall(text))))
    extra = " ".join(words for words in expansions if words)
    return f"{text}\n{extra}" if extra else text


@functools.lru_cache(maxsize=1 << 16)
def _expansion(word: str) -> str:
    """The words of a compound identifier (``snake_case``, ``camelCase``); "" for others.
    Cached: a repository repeats its identifiers in every chunk."""
    compound = "_" in word.strip("_") or (
        not word.isupper() and not word.islower() and not word.istitle()
    )
    return " ".join(identifier_words(word)) if compound else ""


def chunk_terms(path: str, symbol: str, text: str) -> str:
    """The full-text document of a chunk: path and symbol words, then its code."""
    path_words = " ".join(re.split(r"[/\\._-]+", path))
    return expand_terms(f"{path_words}\n{symbol}\n{text}")
