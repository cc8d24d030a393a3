"""Indexing speed: the lexical phase, the embedding phase, re-indexing one change, no-op.

Works on a copy of a source tree (default: this interpreter's standard library, without
``site-packages``), so mtimes can move and the index folder can be written, with an empty
embedding cache (``CODEINTEL_CACHE_DIR`` points at a fresh temp folder).

1. Lexical phase: ``build(embed=False)`` of the whole copy; files, MB, chunks and their rates.
2. Embedding phase: a second root holding whole files that total about ``--embed-sample``
   chunks, built with ``embed=True`` (fresh cache each time); chunks/s of ``embed_seconds``,
   interleaved with sentence-transformers' own ``model.encode(texts, batch_size=64)`` on the
   exact texts the pipeline embeds, with the same loaded model, and their ratio.
3. Re-index after changing one file (a function appended), warm embedder: the build's
   ``seconds`` until the change is searchable with its vectors; median and max of repeats.
   Also for the whole copy's lexical index (discovery cost grows with the repository).
4. Unchanged rebuild: nothing embedded (asserted), its seconds.

MB are 10^6 bytes of files read and chunked. Timings on a shared machine are noisy: the
embedding ratio is measured side by side (interleaved), which is the robust number.

Run: ``python -m benchmarks.index_speed [--root DIR] [--embed-sample N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from codeintel.indexer.embed_text import embedding_text
from codeintel.indexer.embedder import Embedder, load_embedder
from codeintel.indexer.pipeline import BuildReport
from codeintel.indexer.repository import Repository
from codeintel.settings import EmbedSettings, IndexSettings

MB = 1_000_000
TARGET_LEXICAL_MB_S = 5.0
TARGET_EMBED_CHUNKS_S = 20.0
TARGET_EMBED_VS_RAW = 1.3  # pipeline chunks/s ÷ raw encode chunks/s, at least
TARGET_COSINE = 0.999  # the pipeline's vectors against the raw fp32 encode's, at worst
TARGET_REINDEX_S = 1.5
RAW_BATCH_SIZE = 64

_SKIP_DIRS = {"site-packages", "__pycache__", ".git", ".codeintel", ".venv", "node_modules"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}
_COPY_MAX_BYTES = 2_000_000  # bigger files (libpython.a, bundled wheels) are skipped anyway


@dataclass
class Phase:
    """One measured phase, with its rates."""

    name: str
    files: int
    bytes: int
    chunks: int
    seconds: float

    @property
    def files_s(self) -> float:
        return self.files / self.seconds if self.seconds else 0.0

    @property
    def mb_s(self) -> float:
        return self.bytes / MB / self.seconds if self.seconds else 0.0

    @property
    def chunks_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "mb": round(self.bytes / MB, 3),
            "seconds": round(self.seconds, 3),
            "files_per_s": round(self.files_s, 2),
            "mb_per_s": round(self.mb_s, 3),
            "chunks_per_s": round(self.chunks_s, 2),
        }


@dataclass
class Results:
    machine: dict[str, Any] = field(default_factory=dict)
    copy: dict[str, Any] = field(default_factory=dict)
    phases: list[Phase] = field(default_factory=list)
    lexical_build: dict[str, Any] = field(default_factory=dict)
    embed: dict[str, Any] = field(default_factory=dict)
    reindex: dict[str, Any] = field(default_factory=dict)
    unchanged: dict[str, Any] = field(default_factory=dict)
    targets: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "phases"}
        data["phases"] = [phase.to_json() for phase in self.phases]
        return data


# -- setup -------------------------------------------------------------------------------


def copy_tree(source: Path, dest: Path) -> tuple[int, int]:
    """Copy ``source`` to ``dest`` without caches, virtualenvs, indexes and huge files."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(name for name in dirnames if name not in _SKIP_DIRS)
        here = Path(dirpath)
        target = dest / here.relative_to(source)
        target.mkdir(parents=True, exist_ok=True)
        for name in filenames:
            src = here / name
            if src.suffix in _SKIP_SUFFIXES or src.is_symlink() or not src.is_file():
                continue
            length = src.stat().st_size
            if length > _COPY_MAX_BYTES:
                continue
            shutil.copyfile(src, target / name)
            files, size = files + 1, size + length
    return files, size


def chunk_counts(repo: Repository) -> dict[str, int]:
    """path → number of chunks, for every indexed file."""
    table = repo.open_store(check=False).files.to_table().select(["path", "chunk_ids"])
    paths = table.column("path").to_pylist()
    ids = table.column("chunk_ids").to_pylist()
    return {path: len(chunk_ids or []) for path, chunk_ids in zip(paths, ids, strict=True)}


def _is_test(path: str) -> bool:
    parts = path.split("/")
    return any(part in {"test", "tests", "idle_test"} for part in parts[:-1]) or parts[
        -1
    ].startswith("test_")


def pick_sample(counts: dict[str, int], target: int, seed: int) -> list[str]:
    """Whole Python files (not tests, 3..150 chunks each) totalling about ``target`` chunks."""
    pool = [
        path
        for path, count in sorted(counts.items())
        if path.endswith(".py") and 3 <= count <= 150 and not _is_test(path)
    ]
    if not pool:  # a tree without such Python files: take any file with chunks
        pool = [path for path, count in sorted(counts.items()) if count]
    random.Random(seed).shuffle(pool)
    chosen: list[str] = []
    total = 0
    for path in pool:
        if total >= target:
            break
        if total + counts[path] > target * 1.05 and total >= target * 0.9:
            continue
        chosen.append(path)
        total += counts[path]
    return sorted(chosen)


def fresh_cache(base: Path, name: str) -> Path:
    """Point CODEINTEL_CACHE_DIR at a new, empty folder (the embedding cache starts empty)."""
    folder = base / name
    folder.mkdir(parents=True)
    os.environ["CODEINTEL_CACHE_DIR"] = str(folder)
    return folder


def pipeline_texts(repo: Repository) -> list[str]:
    """The exact texts the pipeline embeds, rebuilt from the store's rows."""
    columns = ["path", "kind", "symbol", "signature", "text"]
    rows = repo.open_store().chunks.to_table(columns=columns).to_pylist()
    return [embedding_text(r["kind"], r["symbol"], r["signature"], r["text"]) for r in rows]


def raw_encode_seconds(embedder: Embedder, texts: list[str]) -> tuple[float, float]:
    """(wall, process CPU) seconds of sentence-transformers' own batched encode (fp32)."""
    model = embedder._model  # type: ignore[attr-defined]  # the SentenceTransformer
    started, cpu = time.perf_counter(), time.process_time()
    model.encode(texts, batch_size=RAW_BATCH_SIZE, show_progress_bar=False)
    return time.perf_counter() - started, time.process_time() - cpu


def worst_cosine(embedder: Embedder, texts: list[str]) -> float:
    """The lowest cosine between the pipeline embedder's vectors and the raw fp32 encode's."""
    model = embedder._model  # type: ignore[attr-defined]
    raw = model.encode(
        texts, batch_size=RAW_BATCH_SIZE, show_progress_bar=False, normalize_embeddings=True
    )
    return float((embedder.embed(texts) * raw).sum(axis=1).min())


def append_function(path: Path, serial: int) -> str:
    """Append one new function to ``path``; its name, to look the change up afterwards."""
    name = f"bench_added_function_{serial}"
    with path.open("a", encoding="utf-8") as handle:
        handle.write(
            f"\n\ndef {name}(values: list[int]) -> int:\n"
            f'    """Sum the squares of values (benchmark edit {serial})."""\n'
            f"    return sum(value * value for value in values) + {serial}\n"
        )
    return name


def searchable_with_vector(repo: Repository, symbol: str) -> bool:
    table = repo.open_store().chunks
    found = table.count_rows(f"symbol = '{symbol}'")
    pending = table.count_rows(f"symbol = '{symbol}' AND vector IS NULL")
    return bool(found) and not pending


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "runs": [round(v, 3) for v in values],
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
        "min": round(min(values), 3),
    }


def report_json(report: BuildReport) -> dict[str, Any]:
    data = report.to_json()
    data.pop("languages", None)
    return data


# -- phases ------------------------------------------------------------------------------


def lexical_phase(repo: Repository, results: Results) -> BuildReport:
    report = repo.build(embed=False, rebuild=True)
    results.lexical_build = report_json(report)
    results.lexical_build["languages"] = dict(list(report.languages.items())[:10])
    results.phases.append(
        Phase(
            "lexical (whole build)",
            report.changed,
            report.bytes_indexed,
            report.chunks,
            report.seconds,
        )
    )
    results.phases.append(
        Phase(
            "lexical (lexical_seconds)",
            report.changed,
            report.bytes_indexed,
            report.chunks,
            report.lexical_seconds,
        )
    )
    return report


def embed_phase(
    sample: Repository,
    embedder: Embedder,
    caches: Path,
    repeats: int,
    results: Results,
) -> None:
    """Pipeline builds (fresh cache each) interleaved with raw encodes of the same texts."""
    pipeline: list[BuildReport] = []
    pipeline_cpu: list[float] = []
    raw: list[float] = []
    raw_cpu: list[float] = []
    texts: list[str] = []
    for attempt in range(repeats):
        fresh_cache(caches, f"embed-{attempt}")
        cpu = time.process_time()
        report = sample.build(embed=True, rebuild=True, embedder=embedder)
        pipeline_cpu.append(time.process_time() - cpu)
        assert report.pending == 0, f"{report.pending} chunks left without vectors"
        pipeline.append(report)
        if not texts:
            # The pipeline embeds each distinct text once (identical chunks share a vector),
            # so the raw encode gets the same distinct texts.
            texts = list(dict.fromkeys(pipeline_texts(sample)))
        assert report.embedded == len(texts), (report.embedded, len(texts))
        wall, cpu = raw_encode_seconds(embedder, texts)
        raw.append(wall)
        raw_cpu.append(cpu)
        rate = report.embedded / report.embed_seconds
        print(
            f"  embed round {attempt + 1}/{repeats}: pipeline {rate:.1f}"
            f" chunks/s ({report.embed_seconds:.1f}s), raw encode"
            f" {len(texts) / raw[-1]:.1f} chunks/s ({raw[-1]:.1f}s)",
            flush=True,
        )
    best = min(pipeline, key=lambda r: r.embed_seconds)
    pipe_rates = [r.embedded / r.embed_seconds for r in pipeline]
    raw_rates = [len(texts) / seconds for seconds in raw]
    ratios = [p / r for p, r in zip(pipe_rates, raw_rates, strict=True)]
    results.phases.append(
        Phase(
            "embedding (pipeline)",
            best.changed,
            best.bytes_indexed,
            best.embedded,
            best.embed_seconds,
        )
    )
    results.phases.append(
        Phase("embedding (raw encode)", best.changed, best.bytes_indexed, len(texts), min(raw))
    )
    results.embed = {
        "sample_files": best.changed,
        "sample_chunks": best.chunks,
        "text_chars": sum(len(t) for t in texts),
        "pipeline_chunks_per_s": [round(v, 2) for v in pipe_rates],
        "pipeline_embed_seconds": [round(r.embed_seconds, 3) for r in pipeline],
        "pipeline_build_seconds": [round(r.seconds, 3) for r in pipeline],
        "raw_chunks_per_s": [round(v, 2) for v in raw_rates],
        "raw_seconds": [round(v, 3) for v in raw],
        "ratio_pipeline_over_raw": [round(v, 3) for v in ratios],
        "ratio_median": round(statistics.median(ratios), 3),
        "pipeline_chunks_per_s_median": round(statistics.median(pipe_rates), 2),
        "raw_chunks_per_s_median": round(statistics.median(raw_rates), 2),
        "raw_batch_size": RAW_BATCH_SIZE,
        "cosine_min_vs_raw": round(worst_cosine(embedder, texts), 6),
        # process CPU seconds: less sensitive to other processes than wall time; the
        # pipeline's figure covers its whole build (lexical part included, small here)
        "pipeline_build_cpu_seconds": [round(v, 3) for v in pipeline_cpu],
        "raw_cpu_seconds": [round(v, 3) for v in raw_cpu],
        "cpu_ratio_raw_over_pipeline": [
            round(r / p, 3) for r, p in zip(raw_cpu, pipeline_cpu, strict=True)
        ],
    }


def reindex_sample(
    sample: Repository, embedder: Embedder, victim: str, repeats: int, start: int
) -> tuple[list[float], list[dict[str, Any]]]:
    seconds: list[float] = []
    reports: list[dict[str, Any]] = []
    for serial in range(start, start + repeats):
        name = append_function(sample.root / victim, serial)
        report = sample.build(embed=True, embedder=embedder)
        assert report.changed == 1, report.to_json()
        assert report.embedded >= 1, report.to_json()
        assert searchable_with_vector(sample, name), f"{name} not searchable with a vector"
        seconds.append(report.seconds)
        reports.append(report_json(report))
    return seconds, reports


def reindex_lexical(
    repo: Repository, victim: str, repeats: int, start: int
) -> tuple[list[float], list[dict[str, Any]]]:
    seconds: list[float] = []
    reports: list[dict[str, Any]] = []
    for serial in range(start, start + repeats):
        name = append_function(repo.root / victim, serial)
        report = repo.build(embed=False)
        assert report.changed == 1, report.to_json()
        assert repo.open_store().chunks.count_rows(filter=f"symbol = '{name}'"), name
        seconds.append(report.seconds)
        reports.append(report_json(report))
    return seconds, reports


# -- output ------------------------------------------------------------------------------


def verdict(value: float, target: float, higher_is_better: bool) -> dict[str, Any]:
    passed = value >= target if higher_is_better else value <= target
    return {
        "value": round(value, 3),
        "target": target,
        "op": ">=" if higher_is_better else "<=",
        "pass": passed,
    }


def print_table(results: Results) -> None:
    print()
    header = f"{'phase':<28}{'files':>7}{'MB':>8}{'chunks':>8}{'seconds':>9}"
    header += f"{'files/s':>9}{'MB/s':>8}{'chunks/s':>10}"
    print(header)
    print("-" * len(header))
    for p in results.phases:
        print(
            f"{p.name:<28}{p.files:>7}{p.bytes / MB:>8.2f}{p.chunks:>8}{p.seconds:>9.2f}"
            f"{p.files_s:>9.1f}{p.mb_s:>8.2f}{p.chunks_s:>10.1f}"
        )
    print()
    e = results.embed
    print(
        f"embedding, pipeline ÷ raw encode (interleaved rounds): {e['ratio_pipeline_over_raw']}"
        f"  median {e['ratio_median']}; worst cosine to it {e['cosine_min_vs_raw']}"
    )
    print(
        "embedding, raw encode CPU s ÷ pipeline build CPU s (same rounds):"
        f" {e['cpu_ratio_raw_over_pipeline']}"
    )
    r = results.reindex
    for key, label in (
        ("sample_embed", "re-index 1 changed file, sample, embed=True (s)"),
        ("whole_lexical", "re-index 1 changed file, whole tree, embed=False (s)"),
    ):
        print(f"{label:<56} median {r[key]['median']:.3f}  max {r[key]['max']:.3f}")
    u = results.unchanged
    print(
        f"{'unchanged rebuild, sample, embed=True (s)':<56} {u['sample_seconds']:.3f}"
        f"  embedded={u['sample_embedded']}"
    )
    print(f"{'unchanged rebuild, whole tree, embed=False (s)':<56} {u['whole_seconds']:.3f}")
    print()
    for name, t in results.targets.items():
        mark = "PASS" if t["pass"] else "FAIL"
        print(f"  [{mark}] {name}: {t['value']} {t['op']} {t['target']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--embed-sample", type=int, default=1500, help="chunks to embed")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved embedding rounds")
    parser.add_argument("--reindex-repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"{args.root} is not a directory")

    work = Path(tempfile.mkdtemp(prefix="codeintel-index-speed-"))
    caches = work / "caches"
    fresh_cache(caches, "lexical")
    results = Results(
        machine={
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "note": "shared machine: absolute timings are noisy; compare the ratios",
        }
    )
    try:
        whole_root, sample_root = work / "tree", work / "sample"
        started = time.perf_counter()
        files, size = copy_tree(args.root, whole_root)
        results.copy = {
            "source": str(args.root),
            "files": files,
            "mb": round(size / MB, 2),
            "seconds": round(time.perf_counter() - started, 2),
        }
        print(f"copied {files} files ({size / MB:.1f} MB) of {args.root} to {whole_root}")

        index, embed = IndexSettings(), EmbedSettings()
        whole = Repository(whole_root, index, embed)
        print("lexical phase: build(embed=False) of the whole copy ...", flush=True)
        lexical = lexical_phase(whole, results)
        print(f"  {lexical.changed} files, {lexical.chunks} chunks in {lexical.seconds:.1f}s")

        counts = chunk_counts(whole)
        chosen = pick_sample(counts, args.embed_sample, args.seed)
        for path in chosen:
            (sample_root / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(whole_root / path, sample_root / path)
        sample = Repository(sample_root, index, embed)
        print(
            f"embedding sample: {len(chosen)} files, ~{sum(counts[p] for p in chosen)} chunks",
            flush=True,
        )

        started = time.perf_counter()
        embedder = load_embedder(embed)
        load_seconds = time.perf_counter() - started
        raw_encode_seconds(embedder, ["def warm_up(): pass"] * 8)  # first-call overheads
        print(f"embedding phase ({args.repeats} interleaved rounds) ...", flush=True)
        embed_phase(sample, embedder, caches, args.repeats, results)
        results.embed["model_load_seconds"] = round(load_seconds, 3)

        victim = max(chosen, key=lambda p: (counts[p], p)) if chosen else ""
        print(f"re-index after appending a function to {victim} ...", flush=True)
        sample_s, sample_reports = reindex_sample(sample, embedder, victim, args.reindex_repeats, 0)
        whole_victim = "os.py" if "os.py" in counts else victim
        whole_s, whole_reports = reindex_lexical(whole, whole_victim, args.reindex_repeats, 100)
        results.reindex = {
            "sample_victim": victim,
            "whole_victim": whole_victim,
            "sample_embed": summary(sample_s),
            "whole_lexical": summary(whole_s),
            "sample_reports": sample_reports,
            "whole_reports": whole_reports,
        }

        print("unchanged rebuilds ...", flush=True)
        same = sample.build(embed=True, embedder=embedder)
        assert same.embedded == 0, f"unchanged rebuild embedded {same.embedded} chunks"
        assert same.changed == 0, same.to_json()
        same_whole = whole.build(embed=False)
        assert same_whole.changed == 0, same_whole.to_json()
        results.unchanged = {
            "sample_seconds": round(same.seconds, 3),
            "sample_embedded": same.embedded,
            "sample_report": report_json(same),
            "whole_seconds": round(same_whole.seconds, 3),
            "whole_report": report_json(same_whole),
        }

        lex = results.phases[0]
        e = results.embed
        results.targets = {
            "lexical MB/s (whole build)": verdict(lex.mb_s, TARGET_LEXICAL_MB_S, True),
            "embedding chunks/s (pipeline, median)": verdict(
                e["pipeline_chunks_per_s_median"], TARGET_EMBED_CHUNKS_S, True
            ),
            "embedding pipeline ÷ raw encode (median)": verdict(
                e["ratio_median"], TARGET_EMBED_VS_RAW, True
            ),
            "embedding worst cosine to the raw fp32 encode": verdict(
                e["cosine_min_vs_raw"], TARGET_COSINE, True
            ),
            "re-index 1 file, sample, embed=True, median s": verdict(
                results.reindex["sample_embed"]["median"], TARGET_REINDEX_S, False
            ),
            "re-index 1 file, sample, embed=True, max s": verdict(
                results.reindex["sample_embed"]["max"], TARGET_REINDEX_S, False
            ),
            "re-index 1 file, whole tree, embed=False, median s": verdict(
                results.reindex["whole_lexical"]["median"], TARGET_REINDEX_S, False
            ),
            "unchanged rebuild embeds nothing": verdict(same.embedded, 0, False),
        }
        print_table(results)
        args.out.mkdir(parents=True, exist_ok=True)
        out = args.out / "index_speed.json"
        out.write_text(json.dumps(results.to_json(), indent=2) + "\n")
        print(f"\nwrote {out}")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
