"""The cost ledger of a repository: one line per ``ask`` or ``edit`` call that reached the
provider, with the provider's own token counts, the context's tokens, and the tokens of the
whole files that context drew from (what sending those files instead would have cost).

Kept in ``.codeintel/ledger.jsonl``, appended one line per write (``O_APPEND``: writers in
several processes never interleave a line).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from codeintel.agent.context import Context
from codeintel.agent.llm.base import Usage
from codeintel.indexer.tokens import TokenCounter

LEDGER = Path(".codeintel") / "ledger.jsonl"


@dataclass(frozen=True)
class Entry:
    time: float
    command: str  # "ask" or "edit"
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    context_tokens: int
    whole_files_tokens: int  # the files the context drew from, whole
    files: int


@dataclass(frozen=True)
class Totals:
    calls: dict[str, int]
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    context_tokens: int
    whole_files_tokens: int

    @property
    def saved(self) -> int:
        """Tokens the contexts saved against sending the whole files they drew from."""
        return self.whole_files_tokens - self.context_tokens

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "saved": self.saved}


def entry_for(
    root: Path,
    command: str,
    model: str,
    usage: Usage,
    contexts: Sequence[Context],
    counter: TokenCounter,
) -> Entry:
    """The entry of one call; ``contexts``: every context it sent (the first, and any code
    the model asked for)."""
    paths = sorted({item.path for context in contexts for item in context.items})
    whole = sum(counter.count(_text(root / path)) for path in paths)
    return Entry(
        time.time(),
        command,
        model,
        usage.prompt_tokens,
        usage.completion_tokens,
        usage.cached_tokens,
        sum(context.tokens for context in contexts),
        whole,
        len(paths),
    )


def record(root: Path, entry: Entry) -> None:
    path = root / LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(asdict(entry)) + "\n").encode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)


def totals(root: Path) -> Totals:
    """The sums over every entry (a line a killed writer left unfinished is skipped)."""
    entries = []
    path = root / LEDGER
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                entries.append(Entry(**json.loads(line)))
            except (ValueError, TypeError):
                continue
    sums = {
        field.name: sum(getattr(entry, field.name) for entry in entries)
        for field in fields(Entry)
        if field.name.endswith("_tokens")
    }
    return Totals(dict(Counter(entry.command for entry in entries)), **sums)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # gone since: it costs nothing now
        return ""
