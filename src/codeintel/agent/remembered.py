"""Between ``ask`` and the answer cache: what a question looks like to the cache, which
answers are worth keeping and on what code they rest, and a kept answer served again."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict

import numpy as np

from codeintel.agent.ask import Answer, Citation
from codeintel.agent.context import Context
from codeintel.agent.llm.base import Reply, Usage
from codeintel.cache.answers import Entry, Grounding, Lookup
from codeintel.cache.store import entry_key
from codeintel.indexer.models import Chunk, sha256_text
from codeintel.retrieval.query import parse_query
from codeintel.settings import CacheSettings

# An answer that says the excerpts lack what was asked (the system prompt asks for that
# instead of a guess) answers nothing worth keeping.
_DECLINES = re.compile(
    r"\b(?:do|does|did)(?: not|n't) (?:hold|contain|show|include|say|mention)\b"
    r"|\bcan(?:not|'t) (?:answer|determine|tell|find|see)\b"
    r"|\bnot enough (?:information|context|code)\b|\bno (?:excerpt|code) (?:shows|holds)\b",
    re.IGNORECASE,
)


def question_names(question: str) -> frozenset[str]:
    """The identifiers and paths a question names, as retrieval reads them."""
    parsed = parse_query(question)
    return frozenset([*parsed.identifiers, *parsed.dotted, *parsed.paths])


def lookup_for(
    question: str, context: Context, vector: np.ndarray, model: str, settings: CacheSettings
) -> Lookup:
    return Lookup(
        question=question,
        vector=vector,
        names=question_names(question),
        shown=frozenset(chunk.id for chunk in context.shown),
        model=model,
        any_model=settings.any_model,
        similarity=settings.similarity,
    )


def grounding_of(answer: Answer) -> tuple[Chunk, ...]:
    """The chunks an answer rests on: those shown in full that its citations touch, or every
    one shown in full when it cites none."""
    shown = answer.context.shown
    if not answer.citations:
        return shown
    return tuple(
        chunk
        for chunk in shown
        if any(
            citation.path == chunk.path
            and citation.start_line <= chunk.end_line
            and chunk.start_line <= citation.end_line
            for citation in answer.citations
        )
    )


def entry_for(answer: Answer, lookup: Lookup, now: float | None = None) -> Entry | None:
    """The entry that keeps ``answer`` (None when it may not be kept: cut short, refused,
    empty, a citation the context did not show, an answer that needed code asked for by
    name, or no code shown in full to rest on)."""
    reply = answer.reply
    if (
        reply.stop_reason != "end"
        or not answer.answer.strip()
        or answer.requested
        or any(not citation.valid for citation in answer.citations)
        or _DECLINES.search(answer.answer)
    ):
        return None
    grounding = grounding_of(answer)
    if not grounding:
        return None
    usage = reply.usage
    return Entry(
        key=entry_key(lookup.model, lookup.question),
        question=lookup.question,
        vector=tuple(float(x) for x in lookup.vector),
        names=tuple(sorted(lookup.names)),
        answer=answer.answer,
        citations=json.dumps([asdict(citation) for citation in answer.citations]),
        grounding=tuple(
            Grounding(chunk.id, chunk.sha256 or sha256_text(chunk.text)) for chunk in grounding
        ),
        model=lookup.model,
        tokens=usage.prompt_tokens + usage.completion_tokens,
        created=time.time() if now is None else now,
    )


def served(entry: Entry, context: Context, started: float) -> Answer:
    """The kept answer as ``ask`` returns it: no provider call, no tokens spent."""
    citations = tuple(Citation(**cited) for cited in json.loads(entry.citations))
    reply = Reply(entry.answer, entry.model, Usage(), "end")
    return Answer(
        entry.answer, citations, context, reply, time.perf_counter() - started, cached=True
    )
