"""Hypothesis profiles and shared fixtures: offline tokenizer files, embedding cache, temp repos."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.provider_server import ProviderServer

# Property tests take their settings from a profile named by HYPOTHESIS_PROFILE: "ci", the
# default, replays the same examples on every run, so a test never fails by chance;
# "thorough" searches at random with many more examples (a test's own settings still win).
settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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


@pytest.fixture
def server() -> Iterator[ProviderServer]:
    """A loopback HTTP server playing an LLM provider (``tests/provider_server.py``)."""
    with ProviderServer().running() as running:
        yield running
