"""A request to the model that may ask for more code by name: a reply made only of
``NEED: <path or symbol>`` lines gets that code, packed into what is left of the budget,
for at most two rounds; a request for nothing new ends the asking."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from codeintel.agent.ask import Prompt
from codeintel.agent.context import Context
from codeintel.agent.llm.base import Message, OnText, Provider, Reply

MAX_ROUNDS = 2
MAX_NAMES = 5
REQUESTS = (
    f"\n\nIf the excerpts lack code you need, reply with nothing but lines `NEED: <file "
    f"path or symbol>` (at most {MAX_NAMES}); that code is then sent to you, at most "
    f"{MAX_ROUNDS} times."
)
_NEED = re.compile(r"^\s*NEED:\s*`?([^\s`]+)`?\s*$")
SENT = "The code you asked for ({}):\n\n{}\n\nAnswer now, or ask for more code."
NOT_FOUND = "No code was found for {}. Answer with what you have."
ENOUGH = "No more code can be sent. Answer now with what you have."

# The code named (paths and symbols), packed within a token budget.
Fetch = Callable[[list[str], int], Context]


@dataclass(frozen=True)
class Conversation:
    reply: Reply  # the last: the answer
    replies: tuple[Reply, ...]
    messages: tuple[Message, ...]  # what was sent for the last reply
    shown: tuple[Context, ...]  # the prompt's context, then each one sent on request


def requested(text: str) -> list[str]:
    """The names a reply asks for, if it is nothing but ``NEED:`` lines."""
    lines = [line for line in text.splitlines() if line.strip()]
    matches = [_NEED.match(line) for line in lines]
    if not lines or not all(matches):
        return []
    return list(dict.fromkeys(m.group(1) for m in matches if m))[:MAX_NAMES]


def converse(
    provider: Provider,
    prompt: Prompt,
    fetch: Fetch | None,
    spare: int,
    on_text: OnText | None = None,
) -> Conversation:
    """The model's answer to ``prompt``; with ``fetch``, code it asks for by name is sent,
    within ``spare`` tokens in all."""
    messages = list(prompt.messages)
    replies: list[Reply] = []
    shown = [prompt.context]
    asked: set[str] = set()
    while True:
        reply = provider.complete(prompt.system, messages, on_text)
        replies.append(reply)
        names = requested(reply.text) if fetch is not None else []
        if not names:
            return Conversation(reply, tuple(replies), tuple(messages), tuple(shown))
        fresh = [name for name in names if name not in asked]
        if fetch is not None and fresh and len(shown) <= MAX_ROUNDS:
            asked.update(fresh)
            extra = fetch(fresh, spare)
            spare -= extra.tokens
            shown.append(extra)
            listed = ", ".join(fresh)
            text = extra.text.rstrip()
            follow = SENT.format(listed, text) if extra.items else NOT_FOUND.format(listed)
        else:  # a third request, or one for nothing new: the next reply is the answer
            follow, fetch = ENOUGH, None
        messages += [Message("assistant", reply.text), Message("user", follow)]
        if on_text is not None:
            on_text("\n\n")  # the streamed request, then the next reply
