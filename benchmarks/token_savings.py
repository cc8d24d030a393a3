"""Token savings on SWE-bench Verified (dev set): how many tokens until the gold is in context.

Per instance (checkout, gold, caching: ``benchmarks/swebench.py``), query =
``problem_statement``, and at budgets 2k/4k/8k/16k/32k tokens (cl100k_base) five ways of
filling the budget, all from one recorded search (``benchmarks/recorded.py``):

- ``packer``: this project. ``candidates_for`` (hybrid search, ``--candidates`` results,
  default ``context.candidates``, with the parts of split definitions and the top files'
  other chunks);
  ``build_context`` packs them (the value model and multiple-choice knapsack).
- ``rrf_functions``: the plain hybrid baseline. BM25 and the question's MiniLM vector (300
  chunks each, test files left out), fused by reciprocal rank fusion (k=60), no other
  signal, no priors; in rank order, each whole definition (a split one's parts together,
  where its best part ranks) added in full if it fits.
- ``rrf_chunks``: the same on the index's own chunks (a split definition's parts apart).
- ``bm25_files``: the SWE-bench protocol. Non-test ``.py`` files at the base commit
  (``git ls-files``; tests excluded as in SWE-bench's retrieval script) ranked by Okapi BM25
  (implemented here: k1=0.9, b=0.4 as Pyserini's defaults; terms are lower-cased identifiers
  and numbers plus their snake_case / camelCase parts; a file's text is prefixed with its
  path) against the problem statement; whole files added in rank order, a file that does not
  fit is skipped and the next tried.
- ``topk_chunks``: the packer's candidates in score order, full view, each added if it fits.

The greedy methods pass over an item whose lines an earlier one already shows.

Every context is rendered and counted with the real tokenizer; ``tokens <= budget`` is
asserted. Metrics per budget: ``file_all`` (every gold file has some item in the context),
``edit_all`` (every edit-site line lies inside an item shown in full; for whole files: the
file is in), mean tokens used, the median number of items, and for the packer the share of
its tokens spent on skeletons and signatures. Also the means of the whole repository's
tokens (every file the index holds) and of the gold files' tokens.

Run: ``python -m benchmarks.token_savings [--limit N] [--repos ...] [--model M] [--out D]``;
``--rescore`` scores the cached instances again from the searches their run recorded
(``<out>/records/``, see ``benchmarks/recorded.py``): a change to the packer or a baseline
measured in minutes, on exactly the candidates of the run. Writes
``<out>/token_savings_<model>.json`` and ``.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks import recorded
from benchmarks import swebench as sb

if TYPE_CHECKING:
    from codeintel.agent.context import Candidate
    from codeintel.agent.render import Piece
    from codeintel.indexer.embedder import Embedder
    from codeintel.indexer.models import Chunk
    from codeintel.indexer.repository import Repository
    from codeintel.indexer.tokens import TokenCounter
    from codeintel.settings import ContextSettings

BUDGETS = (2000, 4000, 8000, 16000, 32000)
METHODS = ("packer", "rrf_functions", "rrf_chunks", "topk_chunks", "bm25_files")
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


def evaluator(
    embedder: Embedder, n_candidates: int, counter: TokenCounter, records: Path
) -> sb.Evaluate:
    """Searches each instance once, saves the record under ``records`` and scores it."""
    files = FileCache(counter)
    repo_tokens: dict[str, int] = {}
    records.mkdir(parents=True, exist_ok=True)

    def evaluate(inst: sb.Instance, gold: sb.Gold, repo: Repository, root: Path) -> dict[str, Any]:
        from codeintel.retrieval.search import Searcher
        from codeintel.settings import RetrievalSettings

        py = python_files(root)
        for path, key in py.items():
            files.load(key, path, root)
        ranking = bm25_rank(
            {key: files.terms[key] for key in py.values()}, bm25_terms(inst.problem_statement)
        )
        by_key = {key: path for path, key in py.items()}
        searcher = Searcher(repo, RetrievalSettings(k=n_candidates), embedder=embedder)
        whole = [(by_key[key], files.tokens[key]) for key in ranking]
        found = recorded.record(searcher, inst.problem_statement, whole)
        found.save(records / f"{inst.instance_id}.json.gz")
        return {
            "repo_tokens": _repo_tokens(repo, root, counter, repo_tokens),
            "gold_tokens": sum(_file_tokens(root / p, counter) for p in gold.files),
            "bm25_gold_file_ranks": {
                p: (ranking.index(py[p]) + 1 if p in py else None) for p in gold.files
            },
            "bm25_top_files": [by_key[k] for k in ranking[:50]],
            **score(found, gold, counter, n_candidates),
        }

    return evaluate


def score(
    found: recorded.Record,
    gold: sb.Gold,
    counter: TokenCounter,
    n_candidates: int,
    settings: ContextSettings | None = None,
    methods: Sequence[str] = METHODS,
) -> dict[str, Any]:
    """Every method's context at every budget, built from one recorded search."""
    from codeintel.agent.candidates import candidates_for

    candidates = candidates_for(recorded.RecordedSearch(found), found.query, n_candidates, settings)
    spans = [(c.chunk.path, c.chunk.start_line, c.chunk.end_line) for c in candidates]
    ranked = {
        "rrf_chunks": [[chunk] for chunk in _rrf(found)],
        "rrf_functions": _whole_definitions(found, _rrf(found)),
        "topk_chunks": [[c.chunk] for c in sorted(candidates, key=lambda c: -c.score)],
    }
    out: dict[str, Any] = {
        # an upper bound on edit_all for any packing of these candidates
        "sites_in_candidates": sb.sites_covered(spans, gold.edit_sites),
        "names_gold": names_gold(found, gold),
    }
    for budget in BUDGETS:
        row: dict[str, Any] = {}
        for method in methods:
            if method == "packer":
                row[method] = _packer(candidates, budget, counter, gold, settings)
            elif method == "bm25_files":
                row[method] = _whole_files(found.whole_files, budget, gold)
            else:
                row[method] = _greedy(ranked[method], budget, counter, gold)
            if row[method]["tokens"] > budget:
                raise AssertionError(f"{method} used {row[method]['tokens']} > {budget} tokens")
        out[str(budget)] = row
    return out


def rescore(
    results: list[dict[str, Any]], args: argparse.Namespace, records: Path, counter: TokenCounter
) -> list[dict[str, Any]]:
    """The cached results with every method scored again from the instance's record (a
    change to the packer or a baseline measured without a checkout, an index or a model),
    written back to the cache."""
    instances = {inst.instance_id: inst for inst in sb.load_instances(args.eval)}
    cache = args.out / "token_savings" / sb.model_slug(args.model)
    rescored = []
    for result in results:
        if result in sb.scored([result]):
            found = recorded.Record.load(records / f"{result['instance_id']}.json.gz")
            gold = sb.gold_of(instances[result["instance_id"]])
            result = {**result, **score(found, gold, counter, args.candidates)}
            (cache / f"{result['instance_id']}.json").write_text(json.dumps(result))
        rescored.append(result)
    return rescored


def names_gold(found: recorded.Record, gold: sb.Gold) -> bool:
    """Whether the question names a gold file (its file name) or a definition holding an
    edit site (the last part of its name, as a word)."""
    from codeintel.retrieval.search import split_key

    names = {path.rsplit("/", 1)[-1] for path in gold.files}
    for chunk_id in found.chunks:
        chunk = found.chunk(chunk_id)
        if split_key(chunk) is None:
            continue
        lines = gold.edit_sites.get(chunk.path, ())
        if any(chunk.start_line <= line <= chunk.end_line for line in lines):
            names.add(chunk.symbol.rsplit(".", 1)[-1])
    return any(re.search(rf"\b{re.escape(name)}\b", found.query) for name in names)


def _file_tokens(path: Path, counter: TokenCounter) -> int:
    if not path.is_file():
        return 0
    return counter.count(path.read_text(encoding="utf-8", errors="replace"))


def _repo_tokens(repo: Repository, root: Path, counter: TokenCounter, cache: dict[str, int]) -> int:
    """Tokens of every file the index holds (cached by content hash)."""
    store = repo.open_store(check=False)
    total = 0
    for row in store.files.to_table().select(["path", "sha256"]).to_pylist():
        key = row["sha256"]
        if key not in cache:
            cache[key] = _file_tokens(root / row["path"], counter)
        total += cache[key]
    return total


def _entry(
    items: Sequence[tuple[str, int, int, str]], tokens: int, gold: sb.Gold
) -> dict[str, Any]:
    file_all, edit_all = coverage(items, gold)
    return {"tokens": tokens, "file_all": file_all, "edit_all": edit_all, "items": len(items)}


def _packer(
    candidates: list[Candidate],
    budget: int,
    counter: TokenCounter,
    gold: sb.Gold,
    settings: ContextSettings | None,
) -> dict[str, Any]:
    from codeintel.agent.context import build_context

    result = build_context(candidates, budget, counter, settings)
    items = [(i.path, i.start_line, i.end_line, i.view) for i in result.items if i.kind == "code"]
    assert result.tokens == counter.count(result.text)
    entry = _entry(items, result.tokens, gold)
    entry["gold_views"] = dict(Counter(view for path, _, _, view in items if path in gold.files))
    tokens_by_view: Counter[str] = Counter()
    for item in result.items:
        tokens_by_view[item.view] += item.tokens
    entry["tokens_by_view"] = dict(tokens_by_view)
    return entry


def _whole_files(ranked: list[tuple[str, int]], budget: int, gold: sb.Gold) -> dict[str, Any]:
    used, chosen = 0, []
    for path, cost in ranked:
        if used + cost <= budget:
            chosen.append(path)
            used += cost
    # whole files: every line of a chosen file is shown in full
    items = [(path, 1, 10**9, "full") for path in chosen]
    return _entry(items, used, gold)


def _rrf(found: recorded.Record) -> list[Chunk]:
    """The plain hybrid: the BM25 and vector lists without test files (as the SWE-bench
    protocol leaves them out) fused by reciprocal rank (k=60, equal weights), no other
    signal, no priors."""
    from codeintel.retrieval.fusion import reciprocal_rank_fusion

    lists = {
        signal: [cid for cid in ids if not sb.is_test_path(found.chunks[cid]["path"])]
        for signal, ids in found.plain.items()
    }
    fused = reciprocal_rank_fusion(lists, dict.fromkeys(lists, 1.0), 60)
    return [found.chunk(hit.id) for hit in fused]


def _whole_definitions(found: recorded.Record, ranked: list[Chunk]) -> list[list[Chunk]]:
    """``ranked`` with every split definition whole: all its parts where its best part ranks."""
    from codeintel.retrieval.search import split_key

    parts: dict[tuple[str, str, str], list[Chunk]] = {}
    for chunk_id in found.siblings:
        chunk = found.chunk(chunk_id)
        key = split_key(chunk)
        if key is not None:
            parts.setdefault(key, []).append(chunk)
    units: list[list[Chunk]] = []
    seen: set[tuple[str, str, str]] = set()
    for chunk in ranked:
        key = split_key(chunk)
        if key is None:
            units.append([chunk])
        elif key not in seen:
            seen.add(key)
            units.append(parts.get(key, [chunk]))
    return units


def _greedy(
    ranked: list[list[Chunk]], budget: int, counter: TokenCounter, gold: sb.Gold
) -> dict[str, Any]:
    """Items (each: chunks shown in full together) in rank order, each taken if it fits;
    one whose lines are all shown already is passed over."""
    from codeintel.agent.render import chunk_piece, render

    used, chosen = 0, []
    shown: list[tuple[str, int, int]] = []
    for rank, chunks in enumerate(ranked):
        if all(
            any(p == c.path and s <= c.start_line and c.end_line <= e for p, s, e in shown)
            for c in chunks
        ):
            continue
        pieces = [chunk_piece(c, "full", float(len(ranked) - rank)) for c in chunks]
        cost = counter.count(render(pieces).text)
        if used + cost <= budget:
            chosen.extend(pieces)
            shown.extend((c.path, c.start_line, c.end_line) for c in chunks)
            used += cost
    chosen, tokens = _rendered(chosen, budget, counter)
    return _entry([(p.path, p.start_line, p.end_line, p.view) for p in chosen], tokens, gold)


def _rendered(pieces: list[Piece], budget: int, counter: TokenCounter) -> tuple[list[Piece], int]:
    """The pieces' rendering counted exactly; least relevant dropped while over budget."""
    from codeintel.agent.render import render

    pieces = list(pieces)
    tokens = counter.count(render(pieces).text) if pieces else 0
    while tokens > budget:
        pieces.remove(min(pieces, key=lambda p: p.score))
        tokens = counter.count(render(pieces).text) if pieces else 0
    return pieces, tokens


# ----------------------------------------------------------------------------- report


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    done = sb.scored(results)
    summary: dict[str, Any] = {"instances": len(done), "repos": {}}
    for r in done:
        summary["repos"][r["repo"]] = summary["repos"].get(r["repo"], 0) + 1
    summary["repo_tokens_mean"] = sb.mean([r["repo_tokens"] for r in done])
    summary["gold_tokens_mean"] = sb.mean([r["gold_tokens"] for r in done])
    methods = [m for m in METHODS if done and all(m in r[str(BUDGETS[0])] for r in done)]
    summary["methods"] = methods
    for budget in BUDGETS:
        b = str(budget)
        summary[b] = {method: _means([r[b][method] for r in done]) for method in methods}
    bounded = [r["sites_in_candidates"] for r in done if "sites_in_candidates" in r]
    summary["sites_in_candidates"] = {"mean": sb.mean(bounded), "n": len(bounded)}
    summary["by_repo"] = {
        repo: {
            f"{method}@{budget}": {
                metric: sb.mean([r[str(budget)][method][metric] for r in done if r["repo"] == repo])
                for metric in ("file_all", "edit_all")
            }
            for method in methods[:2]
            for budget in (8000, 32000)
        }
        for repo in sorted(summary["repos"])
    }
    unnamed = [r for r in done if r.get("names_gold") is False]
    summary["unnamed"] = {
        "n": len(unnamed),
        **{
            f"{method}@{budget}": {
                metric: sb.mean([r[str(budget)][method][metric] for r in unnamed])
                for metric in ("file_all", "edit_all")
            }
            for method in methods[:2]
            for budget in (8000, 32000)
        },
    }
    summary["skipped"] = [r["instance_id"] for r in results if "skipped" in r]
    summary["failed"] = [r["instance_id"] for r in results if "error" in r]
    return summary


def _means(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """One method's summary at one budget; the share of its tokens each view took."""
    means: dict[str, Any] = {
        "file_all": sb.mean([e["file_all"] for e in entries]),
        "edit_all": sb.mean([e["edit_all"] for e in entries]),
        "tokens_mean": sb.mean([e["tokens"] for e in entries]),
        "tokens_max": max((e["tokens"] for e in entries), default=0),
        "items_median": sb.percentile([e.get("items", 0) for e in entries], 50),
    }
    if entries and all("tokens_by_view" in e for e in entries):
        total = sum(e["tokens"] for e in entries) or 1
        for view in ("skeleton", "signature"):
            spent = sum(e["tokens_by_view"].get(view, 0) for e in entries)
            means[f"{view}_share"] = spent / total
    return means


def table(summary: dict[str, Any]) -> str:
    lines = [
        f"token savings, n={summary['instances']} instances {summary['repos']}",
        f"mean whole-repository tokens {summary['repo_tokens_mean']:.0f},"
        f" mean gold-file tokens {summary['gold_tokens_mean']:.0f} ({ENCODING})",
        f"{'budget':>7} {'method':13} {'file_all':>8} {'edit_all':>8} {'tokens':>8} {'max':>7}"
        f" {'items':>6} {'skel%':>6} {'sig%':>6}",
    ]
    for budget in BUDGETS:
        for method in summary["methods"]:
            s = summary[str(budget)][method]
            shares = "".join(
                f" {sb.pct(s[key]):>6}" for key in ("skeleton_share", "signature_share") if key in s
            )
            lines.append(
                f"{budget:>7} {method:13} {sb.pct(s['file_all']):>8} {sb.pct(s['edit_all']):>8}"
                f" {s['tokens_mean']:8.0f} {s['tokens_max']:7d} {s['items_median']:6.0f}{shares}"
            )
    bound = summary.get("sites_in_candidates", {})
    if bound.get("n"):
        lines.append(
            f"edit sites all inside the {bound['n']} instances' packer candidates"
            f" (bound on its edit_all): {sb.pct(bound['mean'])}"
        )
    columns: dict[str, Any] = next(iter(summary.get("by_repo", {}).values()), {})
    lines.append(f"per repository (n): file_all / edit_all, {' | '.join(columns)}")
    for repo, cells in summary.get("by_repo", {}).items():
        row = " | ".join(f"{sb.pct(c['file_all'])} {sb.pct(c['edit_all'])}" for c in cells.values())
        lines.append(f"  {repo:20} ({summary['repos'][repo]:2}) {row}")
    unnamed = summary.get("unnamed", {})
    if unnamed.get("n"):
        row = " | ".join(
            f"{key} {sb.pct(c['file_all'])} {sb.pct(c['edit_all'])}"
            for key, c in unnamed.items()
            if key != "n"
        )
        lines.append(f"questions naming no gold file or function ({unnamed['n']}): {row}")
    lines.append(
        "anchor (SWE-bench paper, BM25 files): all gold files 26.1% @13k, 39.8% @27k, 45.9% @50k"
    )
    return "\n".join(lines)


def plot(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    for ax, metric in zip(axes, ("file_all", "edit_all"), strict=True):
        for method in summary["methods"]:
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
    from codeintel.settings import ContextSettings

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sb.add_common_args(parser)
    parser.add_argument(
        "--candidates",
        type=int,
        default=ContextSettings().candidates,
        help="hybrid results the packer chooses from",
    )
    parser.add_argument(
        "--rescore", action="store_true", help="score the cached results again from their records"
    )
    args = parser.parse_args(argv)
    records = args.out / "records" / sb.model_slug(args.model)
    if args.rescore:
        args.report_only = True
    results = sb.results_of(
        "token_savings",
        args,
        lambda embedder: evaluator(embedder, args.candidates, TokenCounter(ENCODING), records),
    )
    if args.rescore:
        results = rescore(results, args, records, TokenCounter(ENCODING))
    sb.publish("token_savings", args, summarize(results), results, table, plot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
