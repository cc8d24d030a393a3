"""A model that cannot load says why at once, in one line: a device this torch cannot use, or
a hub model that is not in the local Hugging Face cache while the hub cannot be reached.

Real torch, real huggingface_hub and real caches throughout: the hub "cache entries" are the
packaged all-MiniLM-L6-v2 laid out as huggingface_hub lays out a download, and the "hub" is
either a closed local port or a local HTTP server that answers like the hub for a missing repo.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codeintel.cli.main import main
from codeintel.errors import ConfigError, ModelUnavailable
from codeintel.indexer.embedder import embedder_identity, load_embedder
from codeintel.indexer.model_source import packaged_minilm_path, resolve_device
from codeintel.settings import EmbedSettings
from tests.conftest import write_files

HUB_VARS = ("SENTENCE_TRANSFORMERS_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE")
OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
SNAPSHOT = "0123456789abcdef0123456789abcdef01234567"

no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="this torch has a usable GPU")


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, found through HF_HOME as on a user's machine."""
    for name in HUB_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    hub = tmp_path / "hf" / "hub"
    hub.mkdir(parents=True)
    return hub


def link_tree(source: Path, target: Path, skip: tuple[str, ...] = ()) -> None:
    """``source``'s files under ``target`` as links (copies where links are not allowed)."""
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if not path.is_file() or rel.as_posix() in skip:
            continue
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        try:
            (target / rel).symlink_to(path.resolve())
        except OSError:
            shutil.copyfile(path, target / rel)


def add_to_cache(hub: Path, repo: str, source: Path, skip: tuple[str, ...] = ()) -> None:
    """``source``'s files as a downloaded snapshot of ``repo`` (snapshot files, refs/main)."""
    entry = hub / f"models--{repo.replace('/', '--')}"
    link_tree(source, entry / "snapshots" / SNAPSHOT, skip)
    (entry / "refs").mkdir(parents=True, exist_ok=True)
    (entry / "refs" / "main").write_text(SNAPSHOT)


def closed_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def cli(*args: str, env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """``codeintel ARGS`` as a user runs it, in a fresh process with ``env``."""
    script = Path(sys.executable).with_name("codeintel")
    command = [str(script)] if script.is_file() else [sys.executable, "-c", _MAIN]
    return subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


_MAIN = "from codeintel.cli.main import main; main()"


def user_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in OFFLINE_VARS + HUB_VARS}
    env.update(extra)
    return env


def error_line(stderr: str) -> str:
    """The one ``error:`` line, which ends stderr (progress notes may come before it)."""
    lines = stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert "Traceback" not in stderr
    return errors[0]


# --- devices ---------------------------------------------------------------------------------


@no_cuda
def test_cuda_without_a_usable_gpu_names_the_torch_build() -> None:
    started = time.monotonic()
    with pytest.raises(ConfigError) as caught:
        load_embedder(EmbedSettings(device="cuda"))
    message = str(caught.value)
    assert time.monotonic() - started < 30
    assert "\n" not in message and message.startswith("embed.device is 'cuda'")
    assert torch.__version__ in message and 'embed.device = "cpu"' in message
    if torch.version.cuda is None and getattr(torch.version, "hip", None) is None:
        assert "has no CUDA support" in message
    else:
        assert "finds no usable GPU" in message
    assert "model" not in message.replace("embed.", "")  # the model is not to blame


def test_mps_where_it_is_unavailable_is_refused() -> None:
    if torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    with pytest.raises(ConfigError, match=r"embed\.device is 'mps' but .*MPS") as caught:
        load_embedder(EmbedSettings(device="mps"))
    assert "\n" not in str(caught.value)


def test_auto_and_cpu_pick_a_device_this_torch_can_use() -> None:
    expected = (
        "cuda"
        if torch.cuda.is_available()
        else "mps"
        if torch.backends.mps.is_available()
        else "cpu"
    )
    assert resolve_device("auto") == expected
    assert resolve_device("cpu") == "cpu"
    torch.zeros(1, device=resolve_device("auto"))  # and torch can really use it


@no_cuda
def test_cli_build_with_device_cuda_is_one_error_line(tmp_path: Path) -> None:
    write_files(tmp_path / "repo", {"a.py": "def f():\n    return 1\n"})
    result = CliRunner().invoke(
        main, ["index", "build", str(tmp_path / "repo"), "--device", "cuda"]
    )
    assert result.exit_code == 1, result.output
    line = error_line(result.stderr)
    assert "embed.device is 'cuda'" in line and "CUDA" in line
    assert "local sentence-transformers folder" not in line


# --- hub names that are not in the local cache -------------------------------------------------


def test_uncached_hub_model_offline_fails_at_once(
    hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = EmbedSettings(model="all-mpnet-base-v2")
    for call in (load_embedder, embedder_identity):
        started = time.monotonic()
        with pytest.raises(ModelUnavailable) as caught:
            call(settings)
        assert time.monotonic() - started < 30
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(
            f"embedding model 'all-mpnet-base-v2' is not in the local Hugging Face cache "
            f"({hf_cache})"
        )
        assert "HF_HUB_OFFLINE is set" in message
        assert "hf download sentence-transformers/all-mpnet-base-v2" in message
        assert "packaged default all-MiniLM-L6-v2" in message


def test_uncached_hub_model_with_the_hub_unreachable_fails_at_once(tmp_path: Path) -> None:
    """No HF_HUB_OFFLINE: the hub (HF_ENDPOINT, a closed port here) is tried once, briefly."""
    write_files(tmp_path / "repo", {"a.py": "x = 1\n"})
    env = user_env(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=closed_endpoint())
    started = time.monotonic()
    result = cli("index", "build", str(tmp_path / "repo"), "--model", "org/some-model", env=env)
    assert time.monotonic() - started < 60  # was 86 s of retries before the error
    assert result.returncode == 1, result.stderr
    line = error_line(result.stderr)
    assert line.startswith(
        "error: embedding model 'org/some-model' is not in the local Hugging Face cache "
        f"({tmp_path / 'hf' / 'hub'}) and 127.0.0.1 cannot be reached ("
    )
    assert "Retrying" not in result.stderr


@pytest.fixture
def repo_not_found_hub() -> Iterator[str]:
    """A local server answering every request as the hub does for a missing repository."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self) -> None:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = answer

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_reachable_hub_is_asked_and_a_missing_repo_is_named(
    tmp_path: Path, repo_not_found_hub: str
) -> None:
    write_files(tmp_path / "repo", {"a.py": "x = 1\n"})
    env = user_env(HF_HOME=str(tmp_path / "hf"), HF_ENDPOINT=repo_not_found_hub)
    result = cli("index", "build", str(tmp_path / "repo"), "--model", "org/missing", env=env)
    assert result.returncode == 1, result.stderr
    line = error_line(result.stderr)
    assert "'org/missing' was not found on the Hugging Face hub" in line
    assert "cannot be reached" not in line


# --- hub names that are in the local cache -----------------------------------------------------


def test_cached_hub_model_loads_offline_and_embeds(
    hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    for name in OFFLINE_VARS:
        monkeypatch.delenv(name, raising=False)
    offline_before = constants.HF_HUB_OFFLINE
    # a bare name, as sentence-transformers users write it: sentence-transformers/<name>
    add_to_cache(hf_cache, "sentence-transformers/minilm-copy", packaged_minilm_path())
    settings = EmbedSettings(model="minilm-copy")
    assert embedder_identity(settings) == ("minilm-copy", 384)
    embedder = load_embedder(settings)
    assert (embedder.model_id, embedder.dim) == ("minilm-copy", 384)
    texts = ["def parse_config(path):", "class Store: pass"]
    vectors = embedder.embed(texts)
    assert vectors.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    same_weights = load_embedder(EmbedSettings()).embed(texts)
    np.testing.assert_allclose(vectors, same_weights, atol=1e-5)
    # offline only while loading: nothing is left switched off for the rest of the process
    assert constants.HF_HUB_OFFLINE is offline_before
    assert not any(name in os.environ for name in OFFLINE_VARS)


def test_a_partial_cache_entry_without_the_hub_names_both(
    hf_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    add_to_cache(hf_cache, "org/partial", packaged_minilm_path(), skip=("model.safetensors",))
    with pytest.raises(ModelUnavailable) as caught:
        load_embedder(EmbedSettings(model="org/partial"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(
        f"embedding model 'org/partial' is in the local Hugging Face cache ({hf_cache}) but "
        "does not load from it (OSError: "
    )
    assert "HF_HUB_OFFLINE is set" in message


def test_identity_loads_the_model_when_pooling_concatenates_modes(tmp_path: Path) -> None:
    """mean+max pooling doubles the width: the dimension comes from the model, not the file."""
    folder = tmp_path / "minilm-mean-max"
    link_tree(packaged_minilm_path(), folder, skip=("1_Pooling/config.json",))
    config = json.loads((packaged_minilm_path() / "1_Pooling" / "config.json").read_text())
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(
        json.dumps({**config, "pooling_mode_max_tokens": True})
    )
    settings = EmbedSettings(model=str(folder))
    assert embedder_identity(settings)[1] == 768 == load_embedder(settings).dim


# --- model names that are neither folders nor hub names ---------------------------------------


def test_a_path_that_does_not_exist_is_not_sent_to_the_hub(tmp_path: Path) -> None:
    missing = str(tmp_path / "models" / "nope")
    with pytest.raises(ConfigError, match="is neither an existing folder nor a Hugging Face"):
        load_embedder(EmbedSettings(model=missing))
    (tmp_path / "model.bin").write_bytes(b"\0")
    with pytest.raises(ConfigError, match="is a file, not a model folder"):
        load_embedder(EmbedSettings(model=str(tmp_path / "model.bin")))
