"""Packer speed and quality on realistic chunks: 500 candidates, a 32k budget.

Chunks are functions, classes and methods sliced out of the Python standard library with
``ast`` (classes with member signatures as skeletons), scored with a decaying relevance as a
retriever would rank them. Prints p50/p95 of the solver alone and of the whole
``build_context`` (views priced, solved, rendered, recounted), and the value and tokens of the
solver against ratio-greedy on the same items.

Run: ``python -m benchmarks.packer_speed [--candidates N] [--budget N] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import ast
import math
import random
import statistics
import sysconfig
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from codeintel.agent.context import Candidate, build_context, solver_groups
from codeintel.agent.packer import Solution, SolverSettings, ratio_greedy, solve
from codeintel.indexer.models import Chunk
from codeintel.indexer.tokens import TokenCounter

_MARKER = "..."
_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


def stdlib_chunks(limit_files: int, seed: int) -> list[Chunk]:
    """Chunks of top-level definitions and methods in a sample of stdlib modules."""
    files = sorted(Path(sysconfig.get_paths()["stdlib"]).glob("*.py"))
    chunks: list[Chunk] = []
    for path in random.Random(seed).sample(files, limit_files):
        source = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        chunks.extend(_file_chunks(f"Lib/{path.name}", source.split("\n"), tree))
    return chunks


def _file_chunks(path: str, lines: list[str], tree: ast.Module) -> Iterator[Chunk]:
    for node in tree.body:
        if isinstance(node, _Definition):
            yield _chunk(path, lines, node, "")
        if isinstance(node, ast.ClassDef):
            for member in node.body:
                if isinstance(member, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield _chunk(path, lines, member, node.name)


def _chunk(path: str, lines: list[str], node: _Definition, parent: str) -> Chunk:
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    end = node.end_lineno or node.lineno
    text = "\n".join(lines[start - 1 : end]) + "\n"
    return Chunk(
        path=path,
        language="python",
        kind="class" if isinstance(node, ast.ClassDef) else ("method" if parent else "function"),
        symbol=f"{parent}.{node.name}" if parent else node.name,
        parent=parent,
        start_line=start,
        end_line=end,
        start_byte=0,
        end_byte=0,
        text=text,
        signature=lines[node.lineno - 1].strip(),
        docstring=ast.get_docstring(node) or "",
        skeleton="\n".join(_skeleton(lines, node)) + "\n",
        defines=[node.name],
    )


def _skeleton(lines: list[str], node: _Definition) -> Iterator[str]:
    """Header lines, docstring lines and (for classes) members' headers; bodies elided."""
    yield from lines[node.lineno - 1 : node.body[0].lineno - 1]
    body = node.body
    if ast.get_docstring(node) is not None:
        first = body[0]
        yield from lines[first.lineno - 1 : first.end_lineno or first.lineno]
        body = body[1:]
    indent = " " * body[0].col_offset if body else "    "
    members = (
        [m for m in body if isinstance(m, _Definition)] if isinstance(node, ast.ClassDef) else []
    )
    for member in members:
        yield from lines[member.lineno - 1 : member.body[0].lineno - 1]
        yield f"{indent}    {_MARKER}"
    if len(members) < len(body):
        yield f"{indent}{_MARKER}"


def candidates(chunks: list[Chunk], count: int, seed: int) -> list[Candidate]:
    """``count`` chunks with decaying relevance, most relevant first."""
    rng = random.Random(seed)
    picked = rng.sample(chunks, min(count, len(chunks)))
    scores = sorted(
        (math.exp(-i / 150) * rng.uniform(0.7, 1.0) for i in range(len(picked))), reverse=True
    )
    return [Candidate(chunk, score) for chunk, score in zip(picked, scores, strict=True)]


def timings(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """p50 and p95 wall time of ``run`` in milliseconds."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(samples, n=20)
    return statistics.median(samples), cuts[-1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=500)
    parser.add_argument("--budget", type=int, default=32_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    counter = TokenCounter()
    pool = candidates(stdlib_chunks(80, args.seed), args.candidates, args.seed)
    started = time.perf_counter()
    result = build_context(pool, args.budget, counter)
    cold = (time.perf_counter() - started) * 1000
    groups = solver_groups(pool, counter)

    solver = timings(lambda: solve(groups, args.budget), args.repeats)
    whole = timings(lambda: build_context(pool, args.budget, counter), args.repeats)
    ours, greedy = solve(groups, args.budget), ratio_greedy(groups, args.budget)
    optimum = solve(groups, args.budget, SolverSettings(max_dp_cells=10**10, max_rounds=100))

    print(f"{len(groups)} candidates, budget {args.budget}, {args.repeats} runs")
    print(f"{'':28}{'p50 ms':>10}{'p95 ms':>10}")
    print(f"{'solver':28}{solver[0]:>10.2f}{solver[1]:>10.2f}")
    print(f"{'build_context (warm cache)':28}{whole[0]:>10.2f}{whole[1]:>10.2f}")
    print(f"{'build_context (first call)':28}{cold:>10.2f}")
    print()
    print(f"{'':16}{'value':>10}{'tokens':>10}{'items':>8}")
    for name, solution in (("knapsack", ours), ("ratio-greedy", greedy)):
        print(f"{name:16}{solution.value:>10.3f}{solution.cost:>10}{_chosen(solution):>8}")
    print(f"knapsack exact: {ours.exact}; value vs greedy: {ours.value / greedy.value:.2f}x")
    print(
        f"value vs the exact optimum (unbounded DP, exact={optimum.exact}):"
        f" {ours.value / optimum.value:.4f}"
    )
    print(f"build_context: {result.tokens} tokens of {args.budget}, {len(result.items)} items")


def _chosen(solution: Solution) -> int:
    return sum(choice is not None for choice in solution.choices)


if __name__ == "__main__":
    main()
