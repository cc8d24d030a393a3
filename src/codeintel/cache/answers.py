"""Prior answers, each kept with the code it was grounded on, and the rule that decides
whether one may be served again instead of asking the provider.

An answer's *grounding* is the chunks it was answered from, by id: a chunk id is a content
hash of its path, text and occurrence, so a grounding chunk still in the index is the same
code, byte for byte. An answer is served for a new question only when all of these hold
(``why_not`` names the first that fails):

- the same model gave it (unless ``cache.any_model``);
- the new question names the same identifiers and paths;
- every grounding chunk is still in the index, as refreshed for this question;
- the new question's own context shows every grounding chunk (its retrieval lands there);
- the questions' vectors are at least ``cache.similarity`` alike (cosine).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

Live = Callable[[Collection[str]], set[str]]
"""Which of the given chunk ids the index holds now."""

Refusal = Literal["model", "names", "stale", "elsewhere", "dissimilar"]


@dataclass(frozen=True)
class Grounding:
    chunk_id: str
    sha256: str  # of the chunk's text, for whoever reads the table


@dataclass(frozen=True)
class Entry:
    """One cached answer. ``tokens`` is what it cost the provider (prompt and completion):
    what each hit saves."""

    key: str
    question: str
    vector: tuple[float, ...]
    names: tuple[str, ...]
    answer: str
    citations: str  # JSON: the citations as ``ask`` checked them
    grounding: tuple[Grounding, ...]
    model: str
    tokens: int
    created: float
    last_hit: float = 0.0
    hits: int = 0

    @property
    def chunk_ids(self) -> set[str]:
        return {ground.chunk_id for ground in self.grounding}


@dataclass(frozen=True)
class Lookup:
    """A new question as the cache compares it: its vector, the names it says, the chunk ids
    its own context shows, and the model that would answer it."""

    question: str
    vector: np.ndarray
    names: frozenset[str]
    shown: frozenset[str]
    model: str
    any_model: bool = False
    similarity: float = 0.9


@dataclass(frozen=True)
class Verdict:
    """The best servable entry (None: none), and why each other entry was not served."""

    entry: Entry | None
    refusals: dict[str, Refusal] = field(default_factory=dict)  # by entry key

    @property
    def stale(self) -> list[str]:
        return [key for key, why in self.refusals.items() if why == "stale"]


def why_not(entry: Entry, lookup: Lookup, live: set[str]) -> Refusal | None:
    """Why ``entry`` may not answer ``lookup`` (None: it may); ``live`` holds the entry's
    grounding ids the index still has."""
    if entry.model != lookup.model and not lookup.any_model:
        return "model"
    if frozenset(entry.names) != lookup.names:
        return "names"
    ids = entry.chunk_ids
    if not ids <= live:
        return "stale"
    if not ids <= lookup.shown:
        return "elsewhere"
    if cosine(entry.vector, lookup.vector) < lookup.similarity:
        return "dissimilar"
    return None


def judge(entries: Sequence[Entry], lookup: Lookup, live: Live) -> Verdict:
    """The entry most like ``lookup`` among those that may answer it."""
    held = live({ground.chunk_id for entry in entries for ground in entry.grounding})
    best: tuple[float, Entry] | None = None
    refusals: dict[str, Refusal] = {}
    for entry in entries:
        why = why_not(entry, lookup, held)
        if why is not None:
            refusals[entry.key] = why
            continue
        alike = cosine(entry.vector, lookup.vector)
        if best is None or alike > best[0]:
            best = (alike, entry)
    return Verdict(best[1] if best else None, refusals)


def cosine(first: Sequence[float] | np.ndarray, second: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity; 0 for vectors of different sizes (another embedder's)."""
    a = np.asarray(first, dtype=np.float32)
    b = np.asarray(second, dtype=np.float32)
    if a.shape != b.shape or not a.size:
        return 0.0
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norms if norms else 0.0
