"""Edits grounded in retrieved code: the model answers an instruction with SEARCH/REPLACE
blocks over the packed context; blocks that cannot be applied are sent back once, saying
what failed, and a second failure writes nothing."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codeintel.agent.apply import EditRejected, FileChange, plan_changes
from codeintel.agent.ask import Prompt, build_prompt, context_summary
from codeintel.agent.context import Context
from codeintel.agent.converse import Fetch, converse
from codeintel.agent.edit_blocks import BlockError, parse_blocks
from codeintel.agent.llm.base import Message, OnText, Provider, Reply, Usage, total_usage
from codeintel.errors import EditRefused
from codeintel.indexer.tokens import TokenCounter

SYSTEM = """You change a codebase as instructed, working from the code excerpts given (each \
starts with a header `path:start-end`). Answer with one or two sentences on what you \
change, then one SEARCH/REPLACE block per change, exactly in this format:

path/to/file.py
<<<<<<< SEARCH
lines copied exactly from the file, enough to match in one place only
=======
the lines that replace them
>>>>>>> REPLACE

Copy SEARCH lines exactly as the file has them (the excerpts show the file's text). To \
create a file, leave SEARCH empty. Use paths as the headers show them, relative to the \
repository. Change only what the instruction needs."""

INSTRUCTION = "Instruction: {}"
RETRY = """These blocks could not be applied, so nothing was changed:
{}
Answer again with every block of the change, corrected."""


class EditFailed(EditRefused):
    """The model's blocks failed twice; ``replies`` are what the attempts cost, ``shown``
    the contexts they were sent."""

    def __init__(
        self, message: str, replies: tuple[Reply, ...], shown: tuple[Context, ...]
    ) -> None:
        super().__init__(message)
        self.replies, self.shown = replies, shown


@dataclass(frozen=True)
class EditPlan:
    """What an edit would write (``changes``, shown as ``diff``), and how it came about."""

    instruction: str
    answer: str
    changes: tuple[FileChange, ...]
    diff: str
    prompt: Prompt
    replies: tuple[Reply, ...]
    shown: tuple[Context, ...]  # the prompt's context, then code the model asked for

    @property
    def usage(self) -> Usage:
        return total_usage(self.replies)

    def to_json(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "answer": self.answer,
            "files": [change.path for change in self.changes],
            "diff": self.diff,
            "context": context_summary(self.prompt.context),
            "usage": asdict(self.usage),
            "model": self.replies[-1].model,
            "attempts": len(self.replies),
        }


def edit_prompt(
    instruction: str, context: Context, counter: TokenCounter, system: str = SYSTEM
) -> Prompt:
    return build_prompt(system, INSTRUCTION.format(instruction.strip()), context, counter)


def plan_edit(
    provider: Provider,
    instruction: str,
    prompt: Prompt,
    root: Path,
    on_text: OnText | None = None,
    fetch: Fetch | None = None,
    spare: int = 0,
) -> EditPlan:
    """Ask for the edit (the model may ask for code by name: ``converse``); on blocks that
    cannot be applied, ask once more, saying why."""
    talk = converse(provider, prompt, fetch, spare, on_text)
    replies, reply = list(talk.replies), talk.reply
    try:
        changes = _changes(root, reply)
    except EditRejected as rejected:
        failures = "\n".join(f"- {failure}" for failure in rejected.failures)
        retry = [Message("assistant", reply.text), Message("user", RETRY.format(failures))]
        reply = provider.complete(prompt.system, [*talk.messages, *retry], on_text)
        replies.append(reply)
        try:
            changes = _changes(root, reply)
        except EditRejected as again:
            raise EditFailed(
                "the model's edit could not be applied, also after being told why: "
                + "; ".join(again.failures),
                tuple(replies),
                talk.shown,
            ) from None
    diff = unified_diff(changes)
    shown = talk.shown
    return EditPlan(instruction, reply.text, tuple(changes), diff, prompt, tuple(replies), shown)


def _changes(root: Path, reply: Reply) -> list[FileChange]:
    if reply.stop_reason == "max_tokens":  # the blocks after the cut are missing
        raise EditRejected(
            ["the answer was cut at llm.max_output_tokens; send fewer or shorter blocks"]
        )
    try:
        blocks = parse_blocks(reply.text)
    except BlockError as exc:
        raise EditRejected([str(exc)]) from None
    if not blocks:
        raise EditRejected(["the answer holds no SEARCH/REPLACE block"])
    return plan_changes(root, blocks)


def unified_diff(changes: Sequence[FileChange]) -> str:
    parts: list[str] = []
    for change in changes:
        old = (change.old or b"").decode("utf-8").splitlines(keepends=True)
        new = (change.new or b"").decode("utf-8").splitlines(keepends=True)
        before = f"a/{change.path}" if change.old is not None else "/dev/null"
        after = f"b/{change.path}" if change.new is not None else "/dev/null"
        parts.extend(difflib.unified_diff(old, new, before, after))
    return "".join(line if line.endswith("\n") else f"{line}\n" for line in parts)
