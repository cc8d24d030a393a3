"""Retrieval quality on SWE-bench Verified (dev set): hybrid vs BM25-only vs vector-only.

Per instance (see ``benchmarks/swebench.py`` for checkout, gold and caching) the query is the
``problem_statement``; each mode returns its top ``--depth`` chunks (default 100). Metrics:

- file Acc@k (k = 1, 3, 5): every gold file is among the first k *distinct files* of the
  ranking (files in order of their best chunk);
- function Acc@k (k = 5, 10): every gold *function unit* is among the first k distinct units
  of the ranking. A gold unit is the innermost chunk holding an edit site, identified as
  (path, symbol) for definitions (all parts of a split function are one unit) and as
  (path, kind@start_line) for module-level code, prose and line windows (no symbol);
- MRR: mean of 1 / rank of the first gold file among distinct files (0 if not in the top
  ``--depth`` chunks);
- latency: retrieval only (index open, model loaded); each query is run once cold and twice
  warm; p50/p95 over the warm runs.

Modes: hybrid (default ``RetrievalSettings``, embedder loaded); bm25 (every weight 0 but
BM25, no embedder); vector (every weight 0 but vector); title (hybrid, asked only the
issue's title: the short question a person types, against the same gold). "Every weight"
includes the second-pass ``focus`` and ``emphasis`` lists.

Run: ``python -m benchmarks.retrieval_quality [--limit N] [--repos ...] [--model M] [--out D]``.
Writes ``<out>/retrieval_quality_<model>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import swebench as sb

if TYPE_CHECKING:
    from codeintel.indexer.embedder import Embedder
    from codeintel.indexer.repository import Repository
    from codeintel.retrieval.search import Searcher, SearchResult

MODES = ("hybrid", "bm25", "vector", "title")
FILE_KS = (1, 3, 5)
FUNC_KS = (5, 10)
WARM_REPEATS = 2
_MODULE_LEVEL = re.compile(r"(code|lines|section)@\d+")


def searcher_for(mode: str, repo: Repository, embedder: Embedder, depth: int) -> Searcher:
    from codeintel.retrieval.search import Searcher
    from codeintel.settings import RetrievalSettings

    # every fusion weight, so a signal added later cannot leak into the single-signal modes
    zero = {f"weight_{signal}": 0.0 for signal in RetrievalSettings().weights()}
    if mode in ("hybrid", "title"):
        return Searcher(repo, RetrievalSettings(k=depth), embedder=embedder)
    if mode == "bm25":
        return Searcher(repo, RetrievalSettings(k=depth, **{**zero, "weight_bm25": 1.0}))
    return Searcher(
        repo, RetrievalSettings(k=depth, **{**zero, "weight_vector": 1.0}), embedder=embedder
    )


def evaluator(embedder: Embedder, depth: int) -> sb.Evaluate:
    from codeintel.retrieval.query import first_line

    def evaluate(inst: sb.Instance, gold: sb.Gold, repo: Repository, root: Path) -> dict[str, Any]:
        units = sb.gold_units(sb.all_spans(repo, gold.files), gold.edit_sites)
        out: dict[str, Any] = {"gold_units": sorted(map(list, units))}
        for mode in MODES:
            searcher = searcher_for(mode, repo, embedder, depth)
            query = inst.problem_statement
            if mode == "title":
                query = first_line(query)
            t0 = time.perf_counter()
            results = searcher.search(query, k=depth)
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(WARM_REPEATS):
                t0 = time.perf_counter()
                searcher.search(query, k=depth)
                warm.append(time.perf_counter() - t0)
            files = sb.distinct(r.chunk.path for r in results)
            ranked_units = sb.distinct(sb.chunk_span(r.chunk).unit for r in results)
            entry: dict[str, Any] = {
                "cold_s": cold,
                "warm_s": warm,
                "rr": sb.reciprocal_rank(files, gold.files),
                "top_files": files[:10],
                "gold_file_ranks": {
                    f: (files.index(f) + 1 if f in files else None) for f in gold.files
                },
                "gold_unit_ranks": {
                    "::".join(u): (ranked_units.index(u) + 1 if u in ranked_units else None)
                    for u in units
                },
            }
            for k in FILE_KS:
                entry[f"file@{k}"] = sb.all_in_top_k(files, gold.files, k)
            for k in FUNC_KS:
                entry[f"func@{k}"] = sb.all_in_top_k(ranked_units, units, k)
            if mode == "hybrid":
                entry["signals_of_gold"] = _signals_of_gold(results, gold)
                entry["rankings"] = _rankings(searcher, inst.problem_statement)
            out[mode] = entry
        return out

    return evaluate


def _rankings(searcher: Searcher, query: str) -> dict[str, Any]:
    """Every signal's ranked list, as indexes into ``chunks`` ([path, symbol, kind, start
    line, language]); what ``tune_fusion`` replays to compare fusion weights offline."""
    ranked = searcher.rankings(query)
    ids = list(dict.fromkeys(cid for ids in ranked.values() for cid in ids))
    found = searcher.catalogue.fetch(ids)
    known = [cid for cid in ids if cid in found]
    index = {cid: i for i, cid in enumerate(known)}
    return {
        "chunks": [
            [c.path, c.symbol, c.kind, c.start_line, c.language]
            for c in (found[cid] for cid in known)
        ],
        "signals": {name: [index[c] for c in ids if c in index] for name, ids in ranked.items()},
    }


def _signals_of_gold(results: list[SearchResult], gold: sb.Gold) -> dict[str, int]:
    """For the best-ranked chunk of each gold file: which signals found it (name → rank)."""
    seen: dict[str, dict[str, int]] = {}
    for r in results:
        if r.chunk.path in gold.files and r.chunk.path not in seen:
            seen[r.chunk.path] = dict(r.signals)
    counts: dict[str, int] = {}
    for signals in seen.values():
        for name in signals:
            counts[name] = counts.get(name, 0) + 1
    return counts


def definitions_at(unit_ranks: dict[str, int | None], k: int) -> bool:
    """func@k counting only the gold units that are definitions (not the module-level code,
    such as imports, that a patch also touched), when there is one: closer to how published
    function-level accuracies count, where a gold item is a modified function."""
    definitions = {
        unit: rank
        for unit, rank in unit_ranks.items()
        if not _MODULE_LEVEL.fullmatch(unit.rsplit("::", 1)[-1])
    }
    ranks = (definitions or unit_ranks).values()
    return bool(ranks) and all(rank is not None and rank <= k for rank in ranks)


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    done = sb.scored(results)
    modes = [mode for mode in MODES if all(mode in r for r in done)]  # older runs: fewer
    summary: dict[str, Any] = {"instances": len(done), "repos": {}, "modes": modes}
    for r in done:
        summary["repos"][r["repo"]] = summary["repos"].get(r["repo"], 0) + 1
    for mode in modes:
        rows = [r[mode] for r in done]
        warm = [t for row in rows for t in row["warm_s"]]
        summary[mode] = {
            **{f"file@{k}": sb.mean([row[f"file@{k}"] for row in rows]) for k in FILE_KS},
            **{f"func@{k}": sb.mean([row[f"func@{k}"] for row in rows]) for k in FUNC_KS},
            "defs@10": sb.mean([definitions_at(row["gold_unit_ranks"], 10) for row in rows]),
            "mrr": sb.mean([row["rr"] for row in rows]),
            "latency_p50_ms": 1000 * sb.percentile(warm, 50),
            "latency_p95_ms": 1000 * sb.percentile(warm, 95),
            "cold_p50_ms": 1000 * sb.percentile([row["cold_s"] for row in rows], 50),
        }
    summary["by_repo"] = {
        repo: {
            mode: {
                metric: sb.mean([r[mode][metric] for r in done if r["repo"] == repo])
                for metric in ("file@5", "func@10", "rr")
            }
            for mode in modes
        }
        for repo in sorted(summary["repos"])
    }
    summary["skipped"] = [r["instance_id"] for r in results if "skipped" in r]
    summary["failed"] = [r["instance_id"] for r in results if "error" in r]
    return summary


def table(summary: dict[str, Any]) -> str:
    head = (
        f"{'mode':8} {'file@1':>7} {'file@3':>7} {'file@5':>7} {'func@5':>7} {'func@10':>7}"
        f" {'defs@10':>7} {'MRR':>6} {'p50 ms':>7} {'p95 ms':>7}"
    )
    lines = [f"retrieval quality, n={summary['instances']} instances {summary['repos']}", head]
    for mode in summary["modes"]:
        s = summary[mode]
        lines.append(
            f"{mode:8} {sb.pct(s['file@1']):>7} {sb.pct(s['file@3']):>7} {sb.pct(s['file@5']):>7}"
            f" {sb.pct(s['func@5']):>7} {sb.pct(s['func@10']):>7} {sb.pct(s['defs@10']):>7}"
            f" {s['mrr']:6.3f}"
            f" {s['latency_p50_ms']:7.0f} {s['latency_p95_ms']:7.0f}"
        )
    modes = " | ".join(summary["modes"])
    lines.append(f"per repository (n): file@5 / func@10 / MRR, {modes}")
    for repo, by_mode in summary.get("by_repo", {}).items():
        cells = " | ".join(
            f"{sb.pct(by_mode[m]['file@5'])} {sb.pct(by_mode[m]['func@10'])} {by_mode[m]['rr']:.2f}"
            for m in summary["modes"]
        )
        lines.append(f"  {repo:20} ({summary['repos'][repo]:2}) {cells}")
    lines.append(
        "anchors (SWE-bench Lite, LocAgent): BM25 file@5 61.7 func@10 36.9;"
        " CodeRankEmbed file@5 84.7 func@10 58.8. targets: func@10 >= 60, file@5 >= 80"
    )
    lines.append(
        "defs@10: func@10 over the gold units that are definitions (module-level code such as"
        " imports left out when the patch also edits a definition)"
    )
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["file@1", "file@3", "file@5", "func@5", "func@10"]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    modes = summary["modes"]
    width = 0.8 / len(modes)
    for i, mode in enumerate(modes):
        values = [100 * summary[mode][m] for m in metrics]
        xs = [x + (i - (len(modes) - 1) / 2) * width for x in range(len(metrics))]
        bars = ax.bar(xs, values, width, label=mode)
        ax.bar_label(bars, fmt="%.0f", fontsize=7)
    ax.axhline(80, color="grey", ls=":", lw=1)
    ax.axhline(60, color="grey", ls="--", lw=1)
    ax.set_xticks(range(len(metrics)), metrics)
    ax.set_ylabel("% of instances")
    ax.set_ylim(0, 105)
    ax.set_title(
        f"Retrieval accuracy on SWE-bench Verified dev (n={summary['instances']})"
        " — dashed: func@10 target 60, dotted: file@5 target 80",
        fontsize=9,
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sb.add_common_args(parser)
    parser.add_argument("--depth", type=int, default=100, help="chunks retrieved per query")
    args = parser.parse_args(argv)
    results = sb.results_of(
        "retrieval_quality", args, lambda embedder: evaluator(embedder, args.depth)
    )
    sb.publish("retrieval_quality", args, summarize(results), results, table, plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
