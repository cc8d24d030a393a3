"""Cold start: how long a user waits for a fresh ``codeintel`` process, start to exit.

Each command runs as its own process, as a user types it, on an indexed repository of at
least ``--min-chunks`` chunks: ``--help``, ``index status``, ``search`` (vectors on),
``search --lexical`` and ``context --budget 8000``. Each runs ``--repeats`` times on the
default query path (questions embedded on ONNX Runtime) and, alternating with it in the same
run, on the torch path (``CODEINTEL_EMBED_BACKEND=torch``: sentence-transformers, as before
the ONNX path existed). One untimed run of each first fills the OS page cache and Python's
bytecode cache, as a user's second command finds them. The machine's load average is
printed before and after: these timings mean something only on an otherwise idle machine.

Run: ``python -m benchmarks.cold_start --repo DIR [--repeats 5] [--query Q] [--out F]``
(``DIR`` already indexed with the default model, e.g. by ``codeintel index build DIR``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

QUERY = "where is the configuration file read and its values validated"
TARGETS = {"--help": 0.3, "index status": 0.5, "search": 1.5, "context": 2.0}
PATHS = {"onnx": {}, "torch": {"CODEINTEL_EMBED_BACKEND": "torch"}}


def commands(query: str) -> dict[str, list[str]]:
    return {
        "--help": ["--help"],
        "index status": ["index", "status"],
        "search": ["search", query],
        "search --lexical": ["search", "--lexical", query],
        "context": ["context", "--budget", "8000", query],
    }


def codeintel() -> list[str]:
    script = Path(sys.executable).with_name("codeintel")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-c", "from codeintel.cli.main import main; main()"]


def run_once(args: list[str], repo: Path, extra: dict[str, str]) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    started = time.perf_counter()
    done = subprocess.run(
        [*codeintel(), *args], cwd=repo, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"codeintel {' '.join(args)} failed: {done.stderr.strip()[-300:]}")
    return seconds


def chunk_count(repo: Path) -> int:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    out = subprocess.run(
        [*codeintel(), "index", "status", "--json"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    status = json.loads(out.stdout)
    return int(status["chunks"]) if status.get("embedded") else 0


def measure(repo: Path, query: str, repeats: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per command and path, the paths alternating within each repeat."""
    table = commands(query)
    times: dict[str, dict[str, list[float]]] = {name: {p: [] for p in PATHS} for name in table}
    for args in table.values():
        for extra in PATHS.values():
            run_once(args, repo, extra)  # untimed: page cache and bytecode
    for repeat in range(repeats):
        for name, args in table.items():
            order = list(PATHS.items()) if repeat % 2 == 0 else list(PATHS.items())[::-1]
            for path, extra in order:
                times[name][path].append(run_once(args, repo, extra))
    return times


def report(times: dict[str, dict[str, list[float]]]) -> tuple[list[str], dict[str, Any]]:
    lines = [f"{'command':18} {'onnx s (min-max)':>22} {'torch s (min-max)':>22} {'ratio':>6}"]
    summary: dict[str, Any] = {}
    for name, by_path in times.items():
        onnx, torch = (statistics.median(by_path[p]) for p in ("onnx", "torch"))
        target = TARGETS.get(name)
        verdict = (
            ""
            if target is None
            else f"  target {target} s: {'met' if onnx <= target else 'missed'}"
        )
        lines.append(
            f"{name:18} {onnx:7.2f} ({min(by_path['onnx']):.2f}-{max(by_path['onnx']):.2f})"
            f"      {torch:7.2f} ({min(by_path['torch']):.2f}-{max(by_path['torch']):.2f})"
            f"      {torch / onnx:5.2f}x{verdict}"
        )
        summary[name] = {"onnx": by_path["onnx"], "torch": by_path["torch"], "target": target}
    return lines, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repo", type=Path, required=True, help="an indexed repository")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--query", default=QUERY)
    parser.add_argument("--min-chunks", type=int, default=50_000)
    parser.add_argument("--out", type=Path, help="write the timings here as JSON")
    args = parser.parse_args(argv)
    chunks = chunk_count(args.repo)
    if chunks < args.min_chunks:
        raise SystemExit(
            f"{args.repo} has {chunks} embedded chunks; index one of at least {args.min_chunks}"
            " (or pass --min-chunks)"
        )
    before = os.getloadavg()
    times = measure(args.repo, args.query, args.repeats)
    after = os.getloadavg()
    lines, summary = report(times)
    print(f"{args.repo}: {chunks} chunks; median of {args.repeats} fresh processes per cell")
    print("\n".join(lines))
    print(f"load average before {before[0]:.2f}, after {after[0]:.2f} ({os.cpu_count()} CPUs)")
    if args.out:
        payload = {"repo": str(args.repo), "chunks": chunks, "load": [before, after], **summary}
        args.out.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
