"""Token savings on SWE-bench Verified (dev set): how many tokens until the gold is in context.

Per instance (checkout, gold, caching: ``benchmarks/swebench.py``), query =
``problem_statement``, and at budgets 2k/4k/8k/16k/32k tokens (cl100k_base) four ways of
filling the budget:

- ``packer``: this project. Hybrid search (default settings) gives ``--candidates`` chunks
  (default 200); ``build_context`` packs them (multiple-choice knapsack over full / skeleton /
  signature views).
- ``bm25_files``: the SWE-bench protocol. Non-test ``.py`` files at the base commit
  (``git ls-files``; tests excluded as in SWE-bench's retrieval script) ranked by Okapi BM25
  (implemented here: k1=0.9, b=0.4 as Pyserini's defaults; terms are lower-cased identifiers
  and numbers plus their snake_case / camelCase parts; a file's text is prefixed with its
  path) against the problem statement; whole files added in rank order, a file that does not
  fit is skipped and the next tried.
- ``topk_chunks``: the same hybrid candidates in rank order, full view, each added if it fits.
- ``ratio_greedy``: the same candidates and views as ``packer`` (each unique chunk offers
  full, skeleton, signature at value score * view utility), chosen by
  ``codeintel.agent.packer.ratio_greedy`` without the packer's overlap handling.

Every context is rendered and counted with the real tokenizer; ``tokens <= budget`` is
asserted. Metrics per budget: ``file_all`` (every gold file has some item in the context),
``edit_all`` (every edit-site line lies inside an item shown in full; for whole files: the
file is in), mean tokens used. Also the means of the whole repository's tokens (every file
the index holds) and of the gold files' tokens.

Run: ``python -m benchmarks.token_savings [--limit N] [--repos ...] [--model M] [--out D]``.
Writes ``<out>/token_savings_<model>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import swebench as sb

if TYPE_CHECKING:
    from codeintel.agent.context import Candidate
    from codeintel.agent.render import Piece
    from codeintel.indexer.embedder import Embedder
    from codeintel.indexer.models import ViewName
    from codeintel.indexer.repository import Repository
    from codeintel.indexer.tokens import TokenCounter

BUDGETS = (2000, 4000, 8000, 16000, 32000)
METHODS = ("packer", "bm25_files", "topk_chunks", "ratio_greedy")
ENCODING = "cl100k_base"

# ----------------------------------------------------------------------------- BM25 on files

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def bm25_terms(text: str) -> list[str]:
    """Lower-cased identifiers and numbers, plus their snake_case / camelCase parts."""
    terms: list[str] = []
    for word in _WORD.findall(text):
        terms.append(word.lower())
        parts = [p for piece in word.split("_") for p in _CAMEL.findall(piece)]
        if len(parts) > 1:
            terms.extend(p.lower() for p in parts)
    return terms


def bm25_rank(
    docs: dict[str, Counter[str]], query: list[str], k1: float = 0.9, b: float = 0.4
) -> list[str]:
    """Document names by Okapi BM25 score against ``query`` (best first; ties by name)."""
    n = len(docs)
    if not n:
        return []
    lengths = {name: sum(tf.values()) for name, tf in docs.items()}
    avg = sum(lengths.values()) / n or 1.0
    q = Counter(query)
    df = {t: sum(1 for tf in docs.values() if t in tf) for t in q}
    idf = {t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) for t in q}
    scores = {}
    for name, tf in docs.items():
        norm = k1 * (1 - b + b * lengths[name] / avg)
        scores[name] = sum(
            idf[t] * tf[t] * (k1 + 1) / (tf[t] + norm) * count for t, count in q.items() if t in tf
        )
    return sorted(docs, key=lambda name: (-scores[name], name))


class FileCache:
    """Per blob id: the file's BM25 term counts and its whole-file block's token count."""

    def __init__(self, counter: TokenCounter) -> None:
        self.counter = counter
        self.terms: dict[str, Counter[str]] = {}
        self.tokens: dict[str, int] = {}

    def block(self, path: str, text: str) -> str:
        return f"[start of {path}]\n{text}\n[end of {path}]\n"

    def load(self, key: str, path: str, root: Path) -> None:
        if key in self.tokens:
            return
        text = (root / path).read_text(encoding="utf-8", errors="replace")
        self.terms[key] = Counter(bm25_terms(path + "\n" + text))
        self.tokens[key] = self.counter.count(self.block(path, text))


def python_files(root: Path) -> dict[str, str]:
    """Non-test .py files at the checked-out commit → blob id."""
    out = sb.git(None, "ls-files", "-s", cwd=root)
    files = {}
    for line in out.splitlines():
        meta, _, path = line.partition("\t")
        mode, blob = meta.split()[:2]
        if path.endswith(".py") and not sb.is_test_path(path) and mode.startswith("100"):
            files[path] = f"{path}:{blob}"
    return files


# ----------------------------------------------------------------------------- evaluation


def coverage(items: Sequence[tuple[str, int, int, str]], gold: sb.Gold) -> tuple[bool, bool]:
    """(file_all, edit_all) of a context given as (path, start, end, view) items."""
    paths = {path for path, _, _, _ in items}
    file_all = set(gold.files) <= paths
    full = [(path, start, end) for path, start, end, view in items if view == "full"]
    return file_all, sb.sites_covered(full, gold.edit_sites)


def evaluator(embedder: Embedder, n_candidates: int, counter: TokenCounter) -> sb.Evaluate:
    files = FileCache(counter)
    repo_tokens: dict[str, int] = {}

    def evaluate(inst: sb.Instance, gold: sb.Gold, repo: Repository, root: Path) -> dict[str, Any]:
        from codeintel.agent.candidates import candidates_for
        from codeintel.retrieval.search import Searcher
        from codeintel.settings import RetrievalSettings

        searcher = Searcher(repo, RetrievalSettings(k=n_candidates), embedder=embedder)
        candidates = candidates_for(searcher, inst.problem_statement, n_candidates)

        py = python_files(root)
        for path, key in py.items():
            files.load(key, path, root)
        ranking = bm25_rank(
            {key: files.terms[key] for key in py.values()}, bm25_terms(inst.problem_statement)
        )
        by_key = {key: path for path, key in py.items()}

        spans = [(c.chunk.path, c.chunk.start_line, c.chunk.end_line) for c in candidates]
        out: dict[str, Any] = {
            # an upper bound on edit_all for any packing of these candidates
            "sites_in_candidates": sb.sites_covered(spans, gold.edit_sites),
            "repo_tokens": _repo_tokens(repo, root, counter, repo_tokens),
            "gold_tokens": sum(_file_tokens(root / p, counter) for p in gold.files),
            "bm25_gold_file_ranks": {
                p: (ranking.index(py[p]) + 1 if p in py else None) for p in gold.files
            },
            "bm25_top_files": [by_key[k] for k in ranking[:50]],
        }
        for budget in BUDGETS:
            row: dict[str, Any] = {}
            row["packer"] = _packer(candidates, budget, counter, gold)
            row["bm25_files"] = _whole_files(
                [by_key[k] for k in ranking], py, files, budget, counter, gold
            )
            row["topk_chunks"] = _topk(candidates, budget, counter, gold)
            row["ratio_greedy"] = _ratio_greedy(candidates, budget, counter, gold)
            for method, entry in row.items():
                if entry["tokens"] > budget:
                    raise AssertionError(f"{method} used {entry['tokens']} > {budget} tokens")
            out[str(budget)] = row
        return out

    return evaluate


def _file_tokens(path: Path, counter: TokenCounter) -> int:
    if not path.is_file():
        return 0
    return counter.count(path.read_text(encoding="utf-8", errors="replace"))


def _repo_tokens(repo: Repository, root: Path, counter: TokenCounter, cache: dict[str, int]) -> int:
    """Tokens of every file the index holds (cached by content hash)."""
    store = repo.open_store(check=False)
    total = 0
    for row in store.files.to_arrow().select(["path", "sha256"]).to_pylist():
        key = row["sha256"]
        if key not in cache:
            cache[key] = _file_tokens(root / row["path"], counter)
        total += cache[key]
    return total


def _entry(
    items: Sequence[tuple[str, int, int, str]], tokens: int, gold: sb.Gold
) -> dict[str, Any]:
    file_all, edit_all = coverage(items, gold)
    return {"tokens": tokens, "file_all": file_all, "edit_all": edit_all}


def _packer(
    candidates: list[Candidate], budget: int, counter: TokenCounter, gold: sb.Gold
) -> dict[str, Any]:
    from codeintel.agent.context import build_context

    result = build_context(candidates, budget, counter)
    items = [(i.path, i.start_line, i.end_line, i.view) for i in result.items if i.kind == "code"]
    assert result.tokens == counter.count(result.text)
    entry = _entry(items, result.tokens, gold)
    entry["gold_views"] = dict(Counter(view for path, _, _, view in items if path in gold.files))
    return entry


def _whole_files(
    ranked_paths: list[str],
    py: dict[str, str],
    files: FileCache,
    budget: int,
    counter: TokenCounter,
    gold: sb.Gold,
) -> dict[str, Any]:
    used, chosen = 0, []
    for path in ranked_paths:
        cost = files.tokens[py[path]]
        if used + cost <= budget:
            chosen.append(path)
            used += cost
    # whole files: every line of a chosen file is shown in full
    items = [(path, 1, 10**9, "full") for path in chosen]
    return _entry(items, used, gold)


def _pieces(candidates: list[Candidate], views: tuple[ViewName, ...]) -> list[list[Piece]]:
    """Per unique candidate (by path and lines), its pieces in ``views`` order, non-empty."""
    from codeintel.agent.render import chunk_piece

    seen: set[tuple[str, int, int]] = set()
    groups = []
    for cand in candidates:
        c = cand.chunk
        key = (c.path, c.start_line, c.end_line)
        if key in seen:
            continue
        seen.add(key)
        group: list[Piece] = []
        for view in views:
            piece = chunk_piece(c, view, cand.score)
            if piece.body.strip() and all(piece.body != p.body for p in group):
                group.append(piece)
        groups.append(group)
    return groups


def _rendered(pieces: list[Piece], budget: int, counter: TokenCounter) -> tuple[list[Piece], int]:
    """The pieces' rendering counted exactly; least relevant dropped while over budget."""
    from codeintel.agent.render import render

    pieces = list(pieces)
    tokens = counter.count(render(pieces).text) if pieces else 0
    while tokens > budget:
        pieces.remove(min(pieces, key=lambda p: p.score))
        tokens = counter.count(render(pieces).text) if pieces else 0
    return pieces, tokens


def _items(pieces: list[Piece]) -> list[tuple[str, int, int, str]]:
    return [(p.path, p.start_line, p.end_line, p.view) for p in pieces]


def _topk(
    candidates: list[Candidate], budget: int, counter: TokenCounter, gold: sb.Gold
) -> dict[str, Any]:
    from codeintel.agent.render import cost

    used, chosen = 0, []
    for group in _pieces(candidates, ("full",)):
        if group and used + (c := cost(group[0], counter)) <= budget:
            chosen.append(group[0])
            used += c
    chosen, tokens = _rendered(chosen, budget, counter)
    return _entry(_items(chosen), tokens, gold)


def _ratio_greedy(
    candidates: list[Candidate], budget: int, counter: TokenCounter, gold: sb.Gold
) -> dict[str, Any]:
    from codeintel.agent.packer import Option, ratio_greedy
    from codeintel.agent.render import cost
    from codeintel.settings import ContextSettings

    utility = ContextSettings().utility
    groups = _pieces(candidates, ("full", "skeleton", "signature"))
    options = [
        [Option(cost(p, counter), p.score * utility(p.view)) for p in group] for group in groups
    ]
    solution = ratio_greedy(options, budget)
    chosen = [groups[g][j] for g, j in enumerate(solution.choices) if j is not None]
    chosen, tokens = _rendered(chosen, budget, counter)
    return _entry(_items(chosen), tokens, gold)


# ----------------------------------------------------------------------------- report


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    done = sb.scored(results)
    summary: dict[str, Any] = {"instances": len(done), "repos": {}}
    for r in done:
        summary["repos"][r["repo"]] = summary["repos"].get(r["repo"], 0) + 1
    summary["repo_tokens_mean"] = sb.mean([r["repo_tokens"] for r in done])
    summary["gold_tokens_mean"] = sb.mean([r["gold_tokens"] for r in done])
    for budget in BUDGETS:
        b = str(budget)
        summary[b] = {
            method: {
                "file_all": sb.mean([r[b][method]["file_all"] for r in done]),
                "edit_all": sb.mean([r[b][method]["edit_all"] for r in done]),
                "tokens_mean": sb.mean([r[b][method]["tokens"] for r in done]),
                "tokens_max": max((r[b][method]["tokens"] for r in done), default=0),
            }
            for method in METHODS
        }
    bounded = [r["sites_in_candidates"] for r in done if "sites_in_candidates" in r]
    summary["sites_in_candidates"] = {"mean": sb.mean(bounded), "n": len(bounded)}
    summary["by_repo"] = {
        repo: {
            f"{method}@{budget}": {
                metric: sb.mean([r[str(budget)][method][metric] for r in done if r["repo"] == repo])
                for metric in ("file_all", "edit_all")
            }
            for method, budget in (("packer", 8000), ("bm25_files", 32000))
        }
        for repo in sorted(summary["repos"])
    }
    summary["skipped"] = [r["instance_id"] for r in results if "skipped" in r]
    summary["failed"] = [r["instance_id"] for r in results if "error" in r]
    if done:
        p8, b32 = summary["8000"]["packer"], summary["32000"]["bm25_files"]
        summary["target_8k_beats_bm25_32k"] = {
            "file_all": p8["file_all"] > b32["file_all"],
            "edit_all": p8["edit_all"] > b32["edit_all"],
        }
    return summary


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"token savings, n={summary['instances']} instances {summary['repos']}",
        f"mean whole-repository tokens {summary['repo_tokens_mean']:.0f},"
        f" mean gold-file tokens {summary['gold_tokens_mean']:.0f} ({ENCODING})",
        f"{'budget':>7} {'method':13} {'file_all':>8} {'edit_all':>8} {'tokens':>8} {'max':>7}",
    ]
    for budget in BUDGETS:
        for method in METHODS:
            s = summary[str(budget)][method]
            lines.append(
                f"{budget:>7} {method:13} {sb.pct(s['file_all']):>8} {sb.pct(s['edit_all']):>8}"
                f" {s['tokens_mean']:8.0f} {s['tokens_max']:7d}"
            )
    bound = summary.get("sites_in_candidates", {})
    if bound.get("n"):
        lines.append(
            f"edit sites all inside the {bound['n']} instances' hybrid candidates"
            f" (bound on edit_all): {sb.pct(bound['mean'])}"
        )
    lines.append("per repository (n): file_all / edit_all, packer@8k | bm25_files@32k")
    for repo, cells in summary.get("by_repo", {}).items():
        row = " | ".join(f"{sb.pct(c['file_all'])} {sb.pct(c['edit_all'])}" for c in cells.values())
        lines.append(f"  {repo:20} ({summary['repos'][repo]:2}) {row}")
    lines.append(
        "anchor (SWE-bench paper, BM25 files): all gold files 26.1% @13k, 39.8% @27k, 45.9% @50k"
    )
    if "target_8k_beats_bm25_32k" in summary:
        lines.append(f"target packer@8k > bm25_files@32k: {summary['target_8k_beats_bm25_32k']}")
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, metric in zip(axes, ("file_all", "edit_all"), strict=True):
        for method in METHODS:
            xs = [summary[str(b)][method]["tokens_mean"] for b in BUDGETS]
            ys = [100 * summary[str(b)][method][metric] for b in BUDGETS]
            ax.plot(xs, ys, marker="o", label=method)
        if metric == "file_all":
            ax.scatter(
                [13000, 27000, 50000],
                [26.1, 39.8, 45.9],
                marker="x",
                color="black",
                label="SWE-bench BM25 (paper)",
            )
        ax.axvline(
            summary["gold_tokens_mean"], color="grey", ls=":", lw=1, label="mean gold-file tokens"
        )
        ax.set_xscale("log")
        ax.set_xlabel("mean tokens used (cl100k_base)")
        ax.set_title(metric)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("% of instances")
    axes[0].set_ylim(0, 100)
    axes[1].legend(fontsize=8)
    fig.suptitle(
        f"Recall vs tokens, SWE-bench Verified dev (n={summary['instances']}); budgets 2k-32k;"
        f" mean repository {summary['repo_tokens_mean'] / 1e6:.2f}M tokens",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    from codeintel.indexer.tokens import TokenCounter

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sb.add_common_args(parser)
    parser.add_argument("--candidates", type=int, default=200, help="hybrid chunks to pack")
    args = parser.parse_args(argv)
    results = sb.results_of(
        "token_savings",
        args,
        lambda embedder: evaluator(embedder, args.candidates, TokenCounter(ENCODING)),
    )
    sb.publish("token_savings", args, summarize(results), results, table, plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
