"""Shared harness for the SWE-bench benchmarks (``retrieval_quality``, ``token_savings``).

A library: it imports neither benchmark (``run_swebench`` runs both in one pass).

What it does:

- loads the evaluation set (``../shared/eval/swebench_verified_dev.jsonl`` by default: fields
  ``instance_id, repo, base_commit, problem_statement, patch``);
- extracts the gold of each instance from its ``patch`` (see ``parse_patch``): the non-test
  files it modifies and, per file, the *edit sites*: old-file line numbers that a hunk removes
  or changes. A pure insertion (``+`` lines with no ``-`` line in the same run of changes)
  has no old line of its own; its edit site is the old line *before* the insertion point
  (line 1 for an insertion at the top of the file), i.e. the line an editor must see to
  place the new code. Files the patch creates are not gold (they do not exist at the base
  commit, so nothing can retrieve them); an instance left with no gold file is skipped;
- checks repositories out from bare git directories (the ``fetch`` tool's mirrors under
  ``/work/.mirror/<owner>+<name>/repo``, or ``--git-dir owner/name=PATH``) into ONE worktree
  per repository (``/tmp/swe/<owner>__<name>``), switching commits with
  ``git checkout --detach`` + ``git clean -fdx -e .codeintel`` so that each instance is an
  incremental build of the same index (this also exercises branch-switch freshness);
  instances run in commit-date order per repository;
- caches one JSON result per instance under ``<out>/<benchmark>/<model>/`` so reruns resume;
- holds the pure metric helpers (accuracy at k over distinct units, reciprocal rank, coverage
  of edit sites, percentiles) that ``tests/test_bench_harness.py`` tests.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from codeintel.indexer.embedder import Embedder
    from codeintel.indexer.models import Chunk
    from codeintel.indexer.repository import Repository

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_EVAL = BENCH_DIR.parent.parent / "shared" / "eval" / "swebench_verified_dev.jsonl"
DEFAULT_OUT = BENCH_DIR / "out"
DEFAULT_MIRRORS = Path("/work/.mirror")
DEFAULT_WORKTREES = Path("/tmp/swe")
DEFAULT_MODEL = "all-MiniLM-L6-v2"

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


# --------------------------------------------------------------------------- instances, gold


@dataclass(frozen=True)
class Instance:
    instance_id: str
    repo: str
    base_commit: str
    problem_statement: str
    patch: str


@dataclass
class FilePatch:
    """What a patch does to one file: old path, whether it creates the file, edit sites."""

    path: str
    created: bool = False
    deleted: bool = False
    edit_lines: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class Gold:
    """Gold of an instance: non-test files existing at the base commit and their edit sites
    (old-file line numbers, 1-based)."""

    files: tuple[str, ...]
    edit_sites: dict[str, tuple[int, ...]]

    @property
    def n_sites(self) -> int:
        return sum(len(lines) for lines in self.edit_sites.values())


def load_instances(path: Path) -> list[Instance]:
    instances = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                instances.append(
                    Instance(
                        row["instance_id"],
                        row["repo"],
                        row["base_commit"],
                        row["problem_statement"],
                        row["patch"],
                    )
                )
    return instances


_TEST_DIRS = frozenset({"test", "tests", "testing"})


def is_test_path(path: str) -> bool:
    """Test files as SWE-bench separates them: under a test(s)/testing folder, ``test_*``,
    ``*_test.py``, ``*_tests.py`` or ``conftest.py``."""
    parts = path.split("/")
    name = parts[-1]
    return (
        any(part in _TEST_DIRS for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith(("_test.py", "_tests.py"))
        or name == "conftest.py"
    )


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def parse_patch(patch: str) -> dict[str, FilePatch]:
    """Per old path, the edit sites of a unified diff (see the module docstring)."""
    files: dict[str, FilePatch] = {}
    current: FilePatch | None = None
    old_line = 0  # next old-file line number
    run_has_minus = False  # the current run of -/+ lines removed something
    old_path = ""
    lines = patch.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            current = None
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            old_path = _diff_path(line[4:])
            new_path = _diff_path(lines[i + 1][4:])
            key = old_path if old_path != "/dev/null" else new_path
            current = files.setdefault(key, FilePatch(key))
            current.created = old_path == "/dev/null"
            current.deleted = new_path == "/dev/null"
            i += 2
            continue
        elif (match := _HUNK.match(line)) and current is not None:
            old_line = int(match.group(1))
            # "-0,0": the hunk starts before line 1 (insertion at the top of the file)
            if match.group(2) == "0":
                old_line += 1
            run_has_minus = False
        elif current is not None and line.startswith("-"):
            current.edit_lines.add(old_line)
            old_line += 1
            run_has_minus = True
        elif current is not None and line.startswith("+"):
            if not run_has_minus and not current.created:
                current.edit_lines.add(max(old_line - 1, 1))
        elif current is not None and (line.startswith(" ") or line == ""):
            if line.startswith(" "):
                old_line += 1
            run_has_minus = False
        i += 1
    return files


def _diff_path(raw: str) -> str:
    raw = raw.split("\t", 1)[0].strip()
    if raw == "/dev/null":
        return raw
    return raw[2:] if raw[:2] in ("a/", "b/") else raw


def gold_of(instance: Instance) -> Gold:
    patched = parse_patch(instance.patch)
    kept = {
        path: fp
        for path, fp in patched.items()
        if not fp.created and not is_test_path(path) and fp.edit_lines
    }
    files = tuple(sorted(kept))
    return Gold(files, {p: tuple(sorted(kept[p].edit_lines)) for p in files})


# --------------------------------------------------------------------------- metrics (pure)


def distinct(items: Iterable[K]) -> list[K]:
    """Items in first-seen order without repeats."""
    return list(dict.fromkeys(items))


def all_in_top_k(ranked_distinct: Sequence[K], gold: Iterable[K], k: int) -> bool:
    """Whether every gold unit is among the first ``k`` of a ranking of distinct units."""
    gold_set = set(gold)
    return bool(gold_set) and gold_set <= set(ranked_distinct[:k])


def reciprocal_rank(ranked_distinct: Sequence[K], gold: Iterable[K]) -> float:
    """1 / rank of the first gold unit in the ranking (0 when none is ranked)."""
    gold_set = set(gold)
    for rank, unit in enumerate(ranked_distinct, start=1):
        if unit in gold_set:
            return 1.0 / rank
    return 0.0


def chunk_unit(path: str, symbol: str, kind: str, start_line: int) -> tuple[str, str]:
    """A chunk's *function unit*: (path, symbol) for definitions (every part of a split
    function is the same unit); (path, kind@start_line) for code between definitions and for
    prose/line windows, which have no symbol of their own."""
    if kind in ("code", "lines", "section") or not symbol:
        return (path, f"{kind}@{start_line}")
    return (path, symbol)


@dataclass(frozen=True)
class Span:
    path: str
    start_line: int
    end_line: int
    symbol: str
    kind: str

    @property
    def unit(self) -> tuple[str, str]:
        return chunk_unit(self.path, self.symbol, self.kind, self.start_line)


def gold_units(
    spans: Sequence[Span], edit_sites: Mapping[str, Sequence[int]]
) -> set[tuple[str, str]]:
    """The units of the innermost (shortest) chunk holding each edit site. A site no chunk
    holds (e.g. a blank line between chunks) falls back to the nearest chunk above it in the
    file, then below it."""
    units: set[tuple[str, str]] = set()
    by_path: dict[str, list[Span]] = {}
    for span in spans:
        by_path.setdefault(span.path, []).append(span)
    for path, lines in edit_sites.items():
        file_spans = by_path.get(path, [])
        if not file_spans:
            units.add((path, "<not indexed>"))
            continue
        for line in lines:
            holding = [s for s in file_spans if s.start_line <= line <= s.end_line]
            if not holding:
                above = [s for s in file_spans if s.end_line < line]
                holding = (
                    [max(above, key=lambda s: s.end_line)]
                    if above
                    else [min(file_spans, key=lambda s: s.start_line)]
                )
            units.add(min(holding, key=lambda s: (s.end_line - s.start_line, s.start_line)).unit)
    return units


def sites_covered(
    full_spans: Iterable[tuple[str, int, int]], edit_sites: Mapping[str, Sequence[int]]
) -> bool:
    """Whether every edit-site line lies inside some span shown in full."""
    by_path: dict[str, list[tuple[int, int]]] = {}
    for path, start, end in full_spans:
        by_path.setdefault(path, []).append((start, end))
    return all(
        any(start <= line <= end for start, end in by_path.get(path, []))
        for path, lines in edit_sites.items()
        for line in lines
    )


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


# --------------------------------------------------------------------------- repositories


def git(git_dir: Path | None, *args: str, cwd: Path | None = None) -> str:
    command = ["git"] + (["--git-dir", str(git_dir)] if git_dir else []) + list(args)
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


def discover_mirrors(root: Path = DEFAULT_MIRRORS) -> dict[str, Path]:
    """``owner/name`` → bare git dir for every ``<root>/<owner>+<name>/repo`` present."""
    found: dict[str, Path] = {}
    if root.is_dir():
        for folder in sorted(root.iterdir()):
            if "+" in folder.name and (folder / "repo" / "HEAD").exists():
                found[folder.name.replace("+", "/", 1)] = folder / "repo"
    return found


class Worktrees:
    """One detached worktree per repository, moved from commit to commit."""

    def __init__(self, git_dirs: dict[str, Path], root: Path) -> None:
        self.git_dirs = git_dirs
        self.root = root

    def path(self, repo: str) -> Path:
        return self.root / repo.replace("/", "__")

    def checkout(self, repo: str, commit: str) -> Path:
        if repo not in self.git_dirs:
            raise RuntimeError(
                f"no git dir for {repo}: fetch it (github:{repo}) or pass --git-dir {repo}=PATH"
            )
        tree = self.path(repo)
        if not (tree / ".git").exists():
            self.root.mkdir(parents=True, exist_ok=True)
            git(self.git_dirs[repo], "worktree", "prune")
            git(self.git_dirs[repo], "worktree", "add", "--detach", "--force", str(tree), commit)
        else:
            git(None, "checkout", "--detach", "--force", "--quiet", commit, cwd=tree)
        git(None, "clean", "-fdxq", "-e", ".codeintel", cwd=tree)
        return tree

    def commit_time(self, repo: str, commit: str) -> int:
        return int(git(self.git_dirs[repo], "show", "-s", "--format=%ct", commit).strip())


def select(
    instances: Sequence[Instance],
    worktrees: Worktrees,
    repos: Sequence[str] | None,
    limit: int | None,
    ids: Sequence[str] | None = None,
) -> list[Instance]:
    """Instances of ``repos`` (all with a git dir when None), ``limit`` of them spread over
    the repositories (round robin; evenly over each one's history), in the run order:
    commit date ascending within a repository, repositories interleaved (``interleave``;
    each has its own worktree, so interleaving costs no extra checkout work)."""
    chosen = [
        inst
        for inst in instances
        if (not repos or inst.repo in repos)
        and inst.repo in worktrees.git_dirs
        and (not ids or inst.instance_id in ids)
    ]
    by_repo: dict[str, list[Instance]] = {}
    for inst in chosen:
        by_repo.setdefault(inst.repo, []).append(inst)
    for repo, group in by_repo.items():
        group.sort(
            key=lambda inst: (worktrees.commit_time(repo, inst.base_commit), inst.instance_id)
        )
    if limit is not None and limit < len(chosen):
        quota = spread_quota({repo: len(group) for repo, group in by_repo.items()}, limit)
        by_repo = {repo: evenly(group, quota[repo]) for repo, group in by_repo.items()}
    return interleave(by_repo)


def interleave(groups: dict[str, list[T]]) -> list[T]:
    """The groups' items merged so that every prefix is spread over the groups in proportion
    to their sizes (each group's own order kept): a run cut short is still representative."""
    taken = dict.fromkeys(groups, 0)
    merged: list[T] = []
    while len(merged) < sum(len(g) for g in groups.values()):
        name = min(
            (n for n in sorted(groups) if taken[n] < len(groups[n])),
            key=lambda n: (taken[n] + 0.5) / len(groups[n]),
        )
        merged.append(groups[name][taken[name]])
        taken[name] += 1
    return merged


def spread_quota(sizes: dict[str, int], limit: int) -> dict[str, int]:
    """How many of each group to take: round robin over the groups until ``limit``."""
    quota = dict.fromkeys(sizes, 0)
    while sum(quota.values()) < min(limit, sum(sizes.values())):
        for name in sorted(sizes):
            if quota[name] < sizes[name] and sum(quota.values()) < limit:
                quota[name] += 1
    return quota


def evenly(items: Sequence[T], n: int) -> list[T]:
    """``n`` items spread evenly over ``items`` (order kept)."""
    if n >= len(items):
        return list(items)
    if n <= 0:
        return []
    step = len(items) / n
    return [items[int(i * step)] for i in range(n)]


# --------------------------------------------------------------------------- index, run loop


def model_slug(model: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", model)


def load_model(model: str) -> Embedder:
    from codeintel.indexer.embedder import load_embedder
    from codeintel.settings import EmbedSettings

    return load_embedder(EmbedSettings(model=model))


def build_index(root: Path, model: str, embedder: Embedder) -> tuple[Repository, dict[str, Any]]:
    """The repository's index brought up to date (incremental), and the build's summary."""
    from codeintel.errors import IndexMismatch
    from codeintel.indexer.repository import Repository
    from codeintel.settings import EmbedSettings, IndexSettings

    repo = Repository(root, IndexSettings(), EmbedSettings(model=model))
    try:
        report = repo.build(embed=True, embedder=embedder)
    except IndexMismatch:  # the worktree was last indexed with another model: start over
        report = repo.build(embed=True, rebuild=True, embedder=embedder)
    summary = {
        "files": report.files,
        "chunks": report.chunks,
        "pending": report.pending,
        "seconds": round(report.seconds, 2),
    }
    for name in ("embedded", "reused"):
        if hasattr(report, name):
            summary[name] = getattr(report, name)
    return repo, summary


def all_spans(repo: Repository, paths: Sequence[str]) -> list[Span]:
    """Every indexed chunk of ``paths`` as a span."""
    from codeintel.indexer.sql import sql_list

    if not paths:
        return []
    store = repo.open_store(check=False)
    table = store.chunks.to_table(
        columns=["path", "start_line", "end_line", "symbol", "kind"],
        filter=f"path IN ({sql_list(list(paths))})",
    )
    return [Span(**row) for row in table.to_pylist()]


def chunk_span(chunk: Chunk) -> Span:
    return Span(chunk.path, chunk.start_line, chunk.end_line, chunk.symbol, chunk.kind)


Evaluate = Callable[[Instance, Gold, "Repository", Path], dict[str, Any]]


def run(
    instances: Sequence[Instance],
    worktrees: Worktrees,
    model: str,
    benchmarks: dict[str, tuple[Path, Evaluate]],
    embedder: Embedder | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Evaluates every instance with every benchmark (name → (cache dir, evaluate)) on one
    checkout and build per instance. Cached results are reused; failures are recorded, not
    cached, and retried on the next run. Returns each benchmark's results, run order."""
    for cache_dir, _ in benchmarks.values():
        cache_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in benchmarks}
    started = time.perf_counter()
    for n, inst in enumerate(instances, start=1):
        todo = {}
        for name, (cache_dir, evaluate) in benchmarks.items():
            cached = cache_dir / f"{inst.instance_id}.json"
            if cached.exists():
                results[name].append(json.loads(cached.read_text()))
            else:
                todo[name] = (cached, evaluate)
        if not todo:
            continue
        gold = gold_of(inst)
        if not gold.files:
            for name, (cached, _) in todo.items():
                skipped = {"instance_id": inst.instance_id, "skipped": "no gold file"}
                cached.write_text(json.dumps(skipped))
                results[name].append(skipped)
            continue
        try:
            if embedder is None:
                embedder = load_model(model)
            t0 = time.perf_counter()
            root = worktrees.checkout(inst.repo, inst.base_commit)
            repo, build = build_index(root, model, embedder)
            build["wall_seconds"] = round(time.perf_counter() - t0, 2)
        except Exception as error:  # noqa: BLE001 - one failure must not stop the run
            log(f"[{n}/{len(instances)}] {inst.instance_id} FAILED to build: {error!r}")
            traceback.print_exc(file=sys.stderr)
            for name in todo:
                results[name].append({"instance_id": inst.instance_id, "error": repr(error)})
            continue
        for name, (cached, evaluate) in todo.items():
            try:
                result = {
                    "instance_id": inst.instance_id,
                    "repo": inst.repo,
                    "gold_files": list(gold.files),
                    "gold_sites": gold.n_sites,
                    "build": build,
                    **evaluate(inst, gold, repo, root),
                }
            except Exception as error:  # noqa: BLE001
                log(f"[{n}/{len(instances)}] {inst.instance_id} {name} FAILED: {error!r}")
                traceback.print_exc(file=sys.stderr)
                results[name].append({"instance_id": inst.instance_id, "error": repr(error)})
                continue
            cached.write_text(json.dumps(result))
            results[name].append(result)
        elapsed = time.perf_counter() - started
        log(
            f"[{n}/{len(instances)}] {inst.instance_id} build {build['wall_seconds']}s "
            f"({build['chunks']} chunks) elapsed {elapsed:.0f}s"
        )
    return results


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def scored(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Results that were evaluated (not skipped, not failed)."""
    return [r for r in results if "error" not in r and "skipped" not in r]


# --------------------------------------------------------------------------- CLI


def add_common_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the jsonl file")
    parser.add_argument("--limit", type=int, default=None, help="instances, spread over repos")
    parser.add_argument("--repos", nargs="*", default=None, help="owner/name ... (default all)")
    parser.add_argument("--ids", nargs="*", default=None, help="only these instance ids")
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help="embedding model (default: packaged MiniLM)"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    parser.add_argument(
        "--git-dir",
        action="append",
        default=[],
        metavar="OWNER/NAME=PATH",
        help="bare git dir of a repository (default: found under /work/.mirror)",
    )
    parser.add_argument("--mirrors", type=Path, default=DEFAULT_MIRRORS)
    parser.add_argument("--worktrees", type=Path, default=DEFAULT_WORKTREES)
    parser.add_argument("--report-only", action="store_true", help="use cached results only")


def setup(args: argparse.Namespace) -> tuple[list[Instance], Worktrees]:
    git_dirs = discover_mirrors(args.mirrors)
    for item in args.git_dir:
        repo, _, path = item.partition("=")
        git_dirs[repo] = Path(path)
    worktrees = Worktrees(git_dirs, args.worktrees)
    instances = select(load_instances(args.eval), worktrees, args.repos, args.limit, args.ids)
    missing = sorted({i.repo for i in load_instances(args.eval)} - set(git_dirs))
    if missing:
        log(f"no git dir for {', '.join(missing)}: their instances are left out")
    return instances, worktrees


def cached_only(instances: Sequence[Instance], cache_dir: Path) -> list[dict[str, Any]]:
    out = []
    for inst in instances:
        path = cache_dir / f"{inst.instance_id}.json"
        if path.exists():
            out.append(json.loads(path.read_text()))
    return out


def results_of(
    name: str,
    args: argparse.Namespace,
    make_evaluator: Callable[[Embedder], Evaluate],
) -> list[dict[str, Any]]:
    """One benchmark's per-instance results: cached ones with ``--report-only``, else a run."""
    instances, worktrees = setup(args)
    cache_dir = args.out / name / model_slug(args.model)
    if args.report_only:
        return cached_only(instances, cache_dir)
    embedder = load_model(args.model)
    log(f"{len(instances)} instances, model {args.model}")
    evaluate = make_evaluator(embedder)
    return run(instances, worktrees, args.model, {name: (cache_dir, evaluate)}, embedder)[name]


def publish(
    name: str,
    args: argparse.Namespace,
    summary: dict[str, Any],
    results: list[dict[str, Any]],
    table: Callable[[dict[str, Any]], str],
    plot: Callable[[dict[str, Any], Path], None],
) -> None:
    """Writes ``out/<name>_<model>.json`` and its plot, and prints the table."""
    summary["model"] = args.model
    stem = args.out / f"{name}_{model_slug(args.model)}"
    stem.with_suffix(".json").write_text(json.dumps({"summary": summary, "results": results}))
    if summary["instances"]:
        plot(summary, stem.with_suffix(".png"))
    print(table(summary))
    print(f"wrote {stem}.json and {stem}.png")


def pct(value: float) -> str:
    return "  n/a" if math.isnan(value) else f"{100 * value:5.1f}"
