"""Edits written to a repository's files: confined to it, all or nothing, undoable.

A path is resolved inside the root (no absolute path, no ``..`` out, no symlink leading
out), never under ``.git/`` or ``.codeintel/``, never a binary or non-UTF-8 file. Applying
writes a journal first (each file's old bytes and mode, or that it did not exist, and the
hash of what it becomes), then each file through a temporary file in its folder (fsync,
rename, its mode kept); the journal then becomes the top of the undo stack. A build killed
mid-apply leaves the journal, and ``recover`` (run before every apply and undo) puts every
file it names back as it was: never half an edit.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codeintel.agent.edit_blocks import BlockError, EditBlock, apply_block
from codeintel.errors import EditRefused
from codeintel.indexer.lock import writer_lock

EDITS_DIR = Path(".codeintel") / "edits"
LOCK_TIMEOUT = 30.0  # seconds an edit or undo waits for another one
_FORBIDDEN = (".git", ".codeintel")


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the root, POSIX
    old: bytes | None  # None: the file does not exist yet
    new: bytes | None  # None: the file goes (an undone creation)
    mode: int | None  # the old file's permission bits


class EditRejected(ValueError):
    """Blocks that cannot be applied, each failure said (the model is told them)."""

    def __init__(self, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.failures = failures


def resolve(root: Path, path: str) -> Path:
    """``path`` inside ``root``, or ``EditRefused`` saying why not."""
    clean = path.strip().replace("\\", "/")
    if not clean or Path(clean).is_absolute() or clean.startswith("~"):
        raise EditRefused(f"{path!r}: not a path inside the repository; edits use relative paths")
    target = root / clean
    try:
        resolved = target.resolve(strict=False)
    except (OSError, RuntimeError) as exc:  # a symlink loop
        raise EditRefused(f"{path}: cannot be resolved ({exc})") from exc
    if not resolved.is_relative_to(root.resolve()):
        raise EditRefused(f"{path}: leads outside the repository; refused")
    relative = resolved.relative_to(root.resolve())
    for part in relative.parts:  # anywhere (a nested repository), in any case (macOS)
        if part.casefold().rstrip(". ") in _FORBIDDEN:
            raise EditRefused(f"{path}: inside {part}/, which edits never touch")
    return resolved


def plan_changes(root: Path, blocks: Sequence[EditBlock]) -> list[FileChange]:
    """Every block applied in memory, file by file, in order; any failure rejects them all
    (``EditRejected`` lists each), so nothing is written."""
    failures: list[str] = []
    texts: dict[str, tuple[Path, str | None, bytes | None, bool]] = {}
    for block in blocks:
        try:
            target = resolve(root, block.path)
            key = target.relative_to(root.resolve()).as_posix()
            if key not in texts:
                texts[key] = (target, *_read_text(target, block.path))
            path, text, old, crlf = texts[key]
            texts[key] = (path, apply_block(text, block), old, crlf)
        except (BlockError, EditRefused) as exc:
            failures.append(str(exc))
    if failures:
        raise EditRejected(failures)
    changes = []
    for key, (path, text, old, crlf) in texts.items():
        assert text is not None  # every block applied: the file has text
        new = (text.replace("\n", "\r\n") if crlf else text).encode("utf-8")
        if new != old:
            mode = stat.S_IMODE(path.stat().st_mode) if old is not None else None
            changes.append(FileChange(key, old, new, mode))
    return changes


def _read_text(path: Path, shown: str) -> tuple[str | None, bytes | None, bool]:
    """(text with LF line ends, the bytes, whether they were CRLF); (None, None, False) if
    the file does not exist."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise EditRefused(f"{shown}: not a regular file; refused")
    if not path.exists():
        return None, None, False
    data = path.read_bytes()
    if b"\0" in data[:8192]:
        raise EditRefused(f"{shown}: a binary file; edits change text only")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EditRefused(f"{shown}: not UTF-8 text; edits change text only") from exc
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")  # mixed: left as is
    return (text.replace("\r\n", "\n") if crlf else text), data, crlf


# -- writing, the journal and the undo stack ------------------------------------------


def apply_changes(root: Path, changes: Sequence[FileChange]) -> int:
    """Write ``changes`` all or nothing; the number of the undo entry that reverts them (0
    for no changes). Refused, writing nothing, if a file is no longer what the changes were
    planned on; a write that fails (or Ctrl-C) puts back the files already written."""
    if not changes:
        return 0
    with _editing(root) as folder:
        recover(root)
        if moved := [c.path for c in changes if _current(root, c.path) != c.old]:
            raise EditRefused(
                f"{', '.join(moved)} changed since the edit was planned; nothing written"
            )
        journal = folder / "journal.json"
        _write_atomically(journal, json.dumps(_entry(changes)).encode())
        try:
            for change in changes:
                _put(root, change)
        except BaseException:
            recover(root)
            raise
        undone = (int(path.stem) for path in (folder / "undo").glob("*.json"))
        number = 1 + max(undone, default=0)
        os.replace(journal, folder / "undo" / f"{number:06d}.json")
        return number


def undo(root: Path) -> list[str]:
    """Restore, byte for byte, the files of the most recent edit not undone yet (which must
    be as that edit left them); the paths restored."""
    with _editing(root) as folder:
        recover(root)
        entries = sorted((folder / "undo").glob("*.json"))
        if not entries:
            raise EditRefused("nothing to undo: no edit was applied here (or all were undone)")
        changes = [_change(item) for item in json.loads(entries[-1].read_bytes())["files"]]
        if moved := [c.path for c in changes if _current(root, c.path) != c.new]:
            raise EditRefused(
                f"the last edit's files changed since ({', '.join(moved)}); undo refused, "
                "nothing restored"
            )
        inverse = [FileChange(c.path, c.new, c.old, c.mode) for c in changes]
        journal = folder / "journal.json"
        entry = {**_entry(inverse), "undoes": entries[-1].name}
        _write_atomically(journal, json.dumps(entry).encode())
        try:
            for change in inverse:
                _put(root, change)
        except BaseException:
            recover(root)
            raise
        entries[-1].unlink()  # the undo is done: a kill from here on leaves it done
        journal.unlink()
        return [change.path for change in changes]


def recover(root: Path) -> list[str]:
    """Settle what a killed apply or undo left (call it holding the edit lock, as apply and
    undo do): every file of its journal put back as it was before, unless an undo had
    finished its writes (then its journal only goes). A file that holds neither its old
    nor its new bytes was changed by hand since: it is left alone, and named. The paths put
    back."""
    journal = root / EDITS_DIR / "journal.json"
    if not journal.exists():
        return []
    try:
        data = json.loads(journal.read_bytes())
        changes = [_change(item) for item in data["files"]]
    except (ValueError, KeyError) as exc:  # killed while the journal itself was written
        journal.unlink()
        raise EditRefused(f"an unreadable edit journal was removed ({exc})") from None
    undone = data.get("undoes")
    if undone and not (root / EDITS_DIR / "undo" / undone).exists():
        journal.unlink()  # the undo wrote every file, then dropped its entry
        return []
    restored, changed = [], []
    for change in changes:
        current = _current(root, change.path)
        if current == change.new and current != change.old:
            _put(root, FileChange(change.path, change.new, change.old, change.mode))
            restored.append(change.path)
        elif current != change.old:
            changed.append(change.path)
    journal.unlink()
    if changed:
        raise EditRefused(
            f"an interrupted edit was rolled back, but {', '.join(changed)} changed since "
            "and were left as they are; check them"
        )
    return restored


def _put(root: Path, change: FileChange) -> None:
    target = root / change.path
    if change.new is None:
        target.unlink(missing_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomically(target, change.new, change.mode)


def _write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, mode if mode is not None else 0o644 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # a platform without folder handles
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@contextlib.contextmanager
def _editing(root: Path) -> Iterator[Path]:
    """The edits folder, held against every other edit or undo of the repository."""
    folder = root / EDITS_DIR
    (folder / "undo").mkdir(parents=True, exist_ok=True)
    advice = "wait for it to finish"
    with writer_lock(folder / "lock", LOCK_TIMEOUT, None, "edit", "these files", advice):
        yield folder


def _current(root: Path, path: str) -> bytes | None:
    target = root / path
    return target.read_bytes() if target.is_file() else None


def _entry(changes: Sequence[FileChange]) -> dict[str, Any]:
    return {
        "files": [
            {
                "path": change.path,
                "old": _encode(change.old),
                "new": _encode(change.new),
                "mode": change.mode,
            }
            for change in changes
        ]
    }


def _change(item: dict[str, Any]) -> FileChange:
    return FileChange(item["path"], _decode(item["old"]), _decode(item["new"]), item["mode"])


def _encode(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _decode(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)
