"""What an index takes on disk: the whole folder against what its current versions use, and
the current chunks' bytes by column.

Run: ``python -m benchmarks.index_disk INDEX_DIR [INDEX_DIR ...] [--json FILE]`` (the
``.codeintel`` folder of a repository, or its ``db``). Per table: bytes on disk, bytes the
current version references (its fragments' data and deletion files, its indexes' files),
the versions kept, the bytes of data/index/deletion files no current version uses, and
the bytes of current files that are columns a later update superseded (Lance writes an
updated column to a file of its own). The target: on disk ≤ 1.3× the live data (what the
current versions reference, less superseded columns). Per column of the chunks table: the
bytes of its pages in the current data files, per chunk.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

TARGET = 1.3
# A column of a data file that a later update replaced (Lance rewrites updated columns into
# a file of their own and tombstones them in the old one): dead bytes in a current file.
SUPERSEDED = "(superseded)"


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def table_usage(path: Path) -> dict[str, Any]:
    """One Lance table: on disk, referenced by its current version, and per column."""
    import lance
    from lance.file import LanceFileReader

    dataset = lance.dataset(str(path))
    names = _field_names(dataset)
    columns: dict[str, int] = {}
    referenced = 0
    for fragment in dataset.get_fragments():
        meta = fragment.metadata
        if meta.deletion_file is not None:
            referenced += _size(path / "_deletions", meta.deletion_file)
        for data_file in fragment.data_files():
            file_path = path / "data" / data_file.path
            referenced += file_path.stat().st_size
            in_file = LanceFileReader(str(file_path)).metadata().columns
            for field_id, column in zip(data_file.fields, in_file, strict=False):
                name = names.get(field_id, SUPERSEDED)
                pages = sum(b.size for page in column.pages for b in page.buffers)
                columns[name] = columns.get(name, 0) + pages
    for index in dataset.list_indices():
        referenced += folder_bytes(path / "_indices" / str(index["uuid"]))
    on_disk = folder_bytes(path)
    stored = sum(folder_bytes(path / part) for part in ("data", "_indices", "_deletions"))
    rows = dataset.count_rows()
    return {
        "rows": rows,
        "physical_rows": sum(fragment.physical_rows for fragment in dataset.get_fragments()),
        "versions": len(dataset.versions()),
        "on_disk": on_disk,
        "referenced": referenced,
        "unreferenced": stored - referenced,  # data, index and deletion files no one uses
        "superseded": columns.get(SUPERSEDED, 0),
        "ratio": on_disk / referenced if referenced else 0.0,
        "columns": dict(sorted(columns.items(), key=lambda kv: -kv[1])),
    }


def _field_names(dataset: Any) -> dict[int, str]:
    """Field id (a list's item too) → its top-level column's name."""
    names: dict[int, str] = {}
    for field in dataset.lance_schema.fields():
        for member in (field, *field.children()):
            names[member.id()] = field.name()
    return names


def _size(folder: Path, deletion: Any) -> int:
    matches = [p for p in folder.glob(f"*{deletion.id}*") if p.is_file()] if folder.is_dir() else []
    return sum(p.stat().st_size for p in matches)


def index_usage(index_dir: Path) -> dict[str, Any]:
    db = index_dir / "db" if (index_dir / "db").is_dir() else index_dir
    tables = {p.name.removesuffix(".lance"): table_usage(p) for p in sorted(db.glob("*.lance"))}
    on_disk = folder_bytes(db)
    referenced = sum(t["referenced"] for t in tables.values())
    return {
        "index": str(index_dir),
        "on_disk": on_disk,
        "referenced": referenced,
        "unreferenced": sum(t["unreferenced"] for t in tables.values()),
        "superseded": sum(t["superseded"] for t in tables.values()),
        "live_ratio": on_disk / max(1, referenced - sum(t["superseded"] for t in tables.values())),
        "ratio": on_disk / referenced if referenced else 0.0,
        "tables": tables,
    }


def report(usage: dict[str, Any]) -> str:
    mb = 1e6
    lines = [
        f"{usage['index']}: {usage['on_disk'] / mb:.1f} MB on disk, "
        f"{usage['referenced'] / mb:.1f} MB current, of which {usage['superseded'] / mb:.1f} MB "
        f"superseded columns; on disk ÷ live {usage['live_ratio']:.2f} "
        f"({'PASS' if usage['live_ratio'] <= TARGET else 'FAIL'} ≤ {TARGET})"
    ]
    for name, table in usage["tables"].items():
        lines.append(
            f"  {name:14} {table['rows']:>7,} rows, {table['versions']:>3} versions, "
            f"{table['on_disk'] / mb:7.1f} MB on disk, {table['referenced'] / mb:7.1f} MB current"
        )
    chunks = next((t for n, t in usage["tables"].items() if n.startswith("chunks")), None)
    if chunks and chunks["rows"]:
        total = sum(chunks["columns"].values())
        lines.append(f"  chunks by column (bytes per chunk; {total / chunks['rows']:,.0f} in all):")
        for column, size in chunks["columns"].items():
            lines.append(
                f"    {column:12} {size / chunks['rows']:8,.0f}  {100 * size / total:5.1f}%"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("indexes", nargs="+", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    usages = [index_usage(path) for path in args.indexes]
    for usage in usages:
        print(report(usage))
    if args.json:
        args.json.write_text(json.dumps(usages, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
