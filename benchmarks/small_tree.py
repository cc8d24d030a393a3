"""How much of a small tree's `index build --no-embed` is fixed cost: the whole CLI process
against the bare tree-sitter parse of the same files.

Run: ``python -m benchmarks.small_tree [--root DIR] [--mb 3] [--repeats 5]``. The tree is
the first ``--mb`` megabytes of source files under ``--root`` (default: the running
interpreter's standard library, files in path order, ``site-packages`` and test folders
left out), copied to a temporary folder. Each round runs a fresh ``codeintel index build
--no-embed --rebuild`` process in the copy (wall time, as a user waits for it) and, in this
process, parses every file of the copy with its tree-sitter grammar (parser creation
excluded, files read beforehand): the ratio of the two per round, and its median. Target
≤ 4x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from codeintel.indexer.chunking.syntax import parser_for
from codeintel.indexer.languages import language_for

TARGET = 4.0
_COMMAND = str(Path(sys.executable).parent / "codeintel")  # the venv's, as a user types it
_LEFT_OUT = {"site-packages", "test", "tests", "__pycache__", "idlelib"}


def pick_files(root: Path, megabytes: float) -> list[Path]:
    """Source files with a tree-sitter grammar, in path order, up to ``megabytes``."""
    picked, total = [], 0
    for path in sorted(root.rglob("*")):
        parts = set(path.relative_to(root).parts)
        if parts & _LEFT_OUT or not path.is_file() or path.is_symlink():
            continue
        if language_for(path.name).splitter != "treesitter":
            continue
        size = path.stat().st_size
        if total + size > megabytes * 1e6:
            break
        picked.append(path)
        total += size
    return picked


def copy_files(files: list[Path], root: Path, dest: Path) -> int:
    for path in files:
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return sum(path.stat().st_size for path in files)


def bare_parse_seconds(tree: Path) -> float:
    """Seconds to parse every grammar-backed file under ``tree`` (parsers made first)."""
    sources = []
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and ".codeintel" not in p.parts):
        spec = language_for(path.name)
        if spec.splitter == "treesitter":
            sources.append((parser_for(spec.grammar), path.read_bytes()))
    started = time.perf_counter()
    for parser, source in sources:
        parser.parse(source)
    return time.perf_counter() - started


def cli_build_seconds(tree: Path) -> float:
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's interpreter caches bytecode
    started = time.perf_counter()
    subprocess.run(
        [_COMMAND, "index", "build", "--no-embed", "--rebuild"],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--mb", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="small-tree-") as work:
        tree = Path(work) / "tree"
        files = pick_files(args.root, args.mb)
        size = copy_files(files, args.root, tree)
        print(f"{len(files)} files, {size / 1e6:.2f} MB from {args.root}; load {os.getloadavg()}")
        cli_build_seconds(tree)  # untimed: bytecode and page cache as a second run finds them
        ratios = []
        for round_ in range(args.repeats):
            cli = cli_build_seconds(tree)
            parse = bare_parse_seconds(tree)
            ratios.append(cli / parse)
            ratio = f"{cli / parse:.1f}x"
            print(f"round {round_ + 1}: CLI {cli:.2f} s, bare parse {parse:.3f} s, {ratio}")
        median = statistics.median(ratios)
        verdict = "PASS" if median <= TARGET else "FAIL"
        print(f"median {median:.1f}x ({verdict} <= {TARGET}x); load {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
