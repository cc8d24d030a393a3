"""The ``answers`` table beside the index's tables, and the counters of ``cache stats``.

Every write (an answer kept, a hit counted, entries dropped) holds the cache's own lock file,
so two processes asking at once neither lose an update nor keep one answer twice (entries
are keyed by model and question). Readers take no lock: a Lance read sees one committed
version. The table is bounded: past ``max_entries`` the least recently used go, and an
entry older than ``ttl`` goes whatever else holds.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from codeintel.cache.answers import Entry, Grounding, Live, Lookup, judge
from codeintel.indexer.lock import writer_lock
from codeintel.indexer.sql import sql_in, sql_string

if TYPE_CHECKING:
    from lance import LanceDataset

    from codeintel.indexer.store import Database

TABLE = "answers"
_LOCK_SECONDS = 30.0

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("question", pa.string()),
        ("vector", pa.list_(pa.float32())),
        ("names", pa.list_(pa.string())),
        ("answer", pa.string()),
        ("citations", pa.string()),
        ("grounding", pa.list_(pa.struct([("chunk_id", pa.string()), ("sha256", pa.string())]))),
        ("model", pa.string()),
        ("tokens", pa.int64()),
        ("created", pa.float64()),
        ("last_hit", pa.float64()),
        ("hits", pa.int64()),
    ]
)


@dataclass(frozen=True)
class CacheStats:
    """What ``cache stats`` prints: the entries in the table, and the counts kept beside it
    in a small JSON file (which holds every field but ``entries``)."""

    entries: int = 0
    hits: int = 0
    misses: int = 0
    stale_dropped: int = 0
    tokens_saved: int = 0

    def to_json(self) -> dict[str, int]:
        return asdict(self)


def entry_key(model: str, question: str) -> str:
    """One entry per model and question (its words, case and spacing aside)."""
    text = " ".join(question.lower().split())
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


class AnswerStore:
    """The answers of one index: ``db`` holds the table, ``folder`` its lock and counters."""

    def __init__(
        self,
        db: Database,
        folder: Path,
        max_entries: int,
        ttl_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.lock_path = folder / "answers.lock"
        self.counters_path = folder / "answers-stats.json"
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    # -- reading ----------------------------------------------------------------------

    def entries(self) -> list[Entry]:
        table = self._table()
        if table is None:
            return []
        now = self.clock()
        return [
            entry
            for entry in map(_entry, table.to_table().to_pylist())
            if now - entry.created <= self.ttl_seconds
        ]

    def stats(self) -> CacheStats:
        return replace(self._counters(), entries=len(self.entries()))

    # -- serving ----------------------------------------------------------------------

    def serve(self, lookup: Lookup, live: Live) -> Entry | None:
        """The entry that answers ``lookup``, its hit counted (None: a miss, counted); the
        entries found stale on the way are dropped."""
        verdict = judge(self.entries(), lookup, live)
        entry = verdict.entry
        with self._writing():
            self._drop(verdict.stale)
            counters = self._counters()
            counters = replace(counters, stale_dropped=counters.stale_dropped + len(verdict.stale))
            if entry is None:
                self._save(replace(counters, misses=counters.misses + 1))
                return None
            table = self._table()
            if table is not None:
                table.update(
                    {"hits": "hits + 1", "last_hit": repr(self.clock())},
                    where=f"key = {sql_string(entry.key)}",
                )
            hits, saved = counters.hits + 1, counters.tokens_saved + entry.tokens
            self._save(replace(counters, hits=hits, tokens_saved=saved))
            return entry

    def put(self, entry: Entry) -> None:
        """Keep ``entry`` (replacing one for the same model and question), then evict past
        the size bound and the TTL."""
        rows = pa.Table.from_pylist([_row(entry)], schema=SCHEMA)
        with self._writing():
            table = self._table()
            if table is None:
                self.db.create_table(TABLE, SCHEMA, rows.to_pylist())
            else:
                (
                    table.merge_insert("key")
                    .when_matched_update_all()
                    .when_not_matched_insert_all()
                    .execute(rows)
                )
            self._evict()

    def prune(self, live: Live) -> int:
        """Drop every entry whose grounding the index no longer holds in full; how many."""
        entries = self.entries()
        held = live({ground.chunk_id for entry in entries for ground in entry.grounding})
        stale = [entry.key for entry in entries if not entry.chunk_ids <= held]
        if stale:
            with self._writing():
                self._drop(stale)
                counters = self._counters()
                self._save(replace(counters, stale_dropped=counters.stale_dropped + len(stale)))
        return len(stale)

    def clear(self) -> int:
        """Drop every entry and reset the counters; how many entries there were."""
        with self._writing():
            count = len(self.entries())
            self.db.drop_table(TABLE)
            self.counters_path.unlink(missing_ok=True)
        return count

    # -- internals --------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[None]:
        with writer_lock(
            self.lock_path,
            _LOCK_SECONDS,
            writer="answer cache",
            writes="the answer cache",
            advice="try again, or run `codeintel cache clear` if it persists",
        ):
            yield

    def _table(self) -> LanceDataset | None:
        if TABLE not in self.db.table_names():
            return None
        return self.db.open_table(TABLE)

    def _drop(self, keys: Sequence[str]) -> None:
        table = self._table()
        if keys and table is not None:
            table.delete(sql_in("key", keys))

    def _evict(self) -> None:
        """Past the TTL, then the least recently used past ``max_entries``."""
        table = self._table()
        if table is None:
            return
        rows = table.to_table(columns=["key", "created", "last_hit"]).to_pylist()
        now = self.clock()
        expired = [row for row in rows if now - row["created"] > self.ttl_seconds]
        alive = [row for row in rows if now - row["created"] <= self.ttl_seconds]
        alive.sort(key=lambda row: max(row["created"], row["last_hit"]), reverse=True)
        self._drop([row["key"] for row in expired + alive[self.max_entries :]])

    def _counters(self) -> CacheStats:
        try:
            data = json.loads(self.counters_path.read_text())
        except (OSError, ValueError):
            return CacheStats()
        known = {field.name for field in fields(CacheStats)} - {"entries"}
        return CacheStats(**{k: int(v) for k, v in data.items() if k in known})

    def _save(self, counters: CacheStats) -> None:
        self.counters_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.counters_path.with_suffix(".tmp")
        counts = {name: value for name, value in asdict(counters).items() if name != "entries"}
        partial.write_text(json.dumps(counts))
        partial.replace(self.counters_path)


def _row(entry: Entry) -> dict[str, Any]:
    row = asdict(entry)
    row["vector"] = list(entry.vector)
    row["names"] = list(entry.names)
    return row


def _entry(row: dict[str, Any]) -> Entry:
    return Entry(
        key=row["key"],
        question=row["question"],
        vector=tuple(row["vector"]),
        names=tuple(row["names"]),
        answer=row["answer"],
        citations=row["citations"],
        grounding=tuple(Grounding(**ground) for ground in row["grounding"]),
        model=row["model"],
        tokens=row["tokens"],
        created=row["created"],
        last_hit=row["last_hit"],
        hits=row["hits"],
    )
