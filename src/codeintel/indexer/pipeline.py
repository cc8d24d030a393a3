"""The build: discover → chunk → store lexical rows → fill vectors → maintain.

Lexical rows are committed first, in batches, each batch one ``merge_insert`` that also
drops the batch's files' stale chunks; vectors are filled after, from the embedding cache
where possible and the model otherwise. A build killed anywhere leaves an index that the
next build completes: a file's row in ``files`` is written only after its chunks.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from codeintel.indexer.chunking import ChunkLimits
from codeintel.indexer.discover import VANISHED, FileReader, candidate_paths
from codeintel.indexer.embed_cache import EmbeddingCache
from codeintel.indexer.embed_text import embedding_text
from codeintel.indexer.embedder import Embedder
from codeintel.indexer.models import FileRecord, Skipped
from codeintel.indexer.rows import FileChunks, RowBatch, file_rows
from codeintel.indexer.store import Store
from codeintel.settings import IndexSettings

WRITE_BATCH_ROWS = 8192  # chunk rows per commit: few versions, bounded memory
_WORKER_BATCH_FILES = 48
_PARALLEL_MIN_BYTES = 2_000_000  # below this, chunking inline beats starting workers
_PARENT_POLL_SECONDS = 1.0


class Progress(Protocol):
    """How a build reports progress; front doors render it (bars on a TTY, lines elsewhere)."""

    def phase(self, name: str, total: int) -> None: ...

    def advance(self, amount: int) -> None: ...

    def note(self, message: str) -> None: ...


class SilentProgress:
    def phase(self, name: str, total: int) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def note(self, message: str) -> None:
        pass


@dataclass
class BuildReport:
    files: int = 0
    chunks: int = 0
    embedded: int = 0
    reused: int = 0
    pending: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    lexical_seconds: float = 0.0
    embed_seconds: float = 0.0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    bytes_indexed: int = 0
    invalid_utf8: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    skipped_files: list[Skipped] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "skipped_files"}
        data["seconds"] = round(self.seconds, 3)
        data["lexical_seconds"] = round(self.lexical_seconds, 3)
        data["embed_seconds"] = round(self.embed_seconds, 3)
        return data


@dataclass
class _Plan:
    changed: list[tuple[FileRecord, str]]  # (record, text)
    touched: list[FileRecord]  # same content, new mtime: only the files row moves
    unchanged: int
    deleted: list[str]
    skipped: list[Skipped]
    invalid_utf8: int


def plan_changes(
    root: Path, settings: IndexSettings, known: dict[str, tuple[str, int, float]]
) -> _Plan:
    """Compare the files on disk with the index; read only files whose size or mtime moved."""
    changed: list[tuple[FileRecord, str]] = []
    touched: list[FileRecord] = []
    skipped: list[Skipped] = []
    unchanged = invalid = 0
    present: set[str] = set()
    reader = FileReader(root, settings)
    for path in candidate_paths(root, settings):
        info, reason = reader.examine(path)
        stored = known.get(path)
        if (
            info is not None
            and not reason
            and stored
            and (stored[1], stored[2]) == (info.st_size, info.st_mtime)
        ):
            present.add(path)
            unchanged += 1
            continue
        record, text, had_invalid = reader.read(path)
        if record is None:
            assert isinstance(text, Skipped)
            if text.reason != VANISHED:
                skipped.append(text)
            continue
        assert isinstance(text, str)
        present.add(path)
        invalid += had_invalid
        if stored and stored[0] == record.sha256:
            unchanged += 1
            if stored[1:] != (record.size, record.mtime):
                touched.append(record)
        else:
            changed.append((record, text))
    deleted = sorted(set(known) - present)
    return _Plan(changed, touched, unchanged, deleted, skipped, invalid)


def _chunk_all(
    changed: list[tuple[FileRecord, str]],
    model_id: str,
    limits: ChunkLimits,
    workers: int,
) -> Iterator[RowBatch]:
    """The rows of the changed files, in batches, in order; in worker processes when the
    work is large."""
    items = [(record.path, record.language, text) for record, text in changed]
    batches = [
        items[i : i + _WORKER_BATCH_FILES] for i in range(0, len(items), _WORKER_BATCH_FILES)
    ]
    total_bytes = sum(record.size for record, _ in changed)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or total_bytes < _PARALLEL_MIN_BYTES:
        for batch in batches:
            yield file_rows(batch, model_id, limits)
        return
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_exit_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(file_rows, batch, model_id, limits) for batch in batches]
        for future in futures:
            yield future.result()


def _exit_with_parent(parent: int) -> None:
    """In a chunking worker: exit when the build that started it is gone (even SIGKILLed)."""

    def watch() -> None:
        while True:
            time.sleep(_PARENT_POLL_SECONDS)
            try:
                os.kill(parent, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="codeintel-parent-watch", daemon=True).start()


class Builder:
    """Runs one build of ``store`` from the files under ``root``."""

    def __init__(
        self,
        root: Path,
        store: Store,
        settings: IndexSettings,
        cache: EmbeddingCache,
        progress: Progress,
    ) -> None:
        self.root = root
        self.store = store
        self.settings = settings
        self.cache = cache
        self.progress = progress
        self.report = BuildReport()
        self._touched = 0
        # Into an empty table rows can be appended: no earlier row can match or be stale.
        self.first_build = store.count() == 0

    def write_lexical(self) -> None:
        started = time.perf_counter()
        known = self.store.file_states()
        plan = plan_changes(self.root, self.settings, known)
        report = self.report
        report.changed, report.unchanged, report.deleted = (
            len(plan.changed),
            plan.unchanged,
            len(plan.deleted),
        )
        report.skipped_files = plan.skipped
        report.skipped = dict(Counter(item.reason.split(" (")[0] for item in plan.skipped))
        report.invalid_utf8 = plan.invalid_utf8
        report.bytes_indexed = sum(record.size for record, _ in plan.changed)
        records = {record.path: record for record, _ in plan.changed}
        new = [path for path in records if path not in known]  # no files row has these
        if new:  # before any chunk is written: see _commit
            self.store.claim_files(new, absent=True)
        limits = ChunkLimits.of(self.settings)
        self.progress.phase("chunking", len(plan.changed))
        pending: list[tuple[FileChunks, pa.Table]] = []
        pending_rows = 0
        model_id, workers = self.store.meta.embedder, self.settings.workers
        for batch in _chunk_all(plan.changed, model_id, limits, workers):
            for file, rows in batch.per_file():
                pending.append((file, rows))
                pending_rows += rows.num_rows
                self.progress.advance(1)
                if pending_rows >= WRITE_BATCH_ROWS:
                    self._commit(pending, records, known)
                    pending, pending_rows = [], 0
        self._commit(pending, records, known)
        self._touched = len(plan.touched)
        if plan.touched:
            self.store.set_file_times(plan.touched)
        if plan.deleted:
            self.store.delete_files(plan.deleted)
        report.lexical_seconds = time.perf_counter() - started

    def _commit(
        self,
        files: list[tuple[FileChunks, pa.Table]],
        records: dict[str, FileRecord],
        known: dict[str, Any],
    ) -> None:
        """Write these files' rows as one commit, with vectors already in the embedding
        cache, then their files rows. Each file is claimed first (a files row with no
        sha256: new files at the start of the build, the ``known`` ones here), so a build
        killed between the two commits leaves files the next build re-reads, never a files
        row whose chunk ids are not the chunks there."""
        if not files:
            return
        if indexed := [file.path for file, _ in files if file.path in known]:
            self.store.claim_files(indexed)
        chunks = pa.concat_tables([rows for _, rows in files])
        keys = chunks.column("embed_key").to_pylist()
        cached = self.cache.get_many(keys)
        self.report.reused += sum(key in cached for key in keys)
        file_rows_ = [
            {**records[file.path].__dict__, "chunk_ids": file.chunk_ids, "terms": file.terms}
            for file, _ in files
        ]
        vectors = [cached.get(key) for key in keys]
        self.store.replace_files(chunks, vectors, file_rows_, append=self.first_build)

    @property
    def wrote(self) -> bool:
        """Whether this build changed the index (else there is nothing to compact)."""
        report = self.report
        return bool(report.changed or report.deleted or report.embedded or self._touched)

    def embed_pending(self, embedder: Embedder, batch_size: int, pending: int) -> None:
        """Fill the ``pending`` rows without vectors, from the cache or the model; progress
        counts every chunk of the index, those with vectors already done."""
        started = time.perf_counter()
        total = self.store.count()
        self.progress.phase("embedding", total)
        if total > pending:
            self.progress.advance(total - pending)
        for batch in self.store.pending(batch_rows=max(batch_size * 8, 512)):
            rows = batch.select(["kind", "symbol", "signature", "text", "embed_key"]).to_pylist()
            keys = [row["embed_key"] for row in rows]
            vectors = self.cache.get_many(keys)
            missing = sorted(
                {row["embed_key"]: row for row in rows if row["embed_key"] not in vectors}.values(),
                key=lambda row: len(row["text"]),
            )  # one per text (identical chunks are embedded once), similar lengths batched
            # together: a batch is padded to its longest text
            if len(rows) > len(missing):
                self.report.reused += len(rows) - len(missing)
                self.progress.advance(len(rows) - len(missing))
            for start in range(0, len(missing), batch_size):
                part = missing[start : start + batch_size]
                texts = [
                    embedding_text(r["kind"], r["symbol"], r["signature"], r["text"]) for r in part
                ]
                fresh = dict(
                    zip((r["embed_key"] for r in part), embedder.embed(texts), strict=True)
                )
                self.cache.put_many(fresh)
                vectors.update(fresh)
                self.report.embedded += len(part)
                self.progress.advance(len(part))
            self.store.set_vectors(batch, np.stack([vectors[k] for k in keys]))
        self.report.embed_seconds = time.perf_counter() - started
