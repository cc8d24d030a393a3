"""Exact token counting with tiktoken, offline.

Counts are never estimated: if an encoding cannot be loaded, ``TokenizerUnavailable``
says which variable to set. ``TIKTOKEN_CACHE_DIR`` is honoured as tiktoken does.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from codeintel.errors import ConfigError, TokenizerUnavailable

if TYPE_CHECKING:
    import tiktoken

ENCODINGS = ("cl100k_base", "o200k_base")
DEFAULT_ENCODING = "cl100k_base"

# Model-name prefixes to the encodings those models use (OpenAI's published tokenizers); the
# longest matching prefix wins. Other vendors' tokenizers (Claude, Gemini, Llama) are not
# available offline, so their names are not here: counting them with one of these would
# be a guess.
MODEL_ENCODINGS: dict[str, str] = {
    "gpt-4o": "o200k_base",
    "gpt-4.1": "o200k_base",
    "gpt-4.5": "o200k_base",
    "gpt-5": "o200k_base",
    "o1": "o200k_base",
    "o3": "o200k_base",
    "o4": "o200k_base",
    "gpt-4": "cl100k_base",
    "gpt-3.5": "cl100k_base",
    "text-embedding-3": "cl100k_base",
}

# Chat framing per message (role markers and separators), as OpenAI documents it for
# its chat models: 3 tokens per message and 3 to prime the reply.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_REPLY = 3


def encoding_for(
    llm: str | None = None, encoding: str | None = None, default: str = DEFAULT_ENCODING
) -> str:
    """The encoding to count with: ``encoding`` itself, or the one LLM ``llm`` uses (by
    longest known name prefix), or ``default``. An unknown LLM is refused, never guessed."""
    if llm and encoding:
        raise ConfigError("--llm and --encoding are alternatives; pass one of them")
    if encoding:
        return encoding  # TokenCounter refuses one it does not know
    if not llm:
        return default
    matches = [prefix for prefix in MODEL_ENCODINGS if llm.lower().startswith(prefix)]
    if not matches:
        known = ", ".join(f"{prefix}*" for prefix in MODEL_ENCODINGS)
        raise ConfigError(
            f"no tokenizer known for LLM {llm!r} (known: {known}); "
            f"count with --encoding {' or '.join(ENCODINGS)} instead"
        )
    return MODEL_ENCODINGS[max(matches, key=len)]


@functools.lru_cache(maxsize=4)
def _load(name: str) -> tiktoken.Encoding:
    if name not in ENCODINGS:
        raise ConfigError(f"unknown encoding {name!r}; allowed: {', '.join(ENCODINGS)}")
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises requests/IO errors of many kinds offline
        raise TokenizerUnavailable(
            f"tiktoken encoding {name} is not available offline ({type(exc).__name__}); "
            "set TIKTOKEN_CACHE_DIR to a folder holding its file"
        ) from exc


class TokenCounter:
    """Counts tokens of texts exactly, remembering recent texts (packing recounts often)."""

    def __init__(self, encoding: str = DEFAULT_ENCODING) -> None:
        self.encoding_name = encoding
        self._encoding = _load(encoding)
        self._cache: dict[str, int] = {}

    def count(self, text: str) -> int:
        if not text:
            return 0
        cached = self._cache.get(text)
        if cached is None:
            cached = len(self._encoding.encode_ordinary(text))
            if len(self._cache) > 50_000:
                self._cache.clear()
            self._cache[text] = cached
        return cached

    def count_many(self, texts: list[str]) -> list[int]:
        """Counts a batch without caching (the indexer's path: each text is seen once)."""
        encode = self._encoding.encode_ordinary
        return [len(encode(text)) if text else 0 for text in texts]

    def count_messages(self, messages: list[dict[str, str]]) -> int:
        """Tokens of a chat request: each message's content and role plus framing."""
        total = TOKENS_PER_REPLY
        for message in messages:
            total += TOKENS_PER_MESSAGE + sum(self.count(value) for value in message.values())
        return total
