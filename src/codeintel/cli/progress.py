"""Build progress for people: rich bars on a terminal, plain log lines otherwise (stderr)."""

from __future__ import annotations

import sys
import time
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class TerminalProgress:
    """Implements the indexer's ``Progress`` protocol; use as a context manager."""

    def __init__(self, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.enabled = enabled
        self.interactive = enabled and self.console.is_terminal
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._name = ""
        self._done = 0
        self._total = 0
        self._last_line = 0.0

    def __enter__(self) -> TerminalProgress:
        if self.interactive:
            self._bar = Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def phase(self, name: str, total: int) -> None:
        self._name, self._done, self._total = name, 0, total
        if self._bar is not None:
            if self._task is not None:
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(name, total=total or None)
        elif self.enabled:
            self._line(f"{name}: {total} to do" if total else f"{name}")

    def advance(self, amount: int) -> None:
        self._done += amount
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, amount)
        elif self.enabled and time.monotonic() - self._last_line > 5:
            self._line(f"{self._name}: {self._done}/{self._total}")

    def note(self, message: str) -> None:
        if self.enabled:
            self._line(message)

    def _line(self, text: str) -> None:
        self._last_line = time.monotonic()
        print(f"codeintel: {text}", file=sys.stderr, flush=True)
