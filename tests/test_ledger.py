"""The cost ledger under concurrent writers: every line whole, none lost."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from codeintel.agent.ledger import LEDGER, Entry, record, totals


def _write_many(root: str, count: int) -> None:
    for i in range(count):
        record(Path(root), Entry(float(i), "ask", "m" * 300, 10, 2, 1, 5, 50, 1))


def test_concurrent_writers_never_interleave_lines(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(tmp_path), 200)) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    summed = totals(tmp_path)
    assert summed.calls == {"ask": 400}
    assert (summed.prompt_tokens, summed.saved) == (4000, 400 * 45)
    (tmp_path / LEDGER).open("a").write('{"time": 1, "comm')  # a writer killed mid-line
    assert totals(tmp_path).calls == {"ask": 400}
