"""A repository's index as one object: where it lives, building it, and its status."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta
from pathlib import Path

from codeintel.errors import ConfigError, NotIndexed
from codeintel.indexer.discover import INDEX_DIR
from codeintel.indexer.embed_cache import EmbeddingCache
from codeintel.indexer.embedder import (
    Embedder,
    LazyEmbedder,
    embedder_identity,
    embedding_cache_dir,
)
from codeintel.indexer.lock import reader_lock, readers_absent, writer_lock
from codeintel.indexer.models import DryRun, IndexStatus
from codeintel.indexer.pipeline import (
    Builder,
    BuildReport,
    Progress,
    SilentProgress,
    plan_changes,
)
from codeintel.indexer.snapshot import Snapshot
from codeintel.indexer.store import IndexMeta, Store, is_remote
from codeintel.settings import CONFIG_FILE, EmbedSettings, IndexSettings


def find_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds an index or a ``codeintel.toml``
    (whose ``index.uri`` may put the index elsewhere), as git finds ``.git``; the search
    stops at the top of the git work tree ``start`` is in."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / INDEX_DIR / "db" / "meta.lance").is_dir() or (folder / CONFIG_FILE).is_file():
            return folder
        if (folder / ".git").exists():
            return None
    return None


class Repository:
    def __init__(self, root: Path, index: IndexSettings, embed: EmbedSettings) -> None:
        if not root.is_dir():
            raise ConfigError(f"{root} is not a directory; pass the repository folder")
        self.root = root.resolve()
        self.index_settings = index
        self.embed_settings = embed
        self.index_dir = self.root / INDEX_DIR
        self.uri = index.uri or str(self.index_dir / "db")
        # beside the database, so checkouts sharing one local index.uri share its locks
        locks = self.index_dir if is_remote(self.uri) else Path(self.uri).parent
        self.write_lock, self._read_lock = locks / "write.lock", locks / "read.lock"

    def reading(self) -> AbstractContextManager[None]:
        """Held while reading the index, so that no build deletes the version being read."""
        return reader_lock(self._read_lock)

    def _prepare_dir(self) -> None:
        try:
            self.index_dir.mkdir(exist_ok=True)
            ignore = self.index_dir / ".gitignore"
            if not ignore.exists():
                ignore.write_text("*\n")
        except OSError as exc:
            raise ConfigError(
                f"cannot write the index folder {self.index_dir} ({exc.strerror}); "
                "make it writable or set index.uri elsewhere"
            ) from exc

    def _cache(self, dim: int) -> EmbeddingCache:
        return EmbeddingCache(embedding_cache_dir(self.embed_settings), dim)

    def expected_meta(self) -> IndexMeta:
        model_id, dim = embedder_identity(self.embed_settings)
        return IndexMeta(embedder=model_id, dim=dim)

    def open_store(self, check: bool = True) -> Store:
        """The index for reading; with ``check``, refused if the embedder settings changed."""
        db = Store.connect(self.uri, self.index_settings.storage_options)
        return Store.open(db, self.expected_meta() if check else None)

    def snapshot(self, check: bool = True) -> Snapshot:
        """The index for reading, at its current version, without importing LanceDB."""
        expected = self.expected_meta() if check else None
        return Snapshot.open(self.uri, self.index_settings.storage_options, expected)

    def build(
        self,
        embed: bool = True,
        rebuild: bool = False,
        progress: Progress | None = None,
        embedder: Embedder | None = None,
    ) -> BuildReport:
        """Bring the index up to date; ``embedder`` lets a long-lived caller reuse its model."""
        progress = progress or SilentProgress()
        started = time.perf_counter()
        self._prepare_dir()
        with writer_lock(self.write_lock, self.index_settings.lock_timeout, on_wait=progress.note):
            expected = self.expected_meta()
            db = Store.connect(self.uri, self.index_settings.storage_options)
            if not Store.exists(db):
                store = Store.create(db, expected)
            elif rebuild:  # beside the live index, which serves until this one is done
                store = Store.create_next(db, expected)
                store.drop_superseded(keep=store.meta.generation)
            else:
                store = Store.open(db, expected)
                store.drop_superseded()
            cache = self._cache(expected.dim)
            try:
                builder = Builder(self.root, store, self.index_settings, cache, progress)
                builder.write_lexical()
                pending = store.count("vector IS NULL") if embed else 0
                if pending:  # the rows it replaces are folded in after it, not twice
                    store.create_missing_indexes()
                    if embedder is None:
                        embedder = LazyEmbedder(self.embed_settings, progress.note)
                    builder.embed_pending(embedder, self.embed_settings.batch_size, pending)
                if builder.wrote:
                    progress.phase("compacting", 0)
                # compacted first: fragments under different index deltas are not merged
                store.compact()
                store.refresh_indexes()
                store.refresh_vector_index(self.index_settings.vector_index_min_rows)
                if rebuild and store.meta.generation:
                    store.publish()
                snapshot = self.snapshot(check=False)
                if not snapshot.counts_recorded():  # an unchanged build writes nothing
                    store.record_census(snapshot.census())
                self._prune(store)
            finally:
                cache.close()
            report = builder.report
            report.seconds = time.perf_counter() - started
            summary = self.status()
            report.files, report.chunks = summary.files, summary.chunks
            report.pending, report.languages = summary.pending, summary.languages
            return report

    def _prune(self, store: Store) -> None:
        """Superseded versions and generations: deleted at once when no reader is reading
        the index, else those past the grace period (a later build deletes the rest).
        Readers elsewhere cannot be counted, so a remote index always keeps the grace."""
        unread = nullcontext(False) if is_remote(self.uri) else readers_absent(self._read_lock)
        with unread as alone:
            if alone:
                store.prune(timedelta(0))
                store.drop_superseded(grace=timedelta(0))
            else:
                store.prune()

    def dry_run(self) -> DryRun:
        """What a build would do now, without writing, locking or loading a model."""
        try:
            known = self.snapshot(check=False).file_states()
        except NotIndexed:
            known = {}
        plan = plan_changes(self.root, self.index_settings, known)
        return DryRun(
            index=[record.path for record, _ in plan.changed],
            bytes=sum(record.size for record, _ in plan.changed),
            languages=dict(Counter(record.language for record, _ in plan.changed)),
            unchanged=plan.unchanged,
            delete=plan.deleted,
            skipped=plan.skipped,
        )

    def status(self) -> IndexStatus:
        """What the index holds (no model import: fast)."""
        return self.snapshot(check=False).status(str(self.root), self.uri)
