"""Search latency: retrieval only (model already loaded), on an index of 50k+ chunks.

The index is a copy of this interpreter's standard library (without ``site-packages``),
about 65k chunks, embedded with ``hashing:384``: vectors of MiniLM's dimension, so the
vector stage does MiniLM-sized work, without the ~15 minutes MiniLM needs to embed 65k
chunks on a CPU. It is built through the public API (``Workspace.build``). Queries go
through ``Searcher.search(k=10)`` with that embedder, so each timing includes the
(microseconds) hashing of the query. MiniLM's own single-query ``embed`` time is measured
apart, with the model loaded once: the latency with MiniLM is retrieval + encode.

Stages: after each timed query, its pieces are run again one by one through their public
methods and timed apart (nothing in the Searcher is replaced): ``encode`` (the embedder),
``bm25``, ``symbol``, ``path``, ``frame`` (``searcher.lexical``), ``vector`` (question and
emphasis vectors), ``files`` (the whole-file BM25 the file signal orders by),
``rankings`` (every signal's list, file, graph and focus included: ``Searcher.rankings``),
``graph`` (the neighbourhood of the fused top hits), ``rank`` (fusion and priors:
``codeintel.retrieval.rank.rank``) and ``fetch`` (``searcher.catalogue.fetch`` of the top
k). The stages overlap (``rankings`` holds most of the others), so they do not add up to
the retrieval time; ``retrieval`` minus ``rankings`` is ranking, fetch and remapping.

``--without SIGNAL`` (repeatable) also times, side by side in the same passes (query by
query, alternating), a Searcher with those signals' weights at 0, and prints the ratio:
the cost of the file and focus lists, which have no public method of their own.

Run from the repository root: ``python -m benchmarks.search_latency [--work DIR]
[--repeats N] [--no-minilm] [--without file --without focus ...] [--root DIR
--min-chunks N]``. ``--work`` keeps the copied tree and its index between runs (built only
when missing); ``--root`` indexes a copy of another tree (a quick check on a small one
needs ``--min-chunks 0``).
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import random
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from codeintel import Workspace
from codeintel.indexer.embedder import load_embedder
from codeintel.retrieval.priors import file_prior
from codeintel.retrieval.query import parse_query
from codeintel.retrieval.rank import fuse, rank
from codeintel.retrieval.search import Searcher
from codeintel.settings import EmbedSettings, RetrievalSettings

T = TypeVar("T")

TARGET_P50_MS = 50.0
TARGET_P95_MS = 150.0
MIN_CHUNKS = 50_000
MODEL = "hashing:384"

_SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".codeintel", "idlelib", "turtledemo"}
_SKIP_SUFFIXES = {".pyc", ".pyo", ".so", ".a", ".whl", ".exe", ".png", ".gif", ".ico"}
_COPY_MAX_BYTES = 1_000_000
_STDLIB = Path(sysconfig.get_paths()["stdlib"])

IDENTIFIERS = [
    "JSONDecoder.raw_decode",
    "urlsplit",
    "SequenceMatcher",
    "ThreadPoolExecutor.submit",
    "getaddrinfo",
    "TemporaryDirectory",
    "OrderedDict.move_to_end",
    "parse_qsl",
    "HTTPConnection.request",
    "Popen.communicate",
    "shutil.copytree",
    "_find_and_load",
    "Decimal.quantize",
    "make_dataclass",
    "lru_cache",
    "TextIOWrapper",
    "fnmatchcase",
    "ArgumentParser.add_argument",
    "get_terminal_size",
    "contextmanager",
    "ZipFile.extractall",
    "Fraction.limit_denominator",
    "normalize_encoding",
    "Template.safe_substitute",
    "SSLContext.load_cert_chain",
]
PROSE = [
    "how does the json decoder report the position of a syntax error",
    "parse a url into scheme host and path",
    "copy a directory tree while ignoring some files",
    "where are http response headers read from the socket",
    "compute the longest common subsequence of two lists of lines",
    "wait for a child process with a timeout and kill it",
    "convert a date string in ISO format to a datetime",
    "cache the results of a function with least recently used eviction",
    "create a temporary file that is deleted when closed",
    "find the best rational approximation of a float",
    "read a zip archive and extract all members",
    "how is the event loop selected on windows",
    "escape special characters in a regular expression",
    "quote a string for use in a shell command",
    "walk an abstract syntax tree and transform nodes",
    "pretty print nested data structures with indentation",
    "compare two floating point numbers for approximate equality",
    "decode base64 with url safe alphabet",
    "send an email over smtp with starttls",
    "log records rotated when the file gets too large",
    "thread safe queue with priorities",
    "generate a random password with secrets",
    "locale aware string comparison",
    "detect the encoding declaration in a python source file",
    "format a traceback with chained exceptions",
]
MIXED = [
    "why does urlsplit keep the fragment when allow_fragments is false",
    "TemporaryDirectory cleanup fails on read only files",
    "SequenceMatcher get_opcodes returns replace instead of insert",
    "heapq.merge with a key function",
    "Popen with shell=True and a list of args on posix",
    "json.dumps sort_keys with mixed key types raises TypeError",
    "asyncio.wait_for cancels the inner task on timeout",
    "csv.DictReader restkey when a row has extra fields",
    "ThreadPoolExecutor shutdown cancel_futures",
    "pathlib Path.glob with recursive pattern",
]
PATHS = [
    "json/decoder.py",
    "what does http/client.py do",
    "urllib/parse.py quoting",
    "asyncio/tasks.py gather",
    "email/message.py get_payload",
    "logging/handlers.py",
    "concurrent/futures/thread.py",
    "difflib.py",
    "shutil.py rmtree onerror",
    "importlib/_bootstrap.py",
]


def tracebacks(root: Path) -> list[str]:
    """Tracebacks whose frames name real lines of the copied files (none for a tree
    without those standard-library files)."""
    frames = [
        ("json/decoder.py", "raw_decode", "raise JSONDecodeError"),
        ("json/__init__.py", "loads", "return _default_decoder.decode"),
        ("urllib/parse.py", "urlsplit", "raise ValueError"),
        ("subprocess.py", "communicate", "self._check_timeout"),
        ("shutil.py", "copytree", "return _copytree"),
    ]
    if not all((root / path).is_file() for path, _, _ in frames):
        return []
    located = []
    for path, function, needle in frames:
        lines = (root / path).read_text(encoding="utf-8").splitlines()
        line = next((i for i, text in enumerate(lines, 1) if needle in text), 1)
        located.append(f'  File "/usr/lib/python3.11/{path}", line {line}, in {function}')
    return [
        "Traceback (most recent call last):\n" + "\n".join(located[:2]) + "\nJSONDecodeError: x",
        "Traceback (most recent call last):\n" + located[2] + "\nValueError: Invalid IPv6 URL",
        "Traceback (most recent call last):\n" + located[3] + "\nTimeoutExpired: 'sleep'",
        "Traceback (most recent call last):\n" + located[4] + "\nFileExistsError: [Errno 17]",
    ]


def copy_tree(source: Path, dest: Path) -> None:
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if any(part in _SKIP_DIRS for part in rel.parts) or not path.is_file():
            continue
        if path.suffix in _SKIP_SUFFIXES or path.is_symlink():
            continue
        if path.stat().st_size > _COPY_MAX_BYTES:
            continue
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def prepare(work: Path, source: Path, min_chunks: int) -> Workspace:
    """A copy of ``source`` under ``work``, indexed (incrementally: a kept ``--work``
    builds only what is missing)."""
    root = work / ("stdlib" if source == _STDLIB else "tree")
    if not root.is_dir():
        print(f"copying {source} to {root}", flush=True)
        copy_tree(source, root)
    workspace = Workspace.open(root, embed_model=MODEL, embed_cache_dir=str(work / "embed-cache"))
    started = time.perf_counter()
    report = workspace.build()
    print(
        f"index: {report.files} files, {report.chunks} chunks, {report.pending} pending "
        f"({report.changed} changed this run, {time.perf_counter() - started:.1f}s)",
        flush=True,
    )
    if report.chunks < min_chunks:
        sys.exit(f"only {report.chunks} chunks; the benchmark needs {min_chunks}")
    return workspace


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def timed(stages: dict[str, float], name: str, call: Callable[[], T]) -> T:
    """``call()``, its milliseconds added to ``stages[name]``."""
    started = time.perf_counter()
    try:
        return call()
    finally:
        stages[name] = stages.get(name, 0.0) + (time.perf_counter() - started) * 1000


def stage_timings(searcher: Searcher, query: str, k: int) -> dict[str, float]:
    """Milliseconds of each stage of ``query``, every one run apart through its public
    method, with the arguments ``Searcher.search`` gives it (no filters)."""
    stages: dict[str, float] = {}
    settings, lexical, n = searcher.settings, searcher.lexical, searcher.settings.candidates
    parsed = parse_query(query)
    embedder = searcher.embedder
    vectors = []
    if embedder is not None:
        vectors.append(timed(stages, "encode", lambda: embedder.embed([parsed.text])[0]))
        if parsed.emphasis and settings.weight_emphasis > 0:
            vectors.append(timed(stages, "encode", lambda: embedder.embed([parsed.emphasis])[0]))
    terms = parsed.terms
    timed(stages, "bm25", lambda: lexical.bm25(terms, n))
    timed(stages, "symbol", lambda: lexical.defining(parsed.identifiers, parsed.dotted, n))
    named = timed(
        stages,
        "path",
        lambda: (
            lexical.resolve_paths(parsed.paths)
            + lexical.resolve_paths(parsed.module_paths, min_parts=2)
        ),
    )
    timed(stages, "path", lambda: lexical.in_files(named, terms, n))
    timed(stages, "frame", lambda: lexical.at_lines(parsed.frames, None, searcher.remapper))
    for vector in vectors:
        timed(stages, "vector", functools.partial(searcher.vector.search, vector, n))
    if settings.weight_file > 0:
        timed(stages, "files", lambda: lexical.bm25_files(terms, n))
    ranked = timed(stages, "rankings", lambda: searcher.rankings(query))
    pending = searcher.vector.pending() if vectors else frozenset[str]()
    if "graph" in ranked:
        base = {s: ids for s, ids in ranked.items() if s not in ("graph", "focus")}
        fused = fuse(base, settings.weights(), settings.rrf_k, pending)
        seeds = {hit.id: hit.score for hit in fused[: settings.graph_seeds]}
        timed(stages, "graph", lambda: searcher.graph.neighbourhood(seeds))
    path_of = searcher.catalogue.path_of()
    languages = searcher.catalogue.languages

    @functools.cache
    def prior(path: str) -> float:  # the Searcher keeps its priors by path too
        return file_prior(path, languages.get(path, ""), settings)

    for path in languages:
        prior(path)

    def prior_of(chunk_id: str) -> float:
        return prior(path_of.get(chunk_id, ""))

    hits = timed(stages, "rank", lambda: rank(ranked, settings, prior_of, pending))
    timed(stages, "fetch", lambda: searcher.catalogue.fetch([hit.id for hit in hits[:k]]))
    return stages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=None, help="keep the tree and index here")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the queries")
    parser.add_argument("--no-minilm", action="store_true", help="skip MiniLM's encode timing")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--without", action="append", default=[], metavar="SIGNAL", help="compare, weight 0"
    )
    parser.add_argument("--root", type=Path, default=_STDLIB, help="tree to copy and index")
    parser.add_argument("--min-chunks", type=int, default=MIN_CHUNKS, help="index at least")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")
    work = args.work or Path(tempfile.mkdtemp(prefix="codeintel-search-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    workspace = prepare(work, args.root.resolve(), args.min_chunks)
    repo = workspace.repository
    embedder = load_embedder(workspace.settings.embed)
    queries = IDENTIFIERS + PROSE + MIXED + PATHS + tracebacks(workspace.root)
    random.Random(7).shuffle(queries)

    started = time.perf_counter()
    searcher = Searcher(repo, RetrievalSettings(), embedder)
    open_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    searcher.search(queries[0], k=10)  # first query loads the vectors (once per Searcher)
    first_ms = (time.perf_counter() - started) * 1000

    without = None
    if args.without:
        zeroed = {f"weight_{signal}": 0.0 for signal in args.without}
        without = Searcher(repo, RetrievalSettings(**zeroed), embedder)
        without.search(queries[0], k=10)
    stages: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    without_totals: list[float] = []
    by_kind: dict[str, list[float]] = defaultdict(list)
    kinds = {q: "identifier" for q in IDENTIFIERS} | {q: "prose" for q in PROSE}
    kinds |= {q: "mixed" for q in MIXED} | {q: "path" for q in PATHS}
    for _ in range(args.repeats):
        for query in queries:
            started = time.perf_counter()
            results = searcher.search(query, k=10)
            elapsed = (time.perf_counter() - started) * 1000
            for name, ms in stage_timings(searcher, query, 10).items():
                stages[name].append(ms)
            assert all(r.signals for r in results)
            totals.append(elapsed)
            by_kind[kinds.get(query, "traceback")].append(elapsed)
            if without is not None:
                started = time.perf_counter()
                without.search(query, k=10)
                without_totals.append((time.perf_counter() - started) * 1000)

    encode: list[float] = []
    if not args.no_minilm:
        minilm = load_embedder(EmbedSettings())
        minilm.embed(["warm up"])
        for query in queries:
            started = time.perf_counter()
            minilm.embed([query])
            encode.append((time.perf_counter() - started) * 1000)

    status = workspace.status()
    p50, p95 = statistics.median(totals), percentile(totals, 0.95)
    print()
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(
        f"index: {status.chunks} chunks, {status.files} files, vectors {MODEL} "
        "(MiniLM's dimension, hashing instead of MiniLM so the build takes minutes, not 15+)"
    )
    print(f"queries: {len(queries)} distinct x {args.repeats} passes = {len(totals)}, k=10")
    print(f"open Searcher {open_ms:.0f} ms; first query (loads vectors) {first_ms:.0f} ms")
    print()
    print(f"{'stage':<12}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}")
    rows = [("retrieval", totals)] + sorted(stages.items())
    for name, values in rows:
        print(
            f"{name:<12}{statistics.median(values):>10.1f}{percentile(values, 0.95):>10.1f}"
            f"{statistics.fmean(values):>10.1f}"
        )
    print()
    for kind, values in sorted(by_kind.items()):
        p50_kind, p95_kind = statistics.median(values), percentile(values, 0.95)
        print(f"  {kind:<12} p50 {p50_kind:6.1f} ms   p95 {p95_kind:6.1f} ms")
    verdict = "met" if p50 <= TARGET_P50_MS and p95 <= TARGET_P95_MS else "MISSED"
    print(
        f"\nretrieval p50 {p50:.1f} ms (target {TARGET_P50_MS:.0f}), p95 {p95:.1f} ms "
        f"(target {TARGET_P95_MS:.0f}): {verdict}"
    )
    if without_totals:
        w50, w95 = statistics.median(without_totals), percentile(without_totals, 0.95)
        print(
            f"side by side, without {', '.join(args.without)}: p50 {w50:.1f} ms, p95 {w95:.1f}"
            f" ms; with them {p50 / w50:.2f}x at p50, {p95 / w95:.2f}x at p95"
        )
    result: dict[str, Any] = {
        "chunks": status.chunks,
        "queries": len(totals),
        "p50_ms": p50,
        "p95_ms": p95,
        "stages": {n: statistics.median(v) for n, v in stages.items()},
    }
    if encode:
        e50, e95 = statistics.median(encode), percentile(encode, 0.95)
        print(f"MiniLM single-query encode: p50 {e50:.1f} ms, p95 {e95:.1f} ms")
        print(f"with MiniLM (retrieval + encode): p50 ~{p50 + e50:.1f} ms, p95 ~{p95 + e95:.1f} ms")
        result |= {"minilm_encode_p50_ms": e50, "minilm_encode_p95_ms": e95}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
