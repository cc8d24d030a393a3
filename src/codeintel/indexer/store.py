"""The Lance datasets ("tables") of one repository's index, under one URI.

Tables: ``chunks`` (one row per chunk, ``id`` is the key, ``vector`` null until embedded),
``files`` (path → identity and chunk ids) and ``meta`` (schema version, embedder,
generation). Every write is a batched, idempotent ``merge_insert`` on the key,
so a batch is one commit: readers see it whole or not at all, and a killed build leaves
nothing half-written.

A rebuild writes a new *generation* (``chunks_1``, ``files_1``) beside the live one and
switches to it by rewriting ``meta``, one commit: readers see the old index whole until
then, and a rebuild killed at any point leaves it untouched. Everything goes through
``lance`` (not LanceDB, whose import alone costs a second: docs/decisions.md), whose object
store also lists and drops the datasets, so the same code runs against object storage given
``storage_options``.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from codeintel.errors import IndexMismatch, NotIndexed
from codeintel.indexer.models import FileRecord
from codeintel.indexer.sql import sql_in

if TYPE_CHECKING:
    import numpy as np
    from lance import LanceDataset

SCHEMA_VERSION = "3"  # 2: files.terms, the whole-file full-text document; 3: no token counts
# A version stays this long after a newer one replaced it, so a reader that opened it just
# before a build finished can complete its query; `prune` deletes the rest.
KEEP_OLD_VERSIONS = timedelta(seconds=60)
# Each build folds its new rows into every index as a delta of its own: cheap (tens of ms
# on the standard library's index, where merging a list index took 30 s), and full-text
# search over deltas scores exactly as over one index (its statistics are global), where
# rows no index covers yet are scored otherwise. Each delta costs a search a little
# (a few ms at 40); past this many an index is rebuilt.
MAX_INDEX_DELTAS = 16
# Replaced rows stay in a full-text index's statistics (its document count), so BM25
# scores drift from a fresh index's; past this share of the live rows it is rebuilt.
MAX_STALE_SHARE = 0.01
# Fragments (one per batch write, roughly) a table may have before it is compacted.
MAX_FRAGMENTS = 32
# The share of a table's stored rows deleted (replaced) past which a build compacts it.
DELETED_SHARE = 0.1

_CHUNK_FIELDS = [
    ("id", pa.string()),
    ("path", pa.string()),
    ("language", pa.string()),
    ("kind", pa.string()),
    ("symbol", pa.string()),
    ("parent", pa.string()),
    ("start_line", pa.int32()),
    ("end_line", pa.int32()),
    ("start_byte", pa.int64()),
    ("end_byte", pa.int64()),
    ("text", pa.string()),
    ("signature", pa.string()),
    ("docstring", pa.string()),
    ("skeleton", pa.string()),
    ("defines", pa.list_(pa.string())),
    ("references", pa.list_(pa.string())),
    ("sha256", pa.string()),
    ("terms", pa.string()),
    ("embed_key", pa.string()),
]

FILES_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("language", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("size", pa.int64()),
        pa.field("mtime", pa.float64()),
        pa.field("chunk_ids", pa.list_(pa.string())),
        pa.field("terms", pa.string()),
    ]
)
META_SCHEMA = pa.schema(
    [pa.field("key", pa.string(), nullable=False), pa.field("value", pa.string())]
)


# A chunk row as chunking makes it: every column of the chunks table but the vector.
CHUNK_ROW_SCHEMA = pa.schema(
    [pa.field(name, kind, nullable=name != "id") for name, kind in _CHUNK_FIELDS]
)


def chunks_schema(dim: int) -> pa.Schema:
    return CHUNK_ROW_SCHEMA.append(pa.field("vector", pa.list_(pa.float32(), dim), nullable=True))


def table_names(generation: int) -> tuple[str, str]:
    """The chunks and files tables of one generation of the index."""
    suffix = f"_{generation}" if generation else ""
    return f"chunks{suffix}", f"files{suffix}"


def _generation_of(table: str) -> int | None:
    """The generation a chunks or files table belongs to; None for other tables."""
    match = re.fullmatch(r"(?:chunks|files)(?:_(\d+))?", table)
    return None if match is None else int(match.group(1) or 0)


@dataclass(frozen=True)
class IndexMeta:
    embedder: str
    dim: int
    schema_version: str = SCHEMA_VERSION
    generation: int = 0
    published: float = 0.0  # when this generation became the live one (epoch seconds)
    census: str = ""  # the counts ``index status`` shows, as JSON, with the versions counted

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]]) -> IndexMeta:
        stored = {row["key"]: row["value"] for row in rows}
        return cls(
            embedder=stored.get("embedder", "?"),
            dim=int(stored.get("dim", "0")),
            schema_version=stored.get("schema_version", "?"),
            generation=int(stored.get("generation", "0")),
            published=float(stored.get("published", "0")),
            census=stored.get("census", ""),
        )

    def check(self, expected: IndexMeta | None) -> None:
        """Refuse an index whose schema, embedder or tokenizer differ from the settings."""
        if self.schema_version != SCHEMA_VERSION:
            raise IndexMismatch(
                f"index schema version {self.schema_version} differs from this codeintel's "
                f"{SCHEMA_VERSION}; run `codeintel index build --rebuild`"
            )
        if expected is not None and (self.embedder, self.dim) != (expected.embedder, expected.dim):
            raise IndexMismatch(
                f"index was embedded with {self.embedder} (dim {self.dim}) but embed.model is "
                f"{expected.embedder} (dim {expected.dim}); run `codeintel index build --rebuild`"
            )

    def as_rows(self) -> list[dict[str, str]]:
        return [
            {"key": "schema_version", "value": self.schema_version},
            {"key": "embedder", "value": self.embedder},
            {"key": "dim", "value": str(self.dim)},
            {"key": "generation", "value": str(self.generation)},
            {"key": "published", "value": repr(self.published)},
            {"key": "census", "value": self.census},
        ]


def is_remote(uri: str) -> bool:
    """Whether ``uri`` names object storage (``s3://...``) rather than a local folder."""
    return "://" in uri


class Database:
    """The folder (or object-store prefix) holding an index's datasets, by table name."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.storage_options = storage_options or None

    def location(self, name: str) -> str:
        return f"{self.uri}/{name}.lance"

    def table_names(self) -> set[str]:
        from lance.file import LanceFileSession

        try:
            listed = LanceFileSession(self.uri, self.storage_options).list_with_delimiter()
        except (OSError, ValueError):  # no folder yet
            return set()
        return {
            name.rstrip("/").rsplit("/", 1)[-1].removesuffix(".lance")
            for name in listed.common_prefixes
            if name.rstrip("/").endswith(".lance")
        }

    def open_table(self, name: str) -> LanceDataset:
        import lance

        return lance.dataset(self.location(name), storage_options=self.storage_options)

    def create_table(
        self, name: str, schema: pa.Schema, rows: list[dict[str, Any]] | None = None
    ) -> LanceDataset:
        """A new dataset ``name`` holding ``rows`` (none may be there: ``drop_table``)."""
        import lance

        data = pa.Table.from_pylist(rows or [], schema=schema)
        return lance.write_dataset(
            data, self.location(name), mode="create", storage_options=self.storage_options
        )

    def drop_table(self, name: str) -> None:
        import lance

        try:
            lance.LanceDataset.drop(
                self.location(name), self.storage_options, ignore_not_found=True
            )
        except ValueError:  # no readable manifest (a killed create): only files to delete
            self._delete_files(name)

    def _delete_files(self, name: str) -> None:
        from lance.file import LanceFileSession

        if not is_remote(self.uri):  # local: the folders go too
            shutil.rmtree(self.location(name), ignore_errors=True)
            return
        session = LanceFileSession(self.location(name), self.storage_options)
        for path in session.list():
            session.delete_file(path)


class Store:
    """One repository's index. ``create`` makes the tables; ``open`` reads existing ones;
    ``create_next`` starts a rebuild beside them, which ``publish`` makes live."""

    def __init__(self, db: Database, meta: IndexMeta) -> None:
        self.db = db
        self.meta = meta
        self.published_live = meta  # the meta readers see now (a rebuild's differs)
        chunks, files = table_names(meta.generation)
        self.chunks: LanceDataset = db.open_table(chunks)
        self.files: LanceDataset = db.open_table(files)

    @staticmethod
    def connect(uri: str, storage_options: dict[str, str] | None = None) -> Database:
        return Database(uri, storage_options)

    @classmethod
    def exists(cls, db: Database) -> bool:
        """Whether an index was completed here (its meta is written last)."""
        return "meta" in db.table_names()

    @classmethod
    def open(cls, db: Database, expected: IndexMeta | None = None) -> Store:
        """Open an index, refusing one whose schema or embedder differ from ``expected``."""
        if not cls.exists(db):
            raise NotIndexed("no index here yet; run `codeintel index build` first")
        meta = IndexMeta.from_rows(db.open_table("meta").to_table().to_pylist())
        meta.check(expected)
        return cls(db, meta)

    @classmethod
    def create(cls, db: Database, meta: IndexMeta) -> Store:
        """Create empty tables where no index is (leftovers of a killed first build are
        dropped), meta written last."""
        for name in db.table_names():
            if name == "meta" or _generation_of(name) is not None:
                db.drop_table(name)
        meta = replace(meta, generation=0, published=time.time())
        cls._create_tables(db, meta)
        db.create_table("meta", META_SCHEMA, meta.as_rows())
        return cls(db, meta)

    @classmethod
    def create_next(cls, db: Database, meta: IndexMeta) -> Store:
        """Empty tables of a new generation beside the live index, which stays as it is
        until ``publish``. Its number follows every table there (the live ones, and a
        killed rebuild's), so nothing is read from a meta that may be damaged."""
        generations = [_generation_of(name) for name in db.table_names()]
        meta = replace(
            meta, generation=1 + max((g for g in generations if g is not None), default=0)
        )
        cls._create_tables(db, meta)
        store = cls(db, meta)
        try:
            live = IndexMeta.from_rows(db.open_table("meta").to_table().to_pylist())
        except (ValueError, OSError):  # unreadable: nothing to keep but what is built now
            live = replace(meta, published=0.0)
        store.published_live = live
        return store

    @staticmethod
    def _create_tables(db: Database, meta: IndexMeta) -> None:
        chunks, files = table_names(meta.generation)
        existing = db.table_names()
        for name in (chunks, files):
            if name in existing:
                db.drop_table(name)
        db.create_table(chunks, chunks_schema(meta.dim))
        db.create_table(files, FILES_SCHEMA)

    def publish(self) -> None:
        """Make this store's generation the live index: one commit of ``meta``."""
        self.meta = replace(self.meta, published=time.time())
        self._write_meta()

    def record_census(self, census: str) -> None:
        """Keep the live generation's counts (``Snapshot.census``) in ``meta``."""
        self.meta = replace(self.meta, census=census)
        self._write_meta()

    def _write_meta(self) -> None:
        import lance

        try:
            meta = self.db.open_table("meta")
        except (ValueError, OSError):  # a damaged meta is replaced whole
            self.db.drop_table("meta")
            self.db.create_table("meta", META_SCHEMA, self.meta.as_rows())
        else:
            data = pa.Table.from_pylist(self.meta.as_rows(), schema=META_SCHEMA)
            lance.write_dataset(data, meta, mode="overwrite")
        self.published_live = self.meta

    def drop_superseded(
        self, keep: int | None = None, grace: timedelta = KEEP_OLD_VERSIONS
    ) -> None:
        """Drop the tables of generations other than the live one (and ``keep``, a rebuild's
        own): a rebuild's predecessor once readers have had ``grace`` to finish with it, and
        a killed rebuild's leftovers."""
        live = self.published_live
        if time.time() - live.published < grace.total_seconds():
            return
        for name in self.db.table_names():
            generation = _generation_of(name)
            if generation is not None and generation not in (live.generation, keep):
                self.db.drop_table(name)

    # -- writes -------------------------------------------------------------------

    def replace_files(
        self,
        chunk_rows: pa.Table,
        vectors: Sequence[np.ndarray | None],
        file_rows: list[dict[str, Any]],
        append: bool = False,
    ) -> None:
        """Make the given files' chunks exactly ``chunk_rows`` (``CHUNK_ROW_SCHEMA``, one
        commit), with ``vectors`` (one per row, None where unknown), then record the files.

        ``append`` is for files with no rows yet (a first build): a plain append, where the
        merge would join against the whole table."""
        paths = [row["path"] for row in file_rows]
        if not paths:
            return
        data = chunk_rows.append_column(self.chunks.schema.field("vector"), self._vectors(vectors))
        if append:
            self.chunks.insert(data)
        else:
            (
                self.chunks.merge_insert("id")
                .when_matched_update_all()
                .when_not_matched_insert_all()
                .when_not_matched_by_source_delete(sql_in("path", paths))
                .execute(data)
            )
        self._write_files(pa.Table.from_pylist(file_rows, schema=FILES_SCHEMA))

    def _vectors(self, vectors: Sequence[np.ndarray | None]) -> pa.Array:
        """A vector column: ``vectors`` packed, nulls where None."""
        import numpy as np

        kind = pa.list_(pa.float32(), self.meta.dim)
        if all(vector is None for vector in vectors):
            return pa.nulls(len(vectors), kind)
        values = np.zeros((len(vectors), self.meta.dim), np.float32)
        missing = np.ones(len(vectors), bool)
        for row, vector in enumerate(vectors):
            if vector is not None:
                values[row], missing[row] = vector, False
        return pa.FixedSizeListArray.from_arrays(
            pa.array(values.reshape(-1)), self.meta.dim, mask=pa.array(missing)
        )

    def _write_files(self, rows: pa.Table, append: bool = False) -> None:
        """Insert or update ``files`` rows by path; ``append`` where none of them exists."""
        if append:
            self.files.insert(rows)
        else:
            self.files.merge_insert(
                "path"
            ).when_matched_update_all().when_not_matched_insert_all().execute(rows)

    def claim_files(self, paths: Sequence[str], absent: bool = False) -> None:
        """Rows for files about to be written, unfinished (no sha256) until ``replace_files``;
        ``absent`` where the files table holds none of them (appended, not merged)."""
        rows = [{"path": path, "chunk_ids": []} for path in paths]
        self._write_files(pa.Table.from_pylist(rows, schema=FILES_SCHEMA), append=absent)

    def set_file_times(self, records: Sequence[FileRecord]) -> None:
        """Record new size and mtime of files whose content (sha256) did not change."""
        data = pa.table(
            {
                "path": pa.array([record.path for record in records], pa.string()),
                "size": pa.array([record.size for record in records], pa.int64()),
                "mtime": pa.array([record.mtime for record in records], pa.float64()),
            }
        )
        self.files.merge_insert("path").when_matched_update_all().execute(data)

    def delete_files(self, paths: Sequence[str]) -> None:
        """Drop files and their chunks. The files rows are first marked unfinished, so a build
        killed between the two deletes re-reads the file rather than trusting its old row."""
        self.claim_files(paths)
        for start in range(0, len(paths), 500):
            batch = sql_in("path", paths[start : start + 500])
            self.chunks.delete(batch)
            self.files.delete(batch)

    def set_vectors(self, rows: pa.RecordBatch, vectors: np.ndarray) -> None:
        """Fill the vectors of ``rows`` (whole rows, as ``pending`` yields them); a vector
        that is not finite (NaN, inf) is left unset, so its chunk stays pending rather than
        poisoning every similarity. Whole rows are written, not the vector column alone:
        Lance writes an updated column to a file of its own and leaves the old one, all
        nulls at full width, in a file that compaction may never rewrite; replaced rows are
        deletions, which ``compact`` materialises (docs/decisions.md)."""
        import numpy as np

        finite = np.isfinite(vectors).all(axis=1)
        table = pa.Table.from_batches([rows]).filter(pa.array(finite))
        column = pa.FixedSizeListArray.from_arrays(
            pa.array(vectors[finite].reshape(-1), pa.float32()), self.meta.dim
        )
        table = table.set_column(table.schema.get_field_index("vector"), "vector", column)
        self.chunks.merge_insert("id").when_matched_update_all().execute(
            table.cast(self.chunks.schema)
        )

    # -- reads --------------------------------------------------------------------

    def file_states(self) -> dict[str, tuple[str, int, float]]:
        """path → (sha256, size, mtime) of every indexed file."""
        return file_states(self.files)

    def pending(self, batch_rows: int = 4096) -> Iterator[pa.RecordBatch]:
        """Whole rows that have no vector yet."""
        scanner = self.chunks.scanner(filter="vector IS NULL", batch_size=batch_rows)
        yield from scanner.to_batches()

    def count(self, where: str | None = None) -> int:
        return int(self.chunks.count_rows(filter=where))

    # -- maintenance ---------------------------------------------------------------

    def create_missing_indexes(self) -> None:
        """Create the indexes the tables lack (a first build, or one killed before them)."""
        if not self.count():
            return
        chunks, files = table_names(self.meta.generation)
        missing = [
            *_missing_indexes(self.chunks, chunks, _chunk_index_configs()),
            *_missing_indexes(self.files, files, _file_index_configs()),
        ]
        if missing:
            self._create_indexes(missing)

    def refresh_indexes(self) -> None:
        """Create missing indexes and bring every index up to the rows written since, so a
        search ranks the same whatever the builds that wrote the rows: each index takes
        them as a new delta, or is rebuilt when worn (``_worn``). Filling vectors replaces
        the rows it fills, so a build about to embed calls ``create_missing_indexes``
        (searches meanwhile scan the new rows) and this after embedding."""
        if not self.count():
            return
        self.create_missing_indexes()
        chunks, files = table_names(self.meta.generation)
        chunk_stats = _index_stats(self.chunks)
        worn = []
        for table, name, configs, stats in (
            (self.chunks, chunks, _chunk_index_configs(), chunk_stats),
            (self.files, files, _file_index_configs(), _index_stats(self.files)),
        ):
            rebuilt = _worn(table, configs, stats)
            worn += [(name, column, configs[column]) for column in rebuilt]
            _fold_in(table, stats, skip={f"{column}_idx" for column in rebuilt})
        if worn:
            self._create_indexes(worn)
        if "vector_idx" in chunk_stats:  # merged, not rebuilt: a rebuild retrains it
            deltas = len(self.chunks.stats.index_stats("vector_idx")["num_indexed_rows_per_delta"])
            if deltas > MAX_INDEX_DELTAS:
                self.chunks.optimize.optimize_indices(
                    index_names=["vector_idx"], num_indices_to_merge=deltas
                )

    def _create_indexes(self, indexes: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Build (or rebuild) indexes side by side, each on its own handle of its table: Lance
        builds a full-text index on about one core, and index commits on other columns do
        not conflict. The handles are reopened after, at the version holding them all."""

        def create(table: str, column: str, config: dict[str, Any]) -> None:
            self.db.open_table(table).create_scalar_index(
                column, name=f"{column}_idx", replace=True, **config
            )

        longest_first = sorted(indexes, key=lambda task: task[1] != "terms")
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for future in [pool.submit(create, *task) for task in longest_first]:
                future.result()
        chunks, files = table_names(self.meta.generation)
        self.chunks, self.files = self.db.open_table(chunks), self.db.open_table(files)

    def refresh_vector_index(self, min_rows: int) -> None:
        """Build the ANN index once ``min_rows`` chunks have vectors (below that, exact search
        in numpy is faster and exact: see docs/decisions.md); later builds fold new vectors
        in through ``refresh_indexes``."""
        if any(index["name"] == "vector_idx" for index in self.chunks.list_indices()):
            return
        embedded = self.count("vector IS NOT NULL")
        if embedded >= min_rows:
            partitions = max(1, min(1024, embedded // 8192))
            self.chunks.create_index(
                "vector",
                "IVF_HNSW_SQ",
                name="vector_idx",
                metric="cosine",
                num_partitions=partitions,
                m=20,
                ef_construction=300,
            )

    def _meta_table(self) -> list[LanceDataset]:
        """The meta table, or none while it is damaged (``publish`` replaces it)."""
        try:
            return [self.db.open_table("meta")]
        except (ValueError, OSError):
            return []

    def compact(self) -> None:
        """Merge fragments once there are many, or once many rows were replaced."""
        for table in (self.chunks, self.files):
            if _needs_compaction(table):
                table.optimize.compact_files()

    def prune(self, grace: timedelta = KEEP_OLD_VERSIONS) -> None:
        """Delete versions superseded longer than ``grace`` ago (every batch write makes
        one), with the files only they use. ``timedelta(0)``, for when no reader can be
        reading an older version, keeps only the current ones and also deletes files no
        version uses (a killed build's writes: the writer lock held, none is in flight)."""
        for table in (self.chunks, self.files, *self._meta_table()):
            if grace == timedelta(0):
                table.cleanup_old_versions(retain_versions=1, delete_unverified=True)
            elif superseded := _superseded(table, grace):
                table.cleanup_old_versions(versions=superseded)


def _needs_compaction(table: LanceDataset) -> bool:
    """Past ``MAX_FRAGMENTS`` fragments, or with a tenth of its stored rows deleted (rows a
    merge replaced: filling vectors replaces every row it fills)."""
    fragments = table.get_fragments()
    if len(fragments) > MAX_FRAGMENTS:
        return True
    stored = sum(fragment.physical_rows for fragment in fragments)
    return stored > 0 and stored - table.count_rows() >= DELETED_SHARE * stored


def _superseded(table: LanceDataset, grace: timedelta) -> list[int]:
    """The versions whose successor was made at least ``grace`` ago: a reader that opened
    one has had ``grace`` to finish with it. (By the successor's time, not the version's
    own: a version made long ago may have been current until a moment ago.)"""
    now = datetime.now()  # lance stamps versions in naive local time
    listed = sorted(table.versions(), key=lambda v: int(v["version"]))
    return [
        int(version["version"])
        for version, successor in zip(listed, listed[1:], strict=False)
        if isinstance(successor["timestamp"], datetime) and now - successor["timestamp"] >= grace
    ]


def _missing_indexes(
    table: LanceDataset, name: str, configs: dict[str, dict[str, Any]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """(table name, column, index config) for each of ``configs`` that ``table`` lacks."""
    existing = {index["name"] for index in table.list_indices()}
    return [
        (name, column, config)
        for column, config in configs.items()
        if f"{column}_idx" not in existing
    ]


def _index_stats(table: LanceDataset) -> dict[str, dict[str, Any]]:
    """Each index of ``table`` by name, with its statistics (``list_indices`` lists each
    delta; the statistics are read once per index)."""
    names = dict.fromkeys(index["name"] for index in table.list_indices())
    return {name: table.stats.index_stats(name) for name in names}


def _fold_in(table: LanceDataset, stats: dict[str, dict[str, Any]], skip: set[str]) -> None:
    """Add the rows no index covers yet to each index of ``table`` but ``skip``, as a delta."""
    names = [n for n, s in stats.items() if n not in skip and s["num_unindexed_rows"]]
    if names:
        table.optimize.optimize_indices(index_names=names, num_indices_to_merge=0)


def _deltas(stats: dict[str, dict[str, Any]], name: str) -> int:
    """How many deltas index ``name`` has (0 when there is no such index)."""
    return len(stats[name]["num_indexed_rows_per_delta"]) if name in stats else 0


def _replaced_share(table: LanceDataset, stats: dict[str, Any]) -> float:
    """The documents a full-text index of ``table`` (its ``stats``) would count beyond the
    live ones once the uncovered rows were folded in (replaced rows stay counted), per
    live document."""
    counted = sum(int(segment["num_docs"]) for segment in stats["segments"])
    live = table.count_rows(filter="terms IS NOT NULL AND terms != ''")  # what it counts
    return (counted + int(stats["num_unindexed_rows"]) - live) / max(live, 1)


def _worn(
    table: LanceDataset, configs: dict[str, dict[str, Any]], stats: dict[str, dict[str, Any]]
) -> list[str]:
    """The columns of ``configs`` whose index to rebuild from the rows rather than fold
    new rows into: one more delta would pass ``MAX_INDEX_DELTAS``, or a full-text index
    would count more than ``MAX_STALE_SHARE`` replaced rows (as after the embedding phase
    of a first build: it replaced every row). Rebuilt, never merged: merging a list index
    costs ~100x a rebuild, and merging keeps replaced rows counted."""
    return [
        column
        for column, config in configs.items()
        if _deltas(stats, f"{column}_idx") >= MAX_INDEX_DELTAS
        or (
            config["index_type"] == "INVERTED"
            and _replaced_share(table, stats[f"{column}_idx"]) > MAX_STALE_SHARE
        )
    ]


# The full-text index on code-aware terms: the text is already split into identifiers and
# their parts (``terms.py``); Lance lower-cases and stems it, and keeps stop words (``in``,
# ``is`` and ``not`` are Python).
_TERMS_INDEX = {"index_type": "INVERTED", "stem": True, "remove_stop_words": False}


def _chunk_index_configs() -> dict[str, dict[str, Any]]:
    """The chunks table's indexes: keys and paths for joins and filters, list indexes for the
    symbol graph's ``array_has_any`` filters, and the full-text index on code-aware terms."""
    return {
        "id": {"index_type": "BTREE"},
        "path": {"index_type": "BTREE"},
        "defines": {"index_type": "LABEL_LIST"},
        "references": {"index_type": "LABEL_LIST"},
        "terms": _TERMS_INDEX,
    }


def _file_index_configs() -> dict[str, dict[str, Any]]:
    """The files table's: the full-text index on each whole file's terms (file-level BM25)."""
    return {"terms": _TERMS_INDEX}


def file_states(files: LanceDataset) -> dict[str, tuple[str, int, float]]:
    """path → (sha256, size, mtime) of every row of a ``files`` dataset."""
    table = files.to_table(columns=["path", "sha256", "size", "mtime"])
    columns = (table.column(i).to_pylist() for i in range(4))
    return {path: (sha, size, mtime) for path, sha, size, mtime in zip(*columns, strict=True)}
