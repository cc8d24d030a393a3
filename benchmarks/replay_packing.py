"""Compare packer settings offline on the searches a token-savings run recorded.

``token_savings`` saves each instance's search (``benchmarks/recorded.py``) under
``<run>/records/<model>/``. This script builds the packer's candidates from each record with
the product's own ``candidates_for`` and packs them with ``build_context`` under other
``ContextSettings``, at every budget, in minutes instead of a re-run (no checkout, no index,
no model). It first replays the defaults and checks them against the run's cached results.

Variants: ``--variants FILE.json`` (a list of ``{"name": ..., "settings": {...}}``, the
settings being ``ContextSettings`` overrides) or ``--set KEY=VALUE`` for one variant. Tuned
on the set it is measured on: prefer changes that win on every repository (``--by-repo``).

``--fit`` fits the packer's value model instead (``codeintel.agent.value``): a logistic
regression of "this item holds an edit site" over every item the packer offers on every
record, and prints the coefficients and, per item class and rank, the share of items that
hold an edit beside the model's mean prediction. ``--cross-validate`` measures what the fit
is worth on issues it has not seen: each repository's instances packed under models fitted
on the other repositories alone. ``--optimality`` compares the solver's value
with the exact optimum (an unbounded DP) on every record's knapsack at every budget.

Run: ``python -m benchmarks.replay_packing --run DIR [--model M] [--variants F | --set K=V
...] [--by-repo] [--fit]``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import recorded
from benchmarks import swebench as sb
from benchmarks import token_savings as ts
from codeintel.agent.value import FEATURES, Features, edit_probability, file_probability
from codeintel.settings import ContextSettings

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


def row(name: str, results: list[dict[str, Any]], by_repo: bool, method: str) -> list[str]:
    cells = []
    for budget in ts.BUDGETS:
        means = ts._means([r[str(budget)][method] for r in results])
        cells.append(f"{sb.pct(means['file_all'])}/{sb.pct(means['edit_all'])}")
    lines = [f"{name:28} " + "  ".join(cells)]
    if by_repo:
        for repo in sorted({r["repo"] for r in results}):
            mine = [r for r in results if r["repo"] == repo]
            repo_cells = [
                sb.pct(sb.mean([r[str(b)][method]["edit_all"] for r in mine])) for b in ts.BUDGETS
            ]
            lines.append(f"  {repo:26} ({len(mine):2}) edit_all " + " ".join(repo_cells))
    return lines


def optimality(cases: Sequence[tuple[str, str, sb.Gold, Path]], n_candidates: int) -> list[str]:
    """The solver's value over the exact optimum (an unbounded DP) on every record's first
    knapsack, at every budget: the worst and the mean."""
    from codeintel.agent.candidates import candidates_for
    from codeintel.agent.context import solver_groups
    from codeintel.agent.packer import SolverSettings, solve
    from codeintel.indexer.tokens import TokenCounter

    counter = TokenCounter(ts.ENCODING)
    exact = SolverSettings(max_dp_cells=10**10, max_rounds=100)
    ratios: dict[int, list[float]] = {budget: [] for budget in ts.BUDGETS}
    for _, _, _, path in cases:
        found = recorded.Record.load(path)
        candidates = candidates_for(recorded.RecordedSearch(found), found.query, n_candidates)
        groups = solver_groups(candidates, counter)
        for budget in ts.BUDGETS:
            best = solve(groups, budget, exact).value
            ratios[budget].append(solve(groups, budget).value / best if best else 1.0)
    return [
        f"{budget:>6}: worst {min(r):.4f}, mean {sb.mean(r):.4f} of the optimum"
        f" ({len(r)} knapsacks)"
        for budget, r in ratios.items()
    ]


def labelled(
    cases: Sequence[tuple[str, str, sb.Gold, Path]], n_candidates: int
) -> tuple[list[tuple[str, Features, bool]], list[tuple[str, int, bool, bool]]]:
    """Every item the packer offers on every case: (repository, features, holds an edit),
    and every file they are in: (repository, its rank, prose, edited)."""
    from codeintel.agent.candidates import candidates_for
    from codeintel.agent.context import item_features
    from codeintel.indexer.tokens import TokenCounter

    counter = TokenCounter(ts.ENCODING)
    rows = []
    files = []
    for _, repo, gold, path in cases:
        found = recorded.Record.load(path)
        candidates = candidates_for(recorded.RecordedSearch(found), found.query, n_candidates)
        file_ranks: dict[str, int] = {}
        coded: set[str] = set()
        for chunk, features in item_features(candidates, counter):
            lines = gold.edit_sites.get(chunk.path, ())
            holds = any(chunk.start_line <= line <= chunk.end_line for line in lines)
            rows.append((repo, features, holds))
            file_ranks.setdefault(chunk.path, features.file_rank)
            if features.item_class != "text":
                coded.add(chunk.path)
        files += [
            (repo, rank, path not in coded, path in gold.files) for path, rank in file_ranks.items()
        ]
    return rows, files


def fit(x: np.ndarray, y: np.ndarray, ridge: float = 1.0) -> list[float]:
    """Logistic regression of ``y`` on the columns of ``x`` (the first: the intercept), by
    Newton's method with an L2 penalty of ``ridge`` on every coefficient but the intercept."""
    penalty = np.full(x.shape[1], ridge)
    penalty[0] = 0.0
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return [round(float(c), 3) for c in w]


def fitted(
    rows: Sequence[tuple[str, Features, bool]], files: Sequence[tuple[str, int, bool, bool]]
) -> dict[str, list[float]]:
    """The ``ContextSettings`` overrides of the two models fitted on ``rows`` and ``files``."""
    x = np.array([features.vector() for _, features, _ in rows])
    edit_model = fit(x, np.array([float(holds) for _, _, holds in rows]))
    ranks = np.array([[1.0, np.log(rank), float(prose)] for _, rank, prose, _ in files])
    file_model = fit(ranks, np.array([float(edited) for *_, edited in files]))
    return {"edit_model": edit_model, "file_model": file_model}


def cross_validated(
    cases: Sequence[tuple[str, str, sb.Gold, Path]], n_candidates: int, workers: int
) -> list[dict[str, Any]]:
    """Every case packed under the models fitted on the other repositories' cases only."""
    rows, files = labelled(cases, n_candidates)
    results: list[dict[str, Any]] = []
    for repo in sorted({case[1] for case in cases}):
        models = fitted([r for r in rows if r[0] != repo], [f for f in files if f[0] != repo])
        print(f"  without {repo}: {models}")
        mine = [case for case in cases if case[1] == repo]
        results += replay(mine, models, n_candidates, ("packer",), workers)
    return results


def calibration(
    rows: Sequence[tuple[str, Features, bool]], coefficients: Sequence[float]
) -> list[str]:
    """Per item class and rank bucket: items, observed and predicted share holding an edit."""
    cells: dict[tuple[str, int], list[float]] = {}
    for _, features, holds in rows:
        bucket = next(b for b in _RANK_BUCKETS if features.rank <= b)
        cell = cells.setdefault((features.item_class, bucket), [0, 0, 0.0])
        cell[0] += 1
        cell[1] += holds
        cell[2] += edit_probability(features, coefficients)
    out = [f"{'class':10} {'rank <=':>8} {'items':>6} {'edit%':>6} {'model%':>6}"]
    for (item_class, bucket), (n, hits, predicted) in sorted(cells.items()):
        out.append(
            f"{item_class:10} {bucket:>8} {n:6.0f} {100 * hits / n:6.2f} {100 * predicted / n:6.2f}"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", type=Path, required=True, help="a token_savings --out folder")
    parser.add_argument("--model", default=sb.DEFAULT_MODEL)
    parser.add_argument("--eval", type=Path, default=sb.DEFAULT_EVAL)
    parser.add_argument("--candidates", type=int, default=ContextSettings().candidates)
    parser.add_argument("--variants", type=Path, help="JSON list of {name, settings}")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--by-repo", action="store_true")
    parser.add_argument("--fit", action="store_true", help="fit the edit-probability model")
    parser.add_argument(
        "--cross-validate", action="store_true", help="each repository under a fit without it"
    )
    parser.add_argument("--optimality", action="store_true", help="solver value vs the optimum")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--methods", nargs="*", default=["packer"], help=f"of {', '.join(ts.METHODS)}"
    )
    args = parser.parse_args(argv)
    cases = load(args.run, args.model, args.eval)
    if args.optimality:
        print("\n".join(optimality(cases, args.candidates)))
        return 0
    if args.cross_validate:
        print(f"{len(cases)} instances; file_all/edit_all at " + " ".join(map(str, ts.BUDGETS)))
        results = cross_validated(cases, args.candidates, args.workers)
        print("\n".join(row("leave-one-repository-out", results, args.by_repo, "packer")))
        return 0
    if args.fit:
        rows, files = labelled(cases, args.candidates)
        models = fitted(rows, files)
        print(f"{len(rows)} items, {sum(h for _, _, h in rows)} holding an edit site")
        print("edit_model (intercept, " + ", ".join(FEATURES) + "):")
        print(tuple(models["edit_model"]))
        print("\n".join(calibration(rows, models["edit_model"])))
        file_model = models["file_model"]
        print(f"{len(files)} files, {sum(e for *_, e in files)} edited")
        print(f"file_model (intercept, log_file_rank, prose): {tuple(file_model)}")
        for top in (1, 2, 3, 5, 10, 20):
            near = [edited for _, rank, prose, edited in files if rank == top and not prose]
            if near:
                predicted = file_probability(top, False, file_model)
                share = 100 * sum(near) / len(near)
                print(
                    f"  file rank {top:2}: {len(near):4} files, edited {share:5.1f}%,"
                    f" model {100 * predicted:5.1f}%"
                )
        return 0
    variants: list[tuple[str, dict[str, Any]]] = [("defaults", {})]
    if args.variants:
        variants += [(v["name"], v["settings"]) for v in json.loads(args.variants.read_text())]
    if args.set:
        overrides = dict(item.split("=", 1) for item in args.set)
        variants.append((" ".join(args.set), overrides))
    print(f"{len(cases)} instances; file_all/edit_all at " + " ".join(map(str, ts.BUDGETS)))
    cached = [
        json.loads(
            (args.run / "token_savings" / sb.model_slug(args.model) / f"{c[0]}.json").read_text()
        )
        for c in cases
    ]
    print("\n".join(row("the run's packer", cached, args.by_repo, "packer")))
    methods = tuple(args.methods)
    for name, overrides in variants:
        results = replay(cases, overrides, args.candidates, methods, args.workers)
        if name == "defaults" and "packer" in methods:
            differing = check(results, args.run, args.model)
            print(f"replay check: {len(differing)} contexts differ from the run {differing[:5]}")
        for method in methods:
            label = name if method == "packer" else f"{method} ({name})"
            print("\n".join(row(label, results, args.by_repo, method)))
        methods = ("packer",)  # the baselines do not depend on the packer's settings
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
