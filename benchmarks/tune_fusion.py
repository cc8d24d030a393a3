"""Compare fusion settings offline on the signal lists a SWE-bench run recorded.

``retrieval_quality.py`` stores, per instance, every signal's ranked list for the hybrid
query (``rankings``); ``token_savings.py`` stores the SWE-bench whole-file BM25 ranking
(``bm25_top_files``). This script replays the product's ranking, the pure
``codeintel.retrieval.rank.rank`` that ``Searcher`` ranks with (fusion, then file priors),
on those lists under other weights and reports the retrieval metrics of each variant, in
seconds instead of a re-run. One
approximation: the ``file`` and ``graph`` lists are the ones the recorded run built from
its own (default) fusion; a variant would reorder them a little.

A variant is a name and overrides (JSON) of ``RetrievalSettings`` (weights, priors,
``rrf_k``). For runs recorded before the product had its own file signal,
``--simulate-file-signal`` approximates one from the run's SWE-bench whole-file BM25
ranking (Python files only): the fused hits ordered by file rank, without the product's
file priors and without the chunks its top files bring in.

Run: ``python -m benchmarks.tune_fusion --run benchmarks/out/full --model M
[--variants FILE.json] [--grid] [--simulate-file-signal]``; prints one row per variant,
best func@10 first.
Tuned on the set it is measured on: treat the winner's margin as optimistic and prefer
changes that win on every repository (``--by-repo``).
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import swebench as sb
from codeintel.retrieval.fusion import by_file_rank
from codeintel.retrieval.priors import file_prior
from codeintel.retrieval.rank import fuse, rank
from codeintel.settings import RetrievalSettings

DEPTH = 100
METRICS = ("file@1", "file@3", "file@5", "func@5", "func@10", "mrr")


@dataclass
class Case:
    repo: str
    chunks: list[list[Any]]  # [path, symbol, kind, start_line, language]
    signals: dict[str, list[int]]
    bm25_files: list[str]
    gold_files: set[str]
    gold_units: set[tuple[str, str]]
    recorded: dict[str, float]  # the run's own hybrid metrics, to check the replay against


def load_cases(run: Path, model: str) -> list[Case]:
    slug = sb.model_slug(model)
    cases = []
    for path in sorted((run / "retrieval_quality" / slug).glob("*.json")):
        quality = json.loads(path.read_text())
        hybrid = quality.get("hybrid", {})
        if "rankings" not in hybrid:
            continue
        savings_path = run / "token_savings" / slug / path.name
        savings = json.loads(savings_path.read_text()) if savings_path.exists() else {}
        cases.append(
            Case(
                repo=quality["repo"],
                chunks=hybrid["rankings"]["chunks"],
                signals=hybrid["rankings"]["signals"],
                bm25_files=savings.get("bm25_top_files", []),
                gold_files=set(hybrid["gold_file_ranks"]),
                gold_units={tuple(u) for u in quality["gold_units"]},
                recorded={m: float(hybrid[m if m != "mrr" else "rr"]) for m in METRICS},
            )
        )
    return cases


def replay(case: Case, variant: Mapping[str, Any]) -> list[int]:
    """The chunk indexes of ``case`` in the order the variant ranks them: the product's own
    ``rank`` (fusion, then each chunk's file prior) on the recorded lists."""
    settings = RetrievalSettings(
        **{k: v for k, v in variant.items() if k in RetrievalSettings.model_fields}
    )
    ranked = {s: [str(i) for i in ids] for s, ids in case.signals.items()}
    if variant.get("file_signal") == "bm25_files" and "file" not in ranked:
        # as Searcher.rankings: the file signal orders the other signals' fused hits
        base = {s: ids for s, ids in ranked.items() if s not in ("file", "graph")}
        path_of = {str(i): chunk[0] for i, chunk in enumerate(case.chunks)}
        file_ranks = {path: rank for rank, path in enumerate(case.bm25_files, start=1)}
        fused = fuse(base, settings.weights(), settings.rrf_k)
        ranked["file"] = by_file_rank(fused, path_of, file_ranks)
    ranked = {s: ids for s, ids in ranked.items() if runs(s, settings)}
    priors = [file_prior(chunk[0], chunk[4], settings) for chunk in case.chunks]
    hits = rank(ranked, settings, prior_of=lambda chunk_id: priors[int(chunk_id)])
    return [int(hit.id) for hit in hits[:DEPTH]]


def runs(signal: str, settings: RetrievalSettings) -> bool:
    """Whether ``Searcher.rankings`` builds ``signal``'s list under ``settings``: the
    file, graph, focus and emphasis lists only with a weight above 0 (the others always;
    a weight of 0 then still counts the signal in fusion's tie-break). The recorded index
    had every chunk embedded, so nothing is pending."""
    weights = settings.weights()
    if signal == "graph":
        return settings.graph_seeds > 0 and weights["graph"] > 0
    if signal in ("file", "focus", "emphasis"):
        return weights.get(signal, 1.0) > 0
    return True


def metrics(case: Case, order: list[int]) -> dict[str, float]:
    files = sb.distinct(case.chunks[i][0] for i in order)
    units = sb.distinct(sb.chunk_unit(*case.chunks[i][:4]) for i in order)
    return {
        "file@1": sb.all_in_top_k(files, case.gold_files, 1),
        "file@3": sb.all_in_top_k(files, case.gold_files, 3),
        "file@5": sb.all_in_top_k(files, case.gold_files, 5),
        "func@5": sb.all_in_top_k(units, case.gold_units, 5),
        "func@10": sb.all_in_top_k(units, case.gold_units, 10),
        "mrr": sb.reciprocal_rank(files, case.gold_files),
    }


def evaluate(cases: list[Case], variant: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """Mean metrics over all cases (key ``all``) and per repository."""
    rows: dict[str, list[dict[str, float]]] = {"all": []}
    for case in cases:
        row = metrics(case, replay(case, variant))
        rows["all"].append(row)
        rows.setdefault(case.repo, []).append(row)
    return {
        group: {m: sb.mean([r[m] for r in group_rows]) for m in group_rows[0]}
        for group, group_rows in rows.items()
    }


def grid() -> dict[str, dict[str, Any]]:
    """A coarse grid over the signal weights (the others at their defaults)."""
    variants = {}
    for bm25, vector, symbol, graph, file_weight in itertools.product(
        (0.5, 1.0), (1.0, 1.5, 2.0), (0.75, 1.5), (0.0, 0.3, 0.6), (0.0, 0.5, 1.0, 1.5)
    ):
        name = f"b{bm25} v{vector} s{symbol} g{graph} f{file_weight}"
        variants[name] = {
            "weight_bm25": bm25,
            "weight_vector": vector,
            "weight_symbol": symbol,
            "weight_graph": graph,
            "weight_file": file_weight,
        }
    return variants


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, default=sb.DEFAULT_OUT, help="a run's --out folder")
    parser.add_argument("--model", default=sb.DEFAULT_MODEL)
    parser.add_argument("--variants", type=Path, help="JSON: name → settings overrides")
    parser.add_argument("--grid", action="store_true", help="add a coarse weight grid")
    parser.add_argument("--by-repo", action="store_true", help="per-repository rows too")
    parser.add_argument("--top", type=int, default=20, help="rows to print")
    parser.add_argument(
        "--simulate-file-signal",
        action="store_true",
        help="build the file signal from the SWE-bench file BM25 (runs recorded without one)",
    )
    args = parser.parse_args(argv)
    cases = load_cases(args.run, args.model)
    if not cases:
        print(f"no recorded rankings under {args.run} for {args.model}", file=sys.stderr)
        return 1
    variants: dict[str, dict[str, Any]] = {"default": {}}
    if args.variants:
        variants.update(json.loads(args.variants.read_text()))
    if args.grid:
        variants.update(grid())
    agree = sum(metrics(c, replay(c, {})) == c.recorded for c in cases)
    print(f"replaying the defaults reproduces the recorded run on {agree}/{len(cases)} instances")
    if args.simulate_file_signal:
        variants = {name: {**v, "file_signal": "bm25_files"} for name, v in variants.items()}
    scored = {name: evaluate(cases, v) for name, v in variants.items()}
    order = sorted(scored, key=lambda n: (-scored[n]["all"]["func@10"], -scored[n]["all"]["mrr"]))
    print(f"{len(cases)} instances; " + " ".join(f"{m:>7}" for m in METRICS))
    for name in ["default", *[n for n in order if n != "default"]][: args.top]:
        for group, values in scored[name].items():
            if group != "all" and not args.by_repo:
                continue
            label = name if group == "all" else f"  {group}"
            cells = " ".join(
                f"{values[m]:7.3f}" if m == "mrr" else f"{100 * values[m]:7.1f}" for m in METRICS
            )
            print(f"{label[:40]:40} {cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
