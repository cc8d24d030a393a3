"""Both SWE-bench benchmarks in one pass: one checkout and build per instance, then both
reports (``retrieval_quality`` and ``token_savings``, from the results just cached).

Run from the repository root: ``python -m benchmarks.run_swebench [--limit N] [--repos ...]
[--model M] [--out D] [--depth N] [--candidates N]``.
"""

from __future__ import annotations

import argparse
import sys

from benchmarks import retrieval_quality, token_savings
from benchmarks import swebench as sb
from codeintel.indexer.tokens import TokenCounter
from codeintel.settings import ContextSettings


def main(argv: list[str] | None = None) -> int:
    """Runs both benchmarks in one pass (one checkout and build per instance), then prints
    both reports: ``python -m benchmarks.run_swebench [--limit N] ...``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    sb.add_common_args(parser)
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=ContextSettings().candidates)
    args = parser.parse_args(argv)
    instances, worktrees = sb.setup(args)
    embedder = sb.load_model(args.model)
    slug = sb.model_slug(args.model)
    sb.log(f"{len(instances)} instances, model {args.model}")
    sb.run(
        instances,
        worktrees,
        args.model,
        {
            "retrieval_quality": (
                args.out / "retrieval_quality" / slug,
                retrieval_quality.evaluator(embedder, args.depth),
            ),
            "token_savings": (
                args.out / "token_savings" / slug,
                token_savings.evaluator(
                    embedder,
                    args.candidates,
                    TokenCounter(token_savings.ENCODING),
                    args.out / "records" / slug,
                ),
            ),
        },
        embedder,
    )
    common = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--report-only"]
    retrieval_quality.main(report_args(common))
    token_savings.main(report_args(common))
    return 0


def report_args(argv: list[str]) -> list[str]:
    """The shared options only (the per-benchmark ones are dropped), plus --report-only."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in ("--depth", "--candidates"):
            skip = True
            continue
        if arg.startswith(("--depth=", "--candidates=")):
            continue
        out.append(arg)
    return out + ["--report-only"]


if __name__ == "__main__":
    raise SystemExit(main())
