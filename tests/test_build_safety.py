"""Builds that die or collide: SIGKILL at several points, two writers, readers meanwhile.

Builds run in real subprocesses (a small driver calling ``Repository.build``, printing its
progress one line per event); the test kills them at chosen events, then checks that the
next build completes and equals a fresh build, with no duplicate rows.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from benchmarks.index_disk import index_usage
from codeintel.cli.main import main
from codeintel.errors import IndexLocked
from codeintel.indexer.embed_cache import EmbeddingCache
from codeintel.indexer.repository import Repository
from codeintel.indexer.store import table_names
from codeintel.settings import EmbedSettings, IndexSettings
from tests.test_build import MODEL, assert_same_index, check_consistent, fresh_build, table_rows

DRIVER = """
import json, signal, sys, time
from pathlib import Path
# Ctrl-C as in a terminal, even where the suite runs in a background job (which starts with
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler)
signal.signal(signal.SIGINT, signal.default_int_handler)
from codeintel.indexer import pipeline
from codeintel.indexer.repository import Repository
from codeintel.settings import EmbedSettings, IndexSettings

root, batch_rows, workers, hold_phase, hold = sys.argv[1:6]
slow = False  # in the phase named by sys.argv[8], every step takes 50 ms
pipeline.WRITE_BATCH_ROWS = int(batch_rows)  # many small commits, to be killed between
if int(workers) > 1:
    pipeline._PARALLEL_MIN_BYTES = 0

class Lines:
    def phase(self, name, total):
        global slow
        slow = name == sys.argv[8]
        print("phase", name, flush=True)
        if name == hold_phase:
            time.sleep(float(hold))

    def advance(self, amount):
        print("advance", amount, flush=True)
        if slow:
            time.sleep(0.05)

    def note(self, message):
        print("note", message, flush=True)

index = IndexSettings(workers=int(workers), lock_timeout=float(sys.argv[6]))
repo = Repository(Path(root), index, EmbedSettings(model="hashing:64", batch_size=16))
print("start", flush=True)
report = repo.build(progress=Lines(), rebuild=sys.argv[7] == "rebuild")
print("done", json.dumps(report.to_json()), flush=True)
"""


def generate(root: Path, files: int, functions: int, version: int = 0) -> None:
    for f in range(files):
        body = "".join(
            f"def func_{f}_{i}(value, other=None):\n"
            f'    """Compute thing {i} of module {f}, version {version}."""\n'
            f"    total = value * {i} + {f}\n"
            f"    for step in range({i % 7 + 2}):\n"
            f"        total += step * other if other else step\n"
            f"    return total\n\n\n"
            for i in range(functions)
        )
        path = root / f"pkg{f % 10}" / f"mod_{f}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body)


class Build:
    """One driver subprocess, read event by event."""

    def __init__(
        self,
        root: Path,
        batch_rows: int = 150,
        workers: int = 1,
        hold: tuple[str, float] = ("", 0),
        lock_timeout: float = 60,
        rebuild: bool = False,
        slow: str = "",
    ) -> None:
        args = [str(root), str(batch_rows), str(workers), hold[0], str(hold[1]), str(lock_timeout)]
        args += ["rebuild" if rebuild else "update", slow]
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its workers share its session: we can find them
        )
        self.lines: list[str] = []

    def wait_for(self, done: Callable[[list[str]], bool]) -> None:
        assert self.process.stdout is not None
        while not done(self.lines):
            line = self.process.stdout.readline()
            if not line:
                _, err = self.process.communicate()
                raise AssertionError(f"build ended first: {self.lines[-3:]} {err[-2000:]}")
            self.lines.append(line.strip())

    def kill(self) -> None:
        """SIGKILL the build (not its workers), then wait until its whole session is gone."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        deadline = time.monotonic() + 15
        while _session_alive(self.process.pid):
            assert time.monotonic() < deadline, "worker processes outlived a killed build"
            time.sleep(0.1)

    def finish(self) -> str:
        out, err = self.process.communicate(timeout=120)
        assert self.process.returncode == 0, err[-3000:]
        self.lines += out.splitlines()
        return "\n".join(self.lines)


def _session_alive(session: int) -> bool:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # fields[3] is the session id
            return True
    return False


def phase(name: str) -> Callable[[list[str]], bool]:
    return lambda lines: f"phase {name}" in lines


def advances_in(name: str, count: int) -> Callable[[list[str]], bool]:
    def done(lines: list[str]) -> bool:
        if f"phase {name}" not in lines:
            return False
        return len(lines) - lines.index(f"phase {name}") > count

    return done


def repository(root: Path, **index: float) -> Repository:
    return Repository(root, IndexSettings(**index), EmbedSettings(model=MODEL))  # type: ignore[arg-type]


def readable(repo: Repository) -> None:
    """After a kill the index is either absent or whole: status works, ids are unique."""
    if (repo.index_dir / "db" / "meta.lance").exists():
        status = repo.status()
        assert status.chunks == status.embedded + status.pending
        check_consistent(repo.uri, allow_unfinished=True)


def test_killed_builds_are_completed_by_the_next(tmp_path: Path) -> None:
    root, reference = tmp_path / "repo", tmp_path / "reference"
    generate(root, files=100, functions=8)
    repo = repository(root)

    early = Build(root)
    early.wait_for(phase("chunking"))
    early.kill()
    readable(repo)

    lexical = Build(root, workers=2)  # chunking in worker processes, 150-row commits
    lexical.wait_for(advances_in("chunking", 60))
    lexical.kill()
    readable(repo)
    assert 0 < repo.status().chunks < 800

    # Vectors are committed a few fragments at a time (608 rows, then 192, here), progress
    # told every 16 chunks (the batch size): 40 steps are past the first commit.
    embedding = Build(root, slow="embedding")
    embedding.wait_for(advances_in("embedding", 40))
    embedding.kill()
    readable(repo)
    assert 0 < repo.status().embedded < 800

    report = repo.build()
    assert report.pending == 0 and report.chunks == 800
    assert report.embedded < 800  # what the killed build embedded came from the cache
    assert_same_index(repo.uri, fresh_build(root, reference))

    # Incremental: every file edited, some deleted, some added; killed while writing.
    generate(root, files=110, functions=8, version=1)
    for f in range(0, 110, 11):
        (root / f"pkg{f % 10}" / f"mod_{f}.py").unlink()
    incremental = Build(root)
    incremental.wait_for(advances_in("chunking", 60))
    incremental.kill()
    readable(repo)
    report = repo.build()
    assert report.pending == 0 and report.files == 100
    assert_same_index(repo.uri, fresh_build(root, reference))


def test_killed_rebuild_leaves_the_old_index_whole_and_searchable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, reference = tmp_path / "repo", tmp_path / "reference"
    generate(root, files=60, functions=8)
    monkeypatch.setenv("CODEINTEL_EMBED_MODEL", MODEL)
    repo = repository(root)
    repo.build()
    # Vectors come from the embedding cache as rows are written: no embedding phase here.
    stages = [("", phase("chunking")), ("", advances_in("chunking", 30))]
    stages.append(("compacting", phase("compacting")))  # all written, not yet published
    for hold, stage in stages:
        rebuild = Build(root, workers=2, rebuild=True, hold=(hold, 30))
        rebuild.wait_for(stage)
        rebuild.kill()
        assert_same_index(repo.uri, fresh_build(root, reference))
        found = CliRunner().invoke(
            main, ["search", "compute thing 3 of module 7", "--path", str(root), "--json"]
        )
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout)["results"][0]["path"] == "pkg7/mod_7.py"

    interrupted = Build(root, rebuild=True, hold=("compacting", 30))
    interrupted.wait_for(phase("compacting"))
    interrupted.process.send_signal(signal.SIGINT)  # Ctrl-C
    interrupted.process.communicate(timeout=120)  # its pipes drained while it unwinds
    assert interrupted.process.returncode != 0
    assert_same_index(repo.uri, fresh_build(root, reference))

    # The killed rebuilds' tables are dropped by a later build, nothing reading them.
    assert repo.build(rebuild=True).chunks == 480
    assert_same_index(repo.uri, fresh_build(root, reference))
    repo.build()
    tables = set(repo.open_store().db.table_names())
    assert tables == {"meta", *table_names(repo.open_store().meta.generation)}
    assert index_usage(repo.index_dir)["unreferenced"] == 0  # the killed builds' files went


def test_a_rebuild_recovers_a_damaged_meta_and_keeps_no_old_copies(tmp_path: Path) -> None:
    root, reference = tmp_path / "repo", tmp_path / "reference"
    generate(root, files=5, functions=2)
    repo = repository(root)
    repo.build()
    for _ in range(3):
        repo.build(rebuild=True)
        live = repo.open_store().meta.generation
        assert set(repo.open_store().db.table_names()) == {"meta", *table_names(live)}
    shutil.rmtree(repo.index_dir / "db" / "meta.lance" / "_versions")
    repo.build(rebuild=True)
    assert_same_index(repo.uri, fresh_build(root, reference))


def test_chunks_written_before_their_files_row_are_not_orphaned(tmp_path: Path) -> None:
    """Killed between a new file's chunks and its files row, then the file is deleted."""
    root = tmp_path / "repo"
    generate(root, files=4, functions=2)
    repo = repository(root)
    repo.build()
    # The state such a build leaves: chunks committed, the file claimed but not recorded.
    repo.open_store().claim_files(["pkg3/mod_3.py"])
    assert repo.status().chunks == 8
    (root / "pkg3" / "mod_3.py").unlink()
    report = repo.build()
    assert report.deleted == 1 and report.files == 3
    assert "pkg3/mod_3.py" not in {row["path"] for row in table_rows(repo.uri, "chunks")}
    check_consistent(repo.uri)


KILL_AFTER_CHUNKS = """
import os, sys
from pathlib import Path
from codeintel.indexer.repository import Repository
from codeintel.indexer.store import Store
from codeintel.settings import EmbedSettings, IndexSettings

write_files = Store._write_files
def dying(self, rows, append=False):  # the files rows that follow a batch's chunks
    if rows.column("sha256").null_count < rows.num_rows:
        os._exit(9)
    write_files(self, rows, append)
Store._write_files = dying
Repository(Path(sys.argv[1]), IndexSettings(), EmbedSettings(model="hashing:64")).build()
"""


def test_killed_between_chunks_and_files_rows_the_index_stays_consistent(
    tmp_path: Path,
) -> None:
    """The moment a build dies after a batch's chunks, before their files rows: every
    files row that claims to be finished still lists exactly its chunks."""
    root, reference = tmp_path / "repo", tmp_path / "reference"
    generate(root, files=6, functions=3)
    repo = repository(root)
    repo.build()
    generate(root, files=8, functions=3, version=1)  # six files edited, two new
    died = subprocess.run([sys.executable, "-c", KILL_AFTER_CHUNKS, str(root)], check=False)
    assert died.returncode == 9
    check_consistent(repo.uri, allow_unfinished=True)
    repo.build()
    assert_same_index(repo.uri, fresh_build(root, reference))


def test_second_writer_waits_or_fails_at_once(tmp_path: Path) -> None:
    root, reference = tmp_path / "repo", tmp_path / "reference"
    generate(root, files=30, functions=8)
    repo = repository(root)
    before = repo.build()
    generate(root, files=40, functions=8, version=1)

    first = Build(root, hold=("embedding", 3.0))  # holds the lock a while, mid-build
    first.wait_for(phase("embedding"))

    with pytest.raises(IndexLocked) as caught:
        repository(root, lock_timeout=0).build()
    message = str(caught.value)
    assert "\n" not in message and f"pid {first.process.pid}" in message

    status = repo.status()  # readers never wait for the writer
    assert status.files in (before.files, 40) and status.chunks >= before.chunks
    check_consistent(repo.uri)

    second = Build(root)
    second.wait_for(lambda lines: any(line.startswith("note waiting") for line in lines))
    assert f"pid {first.process.pid}" in second.lines[-1]
    assert "phase chunking" not in second.lines  # still waiting, not writing
    first.finish()
    assert '"changed": 0' in second.finish()  # the first writer had done everything
    assert_same_index(repo.uri, fresh_build(root, reference))


def test_embedding_cache_with_concurrent_writers(tmp_path: Path) -> None:
    """Several processes filling one cache at once: no 'database is locked', no lost rows."""
    script = (
        "import sys, numpy as np\n"
        "from pathlib import Path\n"
        "from codeintel.indexer.embed_cache import EmbeddingCache\n"
        "cache = EmbeddingCache(Path(sys.argv[1]), 8)\n"
        "worker = int(sys.argv[2])\n"
        "for batch in range(40):\n"
        "    keys = [f'k{(worker * 40 + batch + i) % 200}' for i in range(50)]\n"
        "    cache.put_many({k: np.full(8, int(k[1:]), np.float32) for k in keys})\n"
        "    assert len(cache.get_many(keys)) == 50\n"
        "cache.close()\n"
    )
    folder = tmp_path / "cache"
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(folder), str(worker)])
        for worker in range(4)
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0, 0, 0]
    cache = EmbeddingCache(folder, 8)
    found = cache.get_many([f"k{i}" for i in range(200)])
    cache.close()
    assert len(found) == 200
    assert all(vector[0] == int(key[1:]) for key, vector in found.items())


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_index_folder_keeps_out_of_git(tmp_path: Path) -> None:
    generate(tmp_path, files=2, functions=1)
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    repository(tmp_path).build()
    untracked = subprocess.run(
        ["git", "-C", str(tmp_path), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert ".codeintel" not in untracked
    assert {row["path"] for row in table_rows(repository(tmp_path).uri, "files")} == {
        "pkg0/mod_0.py",
        "pkg1/mod_1.py",
    }


READER = """
import sys
from pathlib import Path
from codeintel.indexer.repository import Repository
from codeintel.settings import EmbedSettings, IndexSettings

repo = Repository(Path(sys.argv[1]), IndexSettings(), EmbedSettings(model=sys.argv[2]))
with repo.reading():
    snapshot = repo.snapshot()
    print("reading", snapshot.chunks.count_rows(), flush=True)
    sys.stdin.readline()  # meanwhile the test builds a new version
    print("read", snapshot.chunks.to_table(columns=["text", "vector"]).num_rows, flush=True)
"""


def _versions(repo: Repository) -> dict[str, int]:
    import lance

    names = ["meta", *table_names(repo.open_store().meta.generation)]
    return {name: len(lance.dataset(f"{repo.uri}/{name}.lance").versions()) for name in names}


def test_superseded_versions_go_at_once_unless_a_reader_is_reading(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    generate(root, files=6, functions=3)
    repo = repository(root)
    repo.build()
    assert set(_versions(repo).values()) == {1}  # nobody reads: only the current versions
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(root), MODEL],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().split() == ["reading", "18"]
        generate(root, files=8, functions=3, version=1)
        assert repo.build().chunks == 24
        assert max(_versions(repo).values()) > 1  # the reader's version is kept for it
        out, _ = reader.communicate("go on\n", timeout=60)
        assert out.split() == ["read", "18"] and reader.returncode == 0
    finally:
        reader.kill()
    generate(root, files=8, functions=3, version=2)
    repo.build()  # the reader is gone: what it read goes now
    assert set(_versions(repo).values()) == {1}
    assert repo.status().chunks == 24
    assert index_usage(repo.index_dir)["unreferenced"] == 0  # only the current versions' files


def test_the_grace_period_counts_from_when_a_version_was_superseded(tmp_path: Path) -> None:
    """A version made long ago but current until a moment ago stays for its readers."""
    root = tmp_path / "repo"
    generate(root, files=4, functions=2)
    repo = repository(root)
    repo.build()
    time.sleep(1.2)  # the current version is now older than the grace below
    with repo.reading():
        snapshot = repo.snapshot()  # pinned at that old version
        generate(root, files=5, functions=2, version=1)
        repo.build()  # a reader is reading: no prune at once
        repo.open_store().prune(timedelta(seconds=1))
        assert snapshot.chunks.to_table(columns=["text"]).num_rows == 8
    time.sleep(1.2)
    repo.open_store().prune(timedelta(seconds=1))  # superseded over a second ago now
    assert set(_versions(repo).values()) == {1}


def test_filling_vectors_leaves_no_dead_columns_or_rows(tmp_path: Path) -> None:
    """Vectors filled after the lexical rows were written (some from the cache, some new:
    one fragment, partly updated) replace whole rows, and compaction drops the old ones."""
    root = tmp_path / "repo"
    generate(root, files=6, functions=3)
    repo = repository(root)
    repo.build()
    generate(root, files=8, functions=3)  # two more files: the same chunks, and 6 new
    assert repo.build(rebuild=True).embedded == 6
    usage = index_usage(repo.index_dir)
    assert usage["superseded"] == 0 and usage["unreferenced"] == 0
    chunks = usage["tables"][table_names(repo.open_store().meta.generation)[0]]
    assert chunks["rows"] == chunks["physical_rows"] == 24
