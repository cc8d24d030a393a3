"""Code-aware terms for full-text search: identifiers also yield their words.

``getUserName`` and ``get_user_name`` both add ``get user name``, so a question in prose
finds code, and an identifier in a question finds every spelling of it. The same function
runs on chunks at index time and on queries at search time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

_IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")
_WORD_PARTS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
_PATH_SEPARATORS = re.compile(r"[/\\._-]+")


def identifier_words(identifier: str) -> list[str]:
    """``parseHTTPResponse_v2`` → ``['parse', 'http', 'response', 'v', '2']``."""
    return [part.lower() for part in _WORD_PARTS.findall(identifier)]


def identifiers(text: str) -> dict[str, None]:
    """The identifiers in ``text``, each once, in order of first appearance."""
    return dict.fromkeys(_IDENTIFIER.findall(text))


def expand_terms(text: str, found: Iterable[str] | None = None) -> str:
    """The text followed by the words of each compound identifier in it (each once);
    ``found`` is ``identifiers(text)`` where the caller has it already."""
    extra = " ".join(filter(None, map(_expansion, identifiers(text) if found is None else found)))
    return f"{text}\n{extra}" if extra else text


@functools.lru_cache(maxsize=1 << 18)
def _expansion(word: str) -> str:
    """The words of a compound identifier (``snake_case``, ``camelCase``); "" for others.
    Cached: a repository repeats its identifiers in every chunk."""
    compound = "_" in word.strip("_$") or (
        not word.isupper() and not word.islower() and not word.istitle()
    )
    return " ".join(identifier_words(word)) if compound else ""


def chunk_terms(path: str, symbol: str, text: str, found: dict[str, None] | None = None) -> str:
    """The full-text document of a chunk (or, with no symbol, of a whole file): path and
    symbol words, then its code; ``found`` is ``identifiers(text)`` where known."""
    head = f"{_PATH_SEPARATORS.sub(' ', path)}\n{symbol}"
    words = identifiers(head)
    words.update(identifiers(text) if found is None else found)
    return expand_terms(f"{head}\n{text}", words)
