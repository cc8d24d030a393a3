"""What every provider speaks: messages in, a reply out (its text, usage and why it
stopped), optionally streamed as text deltas."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["user", "assistant"]
# Why a reply ended: it was complete, it hit max_output_tokens, or the model refused.
StopReason = Literal["end", "max_tokens", "refusal", "other"]
OnText = Callable[[str], None]


@dataclass(frozen=True)
class Message:
    role: Role
    content: str


@dataclass(frozen=True)
class Usage:
    """Tokens as the provider counted them; ``prompt_tokens`` includes ``cached_tokens``."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    usage: Usage
    stop_reason: StopReason


class Provider(Protocol):
    name: str
    model: str

    def complete(
        self, system: str, messages: Sequence[Message], on_text: OnText | None = None
    ) -> Reply:
        """The model's reply; with ``on_text``, streamed, each text delta passed to it as it
        arrives (a stream cut short raises ``StreamCut``: what was passed is no answer)."""
        ...


def total_usage(replies: Sequence[Reply]) -> Usage:
    """The usage of several replies (one request's rounds), summed."""
    return Usage(
        sum(reply.usage.prompt_tokens for reply in replies),
        sum(reply.usage.completion_tokens for reply in replies),
        sum(reply.usage.cached_tokens for reply in replies),
    )
