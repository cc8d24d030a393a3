"""Shared fixtures: offline tokenizer files, an isolated embedding cache, real temp repos."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

_SHARED_TIKTOKEN = Path(__file__).resolve().parents[2] / "shared" / "tiktoken"
if "TIKTOKEN_CACHE_DIR" not in os.environ and _SHARED_TIKTOKEN.is_dir():
    os.environ["TIKTOKEN_CACHE_DIR"] = str(_SHARED_TIKTOKEN)
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(autouse=True)
def isolated_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test gets its own embedding cache and no stray CODEINTEL_* settings."""
    for name in list(os.environ):
        if name.startswith("CODEINTEL_"):
            monkeypatch.delenv(name)
    folder = tmp_path_factory.mktemp("embed-cache")
    monkeypatch.setenv("CODEINTEL_CACHE_DIR", str(folder))
    return folder


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def git_init(root: Path) -> None:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
