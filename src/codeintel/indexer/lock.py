"""Advisory lock files beside (never inside) the database: one writer at a time, and the
readers counted, so that a build can tell whether any still reads a superseded version."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from codeintel.errors import IndexLocked

_POLL_SECONDS = 0.2
_CREATE = os.O_RDWR | os.O_CREAT


def _holder(handle: int) -> str:
    os.lseek(handle, 0, os.SEEK_SET)
    return os.read(handle, 64).decode(errors="replace").strip() or "?"


@contextlib.contextmanager
def writer_lock(
    path: Path,
    timeout: float,
    on_wait: Callable[[str], None] | None = None,
    writer: str = "indexer",
    writes: str = "this index",
    advice: str = "wait for it to finish or raise index.lock_timeout",
) -> Iterator[None]:
    """Hold the lock at ``path``; wait up to ``timeout`` seconds for another ``writer``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(path, _CREATE, 0o644)
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
                        f"another {writer} (pid {holder}) is writing {writes}; {advice}"
                    ) from None
                if on_wait and not told:
                    on_wait(f"waiting for another {writer} (pid {holder}) to finish")
                    told = True
                time.sleep(_POLL_SECONDS)
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)  # closing releases the lock


@contextlib.contextmanager
def reader_lock(path: Path) -> Iterator[None]:
    """Held, shared with other readers, while reading the index at ``path``'s folder: while
    any reader holds it, a build keeps superseded versions for the grace period. A reader
    that cannot open the file (a read-only folder without one) reads unannounced."""
    try:
        handle = os.open(path, os.O_RDONLY) if path.exists() else os.open(path, _CREATE, 0o644)
    except OSError:
        yield
        return
    try:
        # waits only while a build prunes; a file system without locks (some NFS, FUSE):
        # unannounced
        with contextlib.suppress(OSError):
            fcntl.flock(handle, fcntl.LOCK_SH)
        yield
    finally:
        os.close(handle)


@contextlib.contextmanager
def readers_absent(path: Path) -> Iterator[bool]:
    """True when no reader holds ``path``: then none can start until the block ends (the
    lock is held exclusively meanwhile), so superseded versions may go at once."""
    try:
        handle = os.open(path, _CREATE, 0o644)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by a reader (BlockingIOError), or no locks here: unknown
            yield False
            return
        yield True
    finally:
        os.close(handle)
