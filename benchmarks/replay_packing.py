"""Compare packer settings offline on the searches a token-savings run recorded.

``token_savings`` saves each instance's search (``benchmarks/recorded.py``) under
``<run>/records/<model>/``. This script builds the packer's candidates from each record with
the product's own ``candidates_for`` and packs them with ``build_context`` under other
``ContextSettings``, at every budget, in minutes instead of a re-run (no checkout, no index,
no model). It first replays the defaults and checks them against the run's cached results.

Variants: ``--variants FILE.json`` (a list of ``{"name": ..., "settings": {...}}``, the
settings being ``ContextSettings`` overrides) or ``--set KEY=VALUE`` for one variant. Tuned
on the set it is measured on: prefer changes that win on every repository (``--by-repo``).

``--edits`` prints instead what the value model is fitted on: for the candidates at each
rank (in score order) and of each kind, the share holding an edit site.

Run: ``python -m benchmarks.replay_packing --run DIR [--model M] [--variants F | --set K=V
...] [--by-repo] [--edits]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks import recorded
from benchmarks import swebench as sb
from benchmarks import token_savings as ts

_RANK_BUCKETS = (1, 2, 3, 5, 10, 20, 50, 100, 200, 10**9)


def load(run: Path, model: str, eval_path: Path) -> list[tuple[str, str, sb.Gold, Path]]:
    """(instance id, repository, gold, record path) of every recorded instance."""
    instances = {inst.instance_id: inst for inst in sb.load_instances(eval_path)}
    cases = []
    for path in sorted((run / "records" / sb.model_slug(model)).glob("*.json.gz")):
        inst = instances[path.name.removesuffix(".json.gz")]
        cases.append((inst.instance_id, inst.repo, sb.gold_of(inst), path))
    return cases


def _score_one(job: tuple[Path, sb.Gold, int, dict[str, Any], tuple[str, ...]]) -> dict[str, Any]:
    from codeintel.indexer.tokens import TokenCounter
    from codeintel.settings import ContextSettings

    path, gold, n_candidates, overrides, methods = job
    settings = ContextSettings(**overrides)
    found = recorded.Record.load(path)
    return ts.score(found, gold, TokenCounter(ts.ENCODING), n_candidates, settings, methods)


def replay(
    cases: Sequence[tuple[str, str, sb.Gold, Path]],
    overrides: dict[str, Any],
    n_candidates: int,
    methods: tuple[str, ...] = ("packer",),
    workers: int = 2,
) -> list[dict[str, Any]]:
    """Each case scored under ``overrides`` (results shaped as ``token_savings``'s)."""
    jobs = [(path, gold, n_candidates, overrides, methods) for _, _, gold, path in cases]
    with ProcessPoolExecutor(workers) as pool:
        scores = list(pool.map(_score_one, jobs))
    return [
        {"instance_id": case_id, "repo": repo, **scored}
        for (case_id, repo, _, _), scored in zip(cases, scores, strict=True)
    ]


def check(results: list[dict[str, Any]], run: Path, model: str) -> list[str]:
    """Instances whose replayed packer differs from the run's cached result."""
    differing = []
    for result in results:
        cached = run / "token_savings" / sb.model_slug(model) / f"{result['instance_id']}.json"
        recorded_run = json.loads(cached.read_text())
        for budget in ts.BUDGETS:
            old, new = recorded_run[str(budget)]["packer"], result[str(budget)]["packer"]
            if (old["tokens"], old["edit_all"], old["file_all"]) != (
                new["tokens"],
                new["edit_all"],
                new["file_all"],
            ):
                differing.append(f"{result['instance_id']}@{budget}")
    return differing


def row(name: str, results: list[dict[str, Any]], by_repo: bool) -> list[str]:
    cells = []
    for budget in ts.BUDGETS:
        entries = [r[str(budget)]["packer"] for r in results]
        means = ts._means(entries)
        cells.append(f"{sb.pct(means['file_all'])}/{sb.pct(means['edit_all'])}")
    lines = [f"{name:28} " + "  ".join(cells)]
    if by_repo:
        for repo in sorted({r["repo"] for r in results}):
            mine = [r for r in results if r["repo"] == repo]
            repo_cells = [
                sb.pct(sb.mean([r[str(b)]["packer"]["edit_all"] for r in mine])) for b in ts.BUDGETS
            ]
            lines.append(f"  {repo:26} ({len(mine):2}) edit_all " + " ".join(repo_cells))
    return lines


def edit_rates(cases: Sequence[tuple[str, str, sb.Gold, Path]], n_candidates: int) -> list[str]:
    """Per rank bucket and kind: candidates, and the share holding an edit site."""
    from codeintel.agent.candidates import candidates_for

    counts: dict[tuple[int, str], list[int]] = {}
    for _, _, gold, path in cases:
        found = recorded.Record.load(path)
        candidates = candidates_for(recorded.RecordedSearch(found), found.query, n_candidates)
        ordered = sorted(candidates, key=lambda c: -c.score)
        for rank, candidate in enumerate(ordered, start=1):
            chunk = candidate.chunk
            bucket = next(b for b in _RANK_BUCKETS if rank <= b)
            lines = gold.edit_sites.get(chunk.path, ())
            holds = any(chunk.start_line <= line <= chunk.end_line for line in lines)
            tally = counts.setdefault((bucket, chunk.kind), [0, 0])
            tally[0] += 1
            tally[1] += holds
    out = [f"{'rank <=':>8} {'kind':10} {'n':>6} {'edit%':>6}"]
    for (bucket, kind), (n, hits) in sorted(counts.items()):
        out.append(f"{bucket:>8} {kind:10} {n:6d} {100 * hits / n:6.1f}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a token_savings --out folder")
    parser.add_argument("--model", default=sb.DEFAULT_MODEL)
    parser.add_argument("--eval", type=Path, default=sb.DEFAULT_EVAL)
    parser.add_argument("--candidates", type=int, default=200)
    parser.add_argument("--variants", type=Path, help="JSON list of {name, settings}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--by-repo", action="store_true")
    parser.add_argument("--edits", action="store_true", help="edit-site rates by rank, kind")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    cases = load(args.run, args.model, args.eval)
    if args.edits:
        print("\n".join(edit_rates(cases, args.candidates)))
        return 0
    variants: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    if args.variants:
        variants += [(v["name"], v["settings"]) for v in json.loads(args.variants.read_text())]
    if args.set:
        overrides = dict(item.split("=", 1) for item in args.set)
        variants.append((" ".join(args.set), overrides))
    print(f"{len(cases)} instances; file_all/edit_all at " + " ".join(map(str, ts.BUDGETS)))
    for name, overrides in variants:
        results = replay(cases, overrides, args.candidates, workers=args.workers)
        if name == "defaults":
            differing = check(results, args.run, args.model)
            print(f"replay check: {len(differing)} contexts differ from the run {differing[:5]}")
        print("\n".join(row(name, results, args.by_repo)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
