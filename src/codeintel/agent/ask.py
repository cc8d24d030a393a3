"""Asking about the code without editing it: the prompt around a packed context, and the
answer's citations checked against the lines that context really showed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from codeintel.agent.context import Context, ContextItem
from codeintel.agent.llm.base import Message, Reply
from codeintel.errors import ConfigError
from codeintel.indexer.tokens import TokenCounter, encoding_for

SYSTEM = (
    "You answer questions about a codebase from the code excerpts you are given, and from "
    "nothing else. Each excerpt starts with a header `path:start-end` giving its file and "
    "lines. Cite the code your answer rests on as `path:start-end` (the lines of an excerpt, "
    "or a part of them). If the excerpts do not hold the answer, say so instead of guessing."
)
# `path:12` or `path:12-30`, the path holding a dot or a slash (a file, not a word).
_CITATION = re.compile(
    r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]*\w\.\w+|(?:[\w.-]+/)+[\w.-]+):(\d+)(?:-(\d+))?"
)


@dataclass(frozen=True)
class Citation:
    path: str
    start_line: int
    end_line: int
    valid: bool  # the context showed these lines of this file


@dataclass(frozen=True)
class Prompt:
    """The exact request of ``ask`` or ``edit``: system text, messages, and their tokens as
    the counter counts them (content, roles and chat framing)."""

    system: str
    messages: tuple[Message, ...]
    tokens: int
    encoding: str
    context: Context

    def to_json(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "messages": [asdict(message) for message in self.messages],
            "tokens": self.tokens,
            "encoding": self.encoding,
            "context": context_summary(self.context),
        }


@dataclass(frozen=True)
class Answer:
    answer: str
    citations: tuple[Citation, ...]
    context: Context
    reply: Reply
    seconds: float
    requested: tuple[Context, ...] = ()  # code the model asked for by name, each round's
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``ask --json`` shape of the CLI contract."""
        return {
            "answer": self.answer,
            "cached": self.cached,
            "citations": [asdict(citation) for citation in self.citations],
            "context": context_summary(self.context),
            "requested": [context_summary(context) for context in self.requested],
            "usage": asdict(self.reply.usage),
            "model": self.reply.model,
            "stop_reason": self.reply.stop_reason,
            "seconds": round(self.seconds, 3),
        }


def context_summary(context: Context) -> dict[str, Any]:
    return {
        "budget": context.budget,
        "tokens": context.tokens,
        "items": [vars(item).copy() for item in context.items],
    }


def prompt_encoding(provider: str, model: str, default: str) -> str:
    """The encoding that counts a prompt: the model's own for OpenAI models tiktoken knows,
    else ``default`` (other vendors' tokenizers are not public)."""
    if provider == "openai" and model:
        try:
            return encoding_for(model)
        except ConfigError:
            pass
    return default


def ask_prompt(
    question: str, context: Context, counter: TokenCounter, system: str = SYSTEM
) -> Prompt:
    return build_prompt(system, f"Question: {question.strip()}", context, counter)


def build_prompt(system: str, request: str, context: Context, counter: TokenCounter) -> Prompt:
    """One user message: the context, then ``request``; counted as the chat API sends it."""
    messages = (Message("user", f"{context.text.rstrip()}\n\n{request}"),)
    framed = [{"role": "system", "content": system}] + [asdict(m) for m in messages]
    tokens = counter.count_messages(framed)
    return Prompt(system, messages, tokens, counter.encoding_name, context)


def citations_in(answer: str, items: Sequence[ContextItem]) -> tuple[Citation, ...]:
    """Every ``path:start[-end]`` the answer cites, each once, in order; valid when one item
    of that file showed all of those lines (in full, or within a skeleton's or a
    signature's range, whose lines the header names)."""
    found: dict[tuple[str, int, int], None] = {}
    for match in _CITATION.finditer(answer):
        start = int(match.group(2))
        end = int(match.group(3) or start)
        found.setdefault((match.group(1).removeprefix("./"), start, end))
    return tuple(
        Citation(path, start, end, _shown(path, start, end, items)) for path, start, end in found
    )


def _shown(path: str, start: int, end: int, items: Sequence[ContextItem]) -> bool:
    return start <= end and any(
        item.path == path and item.start_line <= start and end <= item.end_line for item in items
    )
