"""The incremental build: after any sequence of edits it equals a fresh build of the same files.

Real files, real LanceDB, the deterministic ``hashing`` embedder. The reference build goes
into another folder with its own, empty embedding cache, so it also checks that vectors
taken from the shared cache are the ones the model computes.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codeintel.cli.main import main
from codeintel.errors import IndexMismatch
from codeintel.indexer.embedder import HashingEmbedder
from codeintel.indexer.repository import Repository
from codeintel.indexer.snapshot import Snapshot
from codeintel.indexer.store import MAX_INDEX_DELTAS
from codeintel.retrieval.lexical import LexicalSignals
from codeintel.settings import EmbedSettings, IndexSettings
from tests.conftest import git_init, write_files

MODEL = "hashing:64"

# -- comparing indexes ---------------------------------------------------------------


def table_rows(uri: str, name: str) -> list[dict[str, Any]]:
    """The rows of the live ``chunks`` or ``files`` table (of the generation meta names)."""
    snapshot = Snapshot.open(uri)
    dataset = {"chunks": snapshot.chunks, "files": snapshot.files}[name]
    rows: list[dict[str, Any]] = dataset.to_table().to_pylist()
    return rows


def check_consistent(uri: str, allow_unfinished: bool = False) -> None:
    """Ids are unique, and the files table names exactly the chunks each file has.

    ``allow_unfinished``: after a killed build, files it had claimed (no sha256 yet) may
    have chunks their row does not list; the next build settles them.
    """
    chunks = table_rows(uri, "chunks")
    ids = [row["id"] for row in chunks]
    assert len(ids) == len(set(ids)), "duplicate chunk ids"
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in chunks:
        by_path.setdefault(row["path"], []).append(row)
    files = {row["path"]: row for row in table_rows(uri, "files")}
    assert set(by_path) <= set(files), "chunks of a file the files table does not know"
    for path, row in files.items():
        if allow_unfinished and row["sha256"] is None:
            continue
        ordered = sorted(by_path.get(path, []), key=lambda chunk: chunk["start_line"])
        assert row["chunk_ids"] == [chunk["id"] for chunk in ordered], path


def assert_same_index(uri: str, reference: str) -> None:
    """Every column of both tables equal; vectors within float tolerance."""
    check_consistent(uri)
    got = sorted(table_rows(uri, "chunks"), key=lambda row: row["id"])
    want = sorted(table_rows(reference, "chunks"), key=lambda row: row["id"])
    assert [row["id"] for row in got] == [row["id"] for row in want]
    for mine, theirs in zip(got, want, strict=True):
        mine_vector, their_vector = mine.pop("vector"), theirs.pop("vector")
        assert mine == theirs
        assert (mine_vector is None) == (their_vector is None), mine["id"]
        if mine_vector is not None:
            np.testing.assert_allclose(mine_vector, their_vector, atol=1e-6)
    files = sorted(table_rows(uri, "files"), key=lambda row: row["path"])
    assert files == sorted(table_rows(reference, "files"), key=lambda row: row["path"])


def fresh_build(root: Path, folder: Path, model: str = MODEL) -> str:
    """Build ``root`` from nothing into ``folder`` with a cache of its own; its URI."""
    shutil.rmtree(folder, ignore_errors=True)
    uri = str(folder / "db")
    index = IndexSettings(uri=uri)
    embed = EmbedSettings(model=model, cache_dir=str(folder / "cache"))
    Repository(root, index, embed).build()
    return uri


def repository(root: Path, model: str = MODEL, **index: Any) -> Repository:
    return Repository(root, IndexSettings(**index), EmbedSettings(model=model))


# -- a small multi-language repository as a model that edits can act on ---------------

_TEMPLATES = {
    ".py": ("import os\n\n", "def {name}(x):\n    return x + {n}\n\n"),
    ".js": ("'use strict';\n\n", "function {name}(x) {{\n  return x + {n};\n}}\n\n"),
    ".go": ("package main\n\n", "func {name}(x int) int {{\n\treturn x + {n}\n}}\n\n"),
    ".rs": ("use std::fmt;\n\n", "fn {name}(x: i32) -> i32 {{\n    x + {n}\n}}\n\n"),
    ".md": ("# Notes\n\n", "## {name}\n\nStep {n} of the plan.\n\n"),
    ".txt": ("", "{name} = {n}\n"),
}
_COMMENT = {".py": "# ", ".js": "// ", ".go": "// ", ".rs": "// ", ".md": "", ".txt": ""}
_NAMES = ["load", "save", "parse_args", "render", "fetchUser", "main", "helper"]


@dataclass
class Source:
    suffix: str
    functions: list[tuple[str, int]] = field(default_factory=list)
    padding: int = 0  # comment lines above the functions

    def render(self) -> str:
        header, template = _TEMPLATES[self.suffix]
        pad = "".join(f"{_COMMENT[self.suffix]}note {i}\n" for i in range(self.padding))
        body = "".join(template.format(name=name, n=n) for name, n in self.functions)
        return header + pad + body


class Workspace:
    """The files on disk and the edits the property test applies to them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, Source] = {}
        self.counter = 0

    def write(self, path: str) -> None:
        write_files(self.root, {path: self.files[path].render()})

    def new_path(self, seed: int) -> str:
        self.counter += 1
        suffix = sorted(_TEMPLATES)[seed % len(_TEMPLATES)]
        folder = ["", "src/", "src/pkg/", "docs/"][seed % 4]
        return f"{folder}f{self.counter}{suffix}"

    def pick(self, seed: int) -> str | None:
        paths = sorted(self.files)
        return paths[seed % len(paths)] if paths else None

    def apply(self, op: str, seed: int, value: int) -> None:
        path = self.pick(seed)
        if op == "add" or path is None:
            path = self.new_path(seed)
            suffix = Path(path).suffix
            count = 1 + value % 3
            self.files[path] = Source(
                suffix, [(_NAMES[(value + i) % len(_NAMES)], i) for i in range(count)]
            )
            self.write(path)
            return
        source = self.files[path]
        full = self.root / path
        if op == "modify" and source.functions:
            index = value % len(source.functions)
            name, n = source.functions[index]
            source.functions[index] = (name, n + 1 + value)
            self.write(path)
        elif op == "append":
            source.functions.append((_NAMES[value % len(_NAMES)], value % 5))
            self.write(path)
        elif op == "delete":
            del self.files[path]
            full.unlink()
        elif op == "rename":
            target = self.new_path(seed + 1)
            target = str(Path(target).with_suffix(source.suffix))
            (self.root / target).parent.mkdir(parents=True, exist_ok=True)
            full.rename(self.root / target)
            self.files[target] = self.files.pop(path)
        elif op == "insert_above":
            source.padding += 1 + value % 3
            self.write(path)
        elif op == "touch":  # rewritten with the same bytes: new mtime, same content
            self.write(path)
        elif op == "mtime":
            stat = full.stat()
            os.utime(full, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000 + value))


_OPS = ["add", "modify", "append", "delete", "rename", "insert_above", "touch", "mtime"]
_edits = st.lists(
    st.tuples(st.sampled_from(_OPS), st.integers(0, 50), st.integers(0, 1000)),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(initial=st.integers(1, 4), edits=_edits, use_git=st.booleans())
def test_incremental_build_equals_fresh_build(
    initial: int, edits: list[tuple[str, int, int]], use_git: bool
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root, reference = Path(folder, "repo"), Path(folder, "reference")
        root.mkdir()
        if use_git:
            git_init(root)
        workspace = Workspace(root)
        for seed in range(initial):
            workspace.apply("add", seed, seed * 7)
        repo = repository(root)
        repo.build()
        for op, seed, value in edits:
            workspace.apply(op, seed, value)
            report = repo.build()
            assert report.files == len(workspace.files)
            assert report.pending == 0
            assert_same_index(repo.uri, fresh_build(root, reference))


# -- the incremental cases, one by one -------------------------------------------------

SAMPLE: dict[str, str | bytes] = {
    "app/users.py": (
        "class UserStore:\n"
        '    """Keeps users."""\n\n'
        "    def get_user_name(self, user_id):\n"
        "        return self.names[user_id]\n\n"
        "    def add_user(self, user_id, name):\n"
        "        self.names[user_id] = name\n"
    ),
    "app/util.py": "def slug(text):\n    return text.lower().replace(' ', '-')\n",
    "web/api.js": "export function fetchUser(id) {\n  return fetch(`/users/${id}`);\n}\n",
    "cmd/main.go": 'package main\n\nfunc main() {\n\tprintln("hi")\n}\n',
    "README.md": "# Demo\n\nA tiny repository.\n\n## Usage\n\nRun it.\n",
}


def test_unchanged_build_embeds_nothing(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    first = repo.build()
    assert first.embedded == first.chunks > 0
    again = repo.build()
    assert (again.changed, again.embedded, again.unchanged) == (0, 0, len(SAMPLE))
    rebuilt = repo.build(rebuild=True)  # index dropped; the embedding cache still knows
    assert rebuilt.changed == len(SAMPLE)
    assert rebuilt.embedded == 0 and rebuilt.reused == rebuilt.chunks == first.chunks


def test_touched_file_is_not_rechunked(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    repo.build()
    target = tmp_path / "app/users.py"
    target.write_text(target.read_text())
    os.utime(target, (1_000_000, 1_000_000))
    report = repo.build()
    assert (report.changed, report.unchanged, report.embedded) == (0, len(SAMPLE), 0)
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))


def test_renamed_file_reuses_its_vectors(tmp_path: Path) -> None:
    """The model reads code, not paths, so a renamed file embeds nothing new."""
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    repo.build()
    moved_chunks = len(
        [row for row in table_rows(repo.uri, "chunks") if row["path"] == "app/users.py"]
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "app/users.py").rename(tmp_path / "lib/users.py")
    report = repo.build()
    assert (report.changed, report.deleted) == (1, 1)
    assert report.embedded == 0 and report.reused == moved_chunks > 0
    paths = {row["path"] for row in table_rows(repo.uri, "chunks")}
    assert "app/users.py" not in paths and "lib/users.py" in paths
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))


def test_copy_in_another_folder_embeds_nothing(tmp_path: Path) -> None:
    """Another checkout (a worktree, a clone) shares the user-level embedding cache."""
    first, second = tmp_path / "one", tmp_path / "two"
    write_files(first, SAMPLE)
    assert repository(first).build().embedded > 0
    shutil.copytree(first, second, ignore=shutil.ignore_patterns(".codeintel"))
    report = repository(second).build()
    assert report.embedded == 0 and report.reused == report.chunks > 0


def test_deleted_files_disappear(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    repo.build()
    (tmp_path / "web/api.js").unlink()
    shutil.rmtree(tmp_path / "app")
    report = repo.build()
    assert report.deleted == 3
    assert {row["path"] for row in table_rows(repo.uri, "files")} == {"cmd/main.go", "README.md"}
    assert {row["path"] for row in table_rows(repo.uri, "chunks")} == {"cmd/main.go", "README.md"}
    assert repo.status().files == 2


def test_no_embed_then_build_fills_every_vector(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    lexical = repo.build(embed=False)
    assert lexical.pending == lexical.chunks > 0 and lexical.embedded == 0
    assert repo.status().pending == lexical.chunks
    full = repo.build()
    assert (full.changed, full.pending, full.embedded) == (0, 0, lexical.chunks)
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))


def test_status_counts_are_recorded_for_the_versions_they_describe(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    repo.build(embed=False)
    snapshot = repo.snapshot()
    recorded = json.loads(snapshot.meta.census)
    assert recorded["versions"] == [snapshot.chunks.version, snapshot.files.version]
    counted = repo.status()
    assert counted.pending == counted.chunks == recorded["chunks"] > 0
    # what status shows is what the build recorded, while the versions match
    store = repo.open_store()
    store.record_census(json.dumps({**recorded, "chunks": 999, "pending": 0}))
    assert (repo.status().chunks, repo.status().embedded) == (999, 999)
    # a write no build counted (as a killed build leaves): the counts are taken afresh
    store.chunks.delete("path = 'README.md'")
    after = repo.status()
    assert after.chunks == len(table_rows(repo.uri, "chunks")) < counted.chunks
    assert "markdown" in counted.languages and "markdown" not in after.languages


class _PoisonedEmbedder(HashingEmbedder):
    """Hashing vectors, but NaN for any text that mentions ``slug``."""

    def embed(self, texts: list[str]) -> Any:
        vectors = super().embed(texts)
        vectors[["slug" in text for text in texts]] = float("nan")
        return vectors


def test_a_vector_that_is_not_finite_leaves_its_chunk_pending(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    report = repo.build(embedder=_PoisonedEmbedder(64))
    assert report.pending == 1 and repo.status().embedded == report.chunks - 1
    again = repo.build()  # the cache kept no NaN: the sane model embeds it now
    assert again.embedded == 1 and again.pending == 0
    vectors = [row["vector"] for row in table_rows(repo.uri, "chunks")]
    assert all(v is not None and all(math.isfinite(x) for x in v) for v in vectors)


def test_paths_with_quotes_and_odd_characters(tmp_path: Path) -> None:
    """Paths reach SQL filters (stale chunks, deletes): quotes must not break or widen them."""
    odd = {
        "it's.py": "def quoted():\n    return 1\n",
        "a' OR '1'='1.py": "def injected():\n    return 2\n",
        "back\\slash.py": "def backslash():\n    return 3\n",
        'dq"uote.py': "def dquote():\n    return 4\n",
        "space dir/ünïcode.py": "def accents():\n    return 5\n",
        "percent%_.py": "def like_chars():\n    return 6\n",
    }
    write_files(tmp_path, {**SAMPLE, **odd})
    repo = repository(tmp_path)
    repo.build()
    for name in odd:
        write_files(tmp_path, {name: odd[name].replace("return", "return 10 +")})
    assert repo.build().changed == len(odd)
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))
    for name in odd:
        (tmp_path / name).unlink()
    assert repo.build().deleted == len(odd)
    assert {row["path"] for row in table_rows(repo.uri, "files")} == set(SAMPLE)
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))


def test_file_replaced_by_symlink_leaves_the_index(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path)
    repo.build()
    (tmp_path / "app/util.py").unlink()
    (tmp_path / "app/util.py").symlink_to("users.py")
    report = repo.build()
    assert report.deleted == 1 and report.skipped == {"symlink": 1}
    assert "app/util.py" not in {row["path"] for row in table_rows(repo.uri, "chunks")}
    assert_same_index(repo.uri, fresh_build(tmp_path, tmp_path.parent / "reference"))


def test_file_that_becomes_skipped_leaves_the_index(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repo = repository(tmp_path, max_file_bytes=1000)
    repo.build()
    write_files(tmp_path, {"app/util.py": "x = 1\n" * 400})
    report = repo.build()
    assert report.deleted == 1 and report.skipped == {"over 1000 bytes": 1}
    assert "app/util.py" not in {row["path"] for row in table_rows(repo.uri, "files")}


def test_other_embedder_needs_rebuild(tmp_path: Path) -> None:
    write_files(tmp_path, SAMPLE)
    repository(tmp_path, "hashing:64").build()
    for repo in (repository(tmp_path, "hashing:32"),):
        with pytest.raises(IndexMismatch) as caught:
            repo.build()
        message = str(caught.value)
        assert "\n" not in message and "--rebuild" in message
        with pytest.raises(IndexMismatch):
            repo.open_store()
    report = repository(tmp_path, "hashing:32").build(rebuild=True)
    assert report.pending == 0 and report.chunks > 0
    status = repository(tmp_path, "hashing:32").status()
    assert (status.embedder, status.dim) == ("hashing:32", 32)
    rows = table_rows(repository(tmp_path).uri, "chunks")
    assert {len(row["vector"]) for row in rows} == {32}


def test_default_minilm_model_offline_and_shared_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packaged all-MiniLM-L6-v2, loaded offline with verified weights, on a tiny repo."""
    import hashlib

    from codeintel.indexer.model_source import MINILM_SHA256, packaged_minilm_path
    from codeintel.settings import DEFAULT_MODEL

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    weights = packaged_minilm_path() / "model.safetensors"
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == MINILM_SHA256
    first, second = tmp_path / "main", tmp_path / "worktree"
    write_files(first, SAMPLE)
    report = Repository(first, IndexSettings(), EmbedSettings(model=DEFAULT_MODEL)).build()
    assert report.embedded == report.chunks > 0 and report.pending == 0
    rows = table_rows(str(first / ".codeintel" / "db"), "chunks")
    vectors = np.array([row["vector"] for row in rows], dtype=np.float32)
    assert vectors.shape == (report.chunks, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    shutil.copytree(first, second, ignore=shutil.ignore_patterns(".codeintel"))
    again = Repository(second, IndexSettings(), EmbedSettings(model=DEFAULT_MODEL)).build()
    assert again.embedded == 0 and again.reused == again.chunks == report.chunks
    # The slow part of a first search (the model's one-time ONNX export) is said while it
    # happens; later searches have nothing slow to say.
    searched = CliRunner().invoke(main, ["search", "user names", "--path", str(second)])
    assert searched.exit_code == 0, searched.output
    assert "exporting all-MiniLM-L6-v2 to ONNX once" in searched.stderr
    again_searched = CliRunner().invoke(main, ["search", "user names", "--path", str(second)])
    assert again_searched.exit_code == 0 and again_searched.stderr == ""
    assert again_searched.stdout == searched.stdout


def test_bm25_ranks_alike_however_the_rows_were_built(tmp_path: Path) -> None:
    """After every build of rows added over many builds (past the deltas an index keeps),
    BM25 ranks exactly as over the same rows built at once: no row is left out of the
    full-text index (whose scores for uncovered rows differ) and ties go by key, not by
    storage order. (Additions only: replaced rows can stay in the statistics up to
    ``MAX_STALE_SHARE``, docs/decisions.md.)"""
    root, reference = tmp_path / "repo", tmp_path / "reference"
    topics = ["parse config section", "lock thread timeout", "encode bytes string"]
    files = {
        f"pkg/mod{i}.py": "".join(
            f"def {topic.split()[j % 3]}_{i}_{j}(value):\n"
            f"    '''{topic} {i} {' '.join(topics[(i + j) % 3].split()[: 1 + j % 3])}"
            f" {' '.join(['note'] * ((i * 7 + j * 3) % 11))}'''\n"  # lengths vary: few ties
            f"    return value + {j}\n\n"
            for j, topic in enumerate(topics * (1 + i % 3))
        )
        for i in range(2 + MAX_INDEX_DELTAS + 2)
    }
    names = sorted(files)
    write_files(root, {name: files[name] for name in names[:2]})
    repo = repository(root)
    most_deltas = 0
    for count in range(2, len(names) + 1):  # one file more per build
        write_files(root, {names[count - 1]: files[names[count - 1]]})
        repo.build()
        fresh = repository(root, uri=fresh_build(root, reference))
        built, once = repo.open_store(), fresh.open_store()
        for table in (built.chunks, built.files):
            for name in {index["name"] for index in table.list_indices()}:
                stats = table.stats.index_stats(name)
                assert stats["num_unindexed_rows"] == 0, name
                deltas = len(stats["num_indexed_rows_per_delta"])
                assert deltas <= MAX_INDEX_DELTAS, name
                most_deltas = max(most_deltas, deltas)
        mine = LexicalSignals(built.chunks, built.files, names)
        theirs = LexicalSignals(once.chunks, once.files, names)
        for query in [*topics, "value parse bytes", "timeout 7"]:
            assert mine.bm25(query, 12) == theirs.bm25(query, 12), (count, query)
            assert mine.bm25_files(query, 5) == theirs.bm25_files(query, 5), (count, query)
    assert most_deltas >= 3  # the comparisons covered indexes with several deltas
