"""One writer at a time: an advisory lock file beside (never inside) the database."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from codeintel.errors import IndexLocked

_POLL_SECONDS = 0.2


def _holder(handle: int) -> str:
    os.lseek(handle, 0, os.SEEK_SET)
    return os.read(handle, 64).decode(errors="replace").strip() or "?"


@contextlib.contextmanager
def writer_lock(
    path: Path, timeout: float, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lock at ``path``; wait up to ``timeout`` seconds for another writer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(handle)
                if time.monotonic() >= deadline:
                    raise IndexLocked(
                        f"another indexer (pid {holder}) is writing this index; wait for it "
                        "to finish or raise index.lock_timeout"
                    ) from None
                if on_wait and not told:
                    on_wait(f"waiting for another indexer (pid {holder}) to finish")
                    told = True
                time.sleep(_POLL_SECONDS)
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock
