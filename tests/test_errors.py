"""Bad environments give one actionable line, and model identity follows content."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from codeintel.indexer.embedder import model_id
from codeintel.settings import EmbedSettings
from tests.conftest import write_files


def test_an_unusable_cache_folder_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path / "repo", {"a.py": "x = 1\n"})
    (tmp_path / "plain-file").write_text("")
    monkeypatch.setenv("CODEINTEL_CACHE_DIR", str(tmp_path / "plain-file" / "cache"))
    result = CliRunner().invoke(main, ["index", "build", str(tmp_path / "repo")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "CODEINTEL_CACHE_DIR" in result.stderr


def test_an_unwritable_index_folder_is_one_line(tmp_path: Path) -> None:
    write_files(tmp_path, {"a.py": "x = 1\n", ".codeintel": "not a folder"})
    result = CliRunner().invoke(main, ["index", "build", str(tmp_path), "--model", "hashing:8"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "index folder" in result.stderr


def test_a_local_model_is_named_by_its_content(tmp_path: Path) -> None:
    first = tmp_path / "one" / "encoder"
    write_files(first, {"config.json": '{"hidden_size": 384}', "model.safetensors": b"\0" * 64})
    copy = tmp_path / "two" / "encoder"
    shutil.copytree(first, copy)
    other = tmp_path / "three" / "encoder"
    write_files(other, {"config.json": '{"hidden_size": 768}', "model.safetensors": b"\0" * 64})
    ids = [model_id(EmbedSettings(model=str(folder))) for folder in (first, copy, other)]
    assert ids[0] == ids[1] != ids[2]
    assert model_id(EmbedSettings()) == "all-MiniLM-L6-v2"
