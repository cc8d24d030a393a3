"""The packaged MiniLM on ONNX Runtime: its vectors, its export, and a query path without torch."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codeintel.errors import ConfigError, ModelUnavailable
from codeintel.indexer.chunking import chunk_file
from codeintel.indexer.embed_text import embedding_text
from codeintel.indexer.embedder import SentenceTransformerEmbedder, load_embedder, uses_onnx
from codeintel.indexer.languages import language_for
from codeintel.indexer.onnx_embedder import OnnxEmbedder, export_folder, is_exported
from codeintel.settings import EmbedSettings
from tests.conftest import write_files

REPO = Path(__file__).resolve().parents[1]
_MAIN = "from codeintel.cli.main import main; main()"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the export (made once for the module: it takes seconds)."""
    cache = tmp_path_factory.mktemp("onnx-cache")
    OnnxEmbedder.load(cache, batch_size=32)
    assert is_exported(cache)
    return cache


def _cache_with_export(exported: Path, cache: Path) -> None:
    target = export_folder(cache)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(export_folder(exported), target)


def _code_chunks(limit: int) -> list[str]:
    """What the model sees of this repository's own Python chunks."""
    texts = []
    for folder in ("src", "benchmarks", "tests"):
        for path in sorted((REPO / folder).rglob("*.py")):
            rel = path.relative_to(REPO).as_posix()
            for chunk in chunk_file(rel, path.read_text(encoding="utf-8"), language_for(rel)):
                texts.append(embedding_text(chunk.kind, chunk.symbol, chunk.signature, chunk.text))
    return texts[:limit]


def test_onnx_vectors_match_sentence_transformers_on_real_code(exported: Path) -> None:
    texts = _code_chunks(1000)
    assert len(texts) == 1000
    onnx_embedder = OnnxEmbedder.load(exported, batch_size=32)
    torch_embedder = SentenceTransformerEmbedder(EmbedSettings(precision="fp32"))
    assert onnx_embedder.model_id == torch_embedder.model_id  # one embedding cache for both
    onnx, torch_path = onnx_embedder.embed(texts), torch_embedder.embed(texts)
    cosines = (onnx * torch_path).sum(axis=1)
    assert cosines.min() >= 0.999, f"worst cosine {cosines.min():.5f}"
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)


def test_bf16_vectors_stay_within_the_same_cosine() -> None:
    """bf16 (what ``precision = "auto"`` picks on a CPU with AMX) against fp32."""
    texts = _code_chunks(64)
    fp32 = SentenceTransformerEmbedder(EmbedSettings(precision="fp32")).embed(texts)
    bf16 = SentenceTransformerEmbedder(EmbedSettings(precision="bf16")).embed(texts)
    assert (fp32 * bf16).sum(axis=1).min() >= 0.999


def test_a_damaged_export_is_made_again(exported: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _cache_with_export(exported, cache)
    model = export_folder(cache) / "model.onnx"
    model.write_bytes(model.read_bytes()[:1000])  # as a killed copy would leave it
    texts = ["def add(a, b):\n    return a + b", "class Cart:\n    items = []"]
    vectors = OnnxEmbedder.load(cache, batch_size=8).embed(texts)
    expected = OnnxEmbedder.load(exported, batch_size=8).embed(texts)
    assert np.allclose(vectors, expected, atol=1e-6)
    assert model.stat().st_size > 1_000_000


def test_which_model_runs_on_onnx() -> None:
    default = EmbedSettings()
    assert uses_onnx(default, "query") and not uses_onnx(default, "build")
    assert uses_onnx(EmbedSettings(backend="onnx"), "build")
    assert not uses_onnx(EmbedSettings(backend="torch"), "query")
    other = EmbedSettings(model="sentence-transformers/all-mpnet-base-v2", backend="onnx")
    assert not uses_onnx(other, "query")  # only the packaged model has an export
    assert load_embedder(EmbedSettings(model="hashing:16"), "query").model_id == "hashing:16"


def test_the_onnx_backend_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ConfigError, match="pip install onnxruntime"):
        uses_onnx(EmbedSettings(backend="onnx"), "query")
    assert not uses_onnx(EmbedSettings(), "query")  # auto falls back to sentence-transformers


def test_questions_fall_back_to_sentence_transformers_when_no_export_can_be_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from codeintel.indexer import onnx_embedder

    def broken(source: Path, folder: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(onnx_embedder, "_export", broken)
    notes: list[str] = []
    embedder = load_embedder(EmbedSettings(), "query", notes.append)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    assert "No space left on device" in notes[-1] and "sentence-transformers" in notes[-1]
    with pytest.raises(ModelUnavailable, match="exporting all-MiniLM-L6-v2 to ONNX"):
        load_embedder(EmbedSettings(backend="onnx"), "query")


_PROBE = """
import sys
from codeintel import Workspace
found = Workspace.open(sys.argv[1]).search("where is the total price computed")
print(found.results[0].chunk.path, "vector" in found.results[0].signals)
print(sorted({"torch", "sentence_transformers", "transformers"} & set(sys.modules)))
"""


def test_a_question_is_embedded_without_importing_torch(
    exported: Path, tmp_path: Path, isolated_cache: Path
) -> None:
    _cache_with_export(exported, isolated_cache)
    root = tmp_path / "shop"
    write_files(
        root,
        {
            "shop/cart.py": "def total_price(items):\n    return sum(i.price for i in items)\n",
            "shop/users.py": "def login(name, password):\n    return check(name, password)\n",
        },
    )
    build = subprocess.run(
        [sys.executable, "-c", _MAIN, "index", "build", str(root)], capture_output=True, text=True
    )
    assert build.returncode == 0, build.stderr
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE, str(root)], capture_output=True, text=True, check=True
    )
    first, modules = probe.stdout.strip().splitlines()
    assert first == "shop/cart.py True"
    assert modules == "[]"


@pytest.mark.parametrize(
    "args",
    [["--help"], ["index", "status"], ["search", "--lexical", "total price"]],
)
def test_light_commands_import_no_model_runtime(tmp_path: Path, args: list[str]) -> None:
    root = tmp_path / "repo"
    write_files(root, {"a.py": "def total_price():\n    return 1\n"})
    subprocess.run(
        [sys.executable, "-c", _MAIN, "index", "build", "--no-embed", str(root)],
        check=True,
        capture_output=True,
    )
    code = (
        "import sys\nfrom codeintel.cli.main import main\n"
        f"sys.argv = ['codeintel', *{args!r}]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted({'torch', 'sentence_transformers', 'onnxruntime'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
