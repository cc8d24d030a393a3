"""Settings: defaults < codeintel.toml < CODEINTEL_<SECTION>_<KEY> < flags; bad values, one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from codeintel.cli.main import main
from codeintel.errors import ConfigError
from codeintel.settings import load_settings
from tests.conftest import write_files

TOML = """
[index]
max_file_bytes = 100
lock_timeout = 5
exclude = ["vendor/**"]

[embed]
model = "hashing:16"
batch_size = 8
"""


def test_precedence_defaults_toml_env_flags(tmp_path: Path) -> None:
    write_files(tmp_path, {"codeintel.toml": TOML})
    environ = {
        "CODEINTEL_INDEX_MAX_FILE_BYTES": "200",
        "CODEINTEL_EMBED_MODEL": "hashing:32",
        "CODEINTEL_INDEX_INCLUDE": '["build/**"]',
        "CODEINTEL_CACHE_DIR": "/somewhere/cache",
        "CODEINTEL_DEBUG": "1",  # not a setting: left to the CLI
        "PATH": "/usr/bin",
    }
    flags = {("embed", "model"): "hashing:48", ("embed", "device"): None}
    settings = load_settings(tmp_path, flags, environ)
    assert settings.index.max_file_bytes == 200  # env over toml
    assert settings.embed.model == "hashing:48"  # flag over env over toml
    assert settings.embed.device == "cpu"  # a flag left unset changes nothing
    assert settings.index.lock_timeout == 5.0  # toml over default
    assert settings.embed.batch_size == 8
    assert settings.index.exclude == ["vendor/**"]
    assert settings.index.include == ["build/**"]  # lists come from env as JSON
    assert settings.embed.cache_dir == "/somewhere/cache"
    assert settings.index.window_lines == 60  # default
    defaults = load_settings(tmp_path / "nowhere", environ={})
    assert defaults.index.max_file_bytes == 1_000_000 and defaults.embed.model != "hashing:16"


BAD_ENV = [
    ("CODEINTEL_CONTEXT_ENCODING", "p50k_base", ["context.encoding", "cl100k_base", "o200k_base"]),
    ("CODEINTEL_INDEX_MAX_FILE_BYTES", "lots", ["index.max_file_bytes", "valid integer"]),
    ("CODEINTEL_INDEX_WORKERS", "-1", ["index.workers", "greater than or equal to 0"]),
    ("CODEINTEL_EMBED_DEVICE", "tpu", ["embed.device", "'cpu', 'cuda', 'mps' or 'auto'"]),
    ("CODEINTEL_INDEX_INCLUDE", "src/**", ["index.include", "valid list", "JSON"]),
    ("CODEINTEL_INDEX_BOGUS", "1", ["unknown setting index.bogus", "max_file_bytes"]),
    ("CODEINTEL_EMBED_MODEL_NAME", "x", ["unknown setting embed.model_name", "batch_size"]),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD_ENV, ids=[b[0] for b in BAD_ENV])
def test_bad_environment_value(tmp_path: Path, name: str, value: str, expected: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={name: value})
    message = str(caught.value)
    assert "\n" not in message
    assert f"(from {name})" in message
    for part in expected:
        assert part in message


BAD_TOML = [
    ("[index]\nmax_file_bytes = 'big'\n", ["index.max_file_bytes", "valid integer"]),
    ("[context]\nencoding = 'gpt2'\n", ["context.encoding", "'cl100k_base' or 'o200k_base'"]),
    ("[index]\ninclude = 'src'\n", ["index.include", "valid list"]),
    ("[index]\nmax_file_size = 1\n", ["unknown setting index.max_file_size", "max_file_bytes"]),
    ("[indexer]\nuri = 'x'\n", ["unknown section [indexer]", "index, embed"]),
    ("model = 'hashing:8'\n", ["unknown section [model]"]),
    ("index = 3\n", ["index must be a table"]),
    ("[index\n", ["not valid TOML", "line 1"]),
    ("[embed]\nbatch_size = 0\n", ["embed.batch_size", "greater than or equal to 1"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD_TOML)
def test_bad_toml(tmp_path: Path, text: str, expected: list[str]) -> None:
    write_files(tmp_path, {"codeintel.toml": text})
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={})
    message = str(caught.value)
    assert "\n" not in message and "codeintel.toml" in message
    for part in expected:
        assert part in message


def test_bad_flag_names_the_command_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"embed\.device='gpu' \(from command line\)"):
        load_settings(tmp_path, {("embed", "device"): "gpu"}, environ={})


def test_long_bad_value_is_shortened(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"CODEINTEL_CONTEXT_ENCODING": "x" * 5000})
    assert len(str(caught.value)) < 300


def test_cli_honours_precedence_and_reports_bad_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(tmp_path, {"codeintel.toml": TOML, "a.py": "def a():\n    return 1\n"})
    monkeypatch.setenv("CODEINTEL_INDEX_MAX_FILE_BYTES", "10000")
    runner = CliRunner()
    built = runner.invoke(
        main, ["index", "build", str(tmp_path), "--json", "--model", "hashing:24"]
    )
    assert built.exit_code == 0, built.output
    assert json.loads(built.stdout)["files"] == 1  # a.py; codeintel.toml is not content
    status = json.loads(runner.invoke(main, ["index", "status", str(tmp_path), "--json"]).stdout)
    assert status["embedder"] == "hashing:24"
    monkeypatch.setenv("CODEINTEL_EMBED_DEVICE", "gpu")
    failed = runner.invoke(main, ["index", "build", str(tmp_path)])
    assert failed.exit_code == 1
    assert failed.stderr.count("\n") == 1
    assert "embed.device" in failed.stderr and "CODEINTEL_EMBED_DEVICE" in failed.stderr


def test_fusion_weights_are_every_weight_field() -> None:
    from codeintel.settings import RetrievalSettings

    weights = RetrievalSettings(weight_graph=0.25).weights()
    assert weights["graph"] == 0.25 and weights["bm25"] == 1.0
    assert {f"weight_{name}" for name in weights} == {
        name for name in RetrievalSettings.model_fields if name.startswith("weight_")
    }
    assert {"vector", "emphasis", "file", "focus"} <= set(weights)
