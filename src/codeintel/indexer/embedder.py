"""Embedding backends behind one small protocol.

``SentenceTransformerEmbedder`` runs any sentence-transformers model (where it loads from,
and why it cannot: ``model_source``); the default is the packaged all-MiniLM-L6-v2, which
also runs on ONNX Runtime without torch (``onnx_embedder``): questions do by default, so a
query process never imports torch.
``HashingEmbedder`` (model ``hashing:DIM``) is a deterministic bag-of-words embedder with
no model file: fast, for tests and for machines where a neural model is too slow.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import numpy as np

from codeintel.errors import ConfigError, ModelUnavailable
from codeintel.indexer.embed_cache import default_cache_dir
from codeintel.indexer.model_source import (
    HUB_ID,
    cached_hub_file,
    cached_repo,
    hub_cache_dir,
    load_model,
    packaged_minilm_path,
)
from codeintel.indexer.terms import identifier_words
from codeintel.settings import DEFAULT_MODEL, EmbedSettings

if TYPE_CHECKING:
    from numpy.typing import NDArray

    Vectors = NDArray[np.float32]


class Embedder(Protocol):
    model_id: str
    dim: int

    def embed(self, texts: list[str]) -> Vectors:
        """Unit-length float32 vectors, one row per text."""
        ...


class SentenceTransformerEmbedder:
    def __init__(self, settings: EmbedSettings) -> None:
        self.batch_size = settings.batch_size
        self.model_id = model_id(settings)
        self._model = load_model(settings.model, settings.device)
        self._bf16 = uses_bf16(settings.precision, str(self._model.device))
        dimension = getattr(self._model, "get_embedding_dimension", None)
        dim = dimension() if dimension else self._model.get_sentence_embedding_dimension()
        if not dim:
            raise ModelUnavailable(f"model {settings.model!r} does not declare its dimension")
        self.dim = int(dim)

    def embed(self, texts: list[str]) -> Vectors:
        import torch

        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self._bf16):
            vectors = self._model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return unit_rows(np.asarray(vectors, dtype=np.float32))  # after the cast back to fp32


def unit_rows(vectors: Vectors) -> Vectors:
    """``vectors`` scaled to unit length, row by row (rows of zeros stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.where(norms == 0, 1.0, norms), dtype=np.float32)


def uses_bf16(precision: str, device: str) -> bool:
    """Whether sentence-transformers computes in bf16: asked for, or ``auto`` on a CPU with
    native bf16 (AMX or AVX-512 BF16), where it is faster at a cosine of 0.9999 to fp32."""
    if precision == "fp32" or not device.startswith("cpu"):
        return False
    if precision == "bf16":
        return True
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # private: may go
    return any(getattr(torch.cpu, probe, lambda: False)() for probe in probes)


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
        return unit_rows(out)


Purpose = Literal["build", "query"]


class LazyEmbedder:
    """An ``Embedder`` whose model is loaded on its first ``embed`` call, once, however many
    threads ask; ``on_load`` hears about a load that takes time (a neural model);
    ``purpose`` says what it embeds (``load_embedder``)."""

    def __init__(
        self,
        settings: EmbedSettings,
        on_load: Callable[[str], None] | None = None,
        purpose: Purpose = "build",
    ) -> None:
        self.settings = settings
        self.purpose = purpose
        self.model_id, self.dim = embedder_identity(settings)
        self._on_load = on_load
        self._lock = threading.Lock()
        self._loaded: Embedder | None = None

    def embed(self, texts: list[str]) -> Vectors:
        with self._lock:
            if self._loaded is None:
                slow = not is_model_free(self.settings) and not uses_onnx(
                    self.settings, self.purpose
                )
                if self._on_load is not None and slow:
                    self._on_load(f"loading the embedding model {self.settings.model}")
                self._loaded = load_embedder(self.settings, self.purpose, self._on_load)
        return self._loaded.embed(texts)


def is_model_free(settings: EmbedSettings) -> bool:
    """Whether the embedder needs no model file (``hashing:N``: nothing slow to load)."""
    return settings.model.startswith("hashing:")


def load_embedder(
    settings: EmbedSettings,
    purpose: Purpose = "build",
    note: Callable[[str], None] | None = None,
) -> Embedder:
    """The embedder ``settings`` name, for embedding chunks (``build``) or questions."""
    if is_model_free(settings):
        size = settings.model.split(":", 1)[1]
        if not size.isdigit() or not 8 <= int(size) <= 4096:
            raise ConfigError(f"embed.model {settings.model!r}: use hashing:N with 8 <= N <= 4096")
        return HashingEmbedder(int(size))
    if uses_onnx(settings, purpose):
        from codeintel.indexer.onnx_embedder import OnnxEmbedder

        try:
            return OnnxEmbedder.load(embedding_cache_dir(settings), settings.batch_size, note)
        except ModelUnavailable as exc:
            if settings.backend == "onnx":
                raise
            if note is not None:  # auto: the same vectors, only slower to start
                note(f"{exc}; embedding with sentence-transformers instead")
    return SentenceTransformerEmbedder(settings)


def uses_onnx(settings: EmbedSettings, purpose: Purpose) -> bool:
    """Whether ``purpose`` runs on ONNX Runtime: only the packaged default model can, by
    default for questions alone (on this CPU sentence-transformers embeds chunks faster)."""
    from codeintel.indexer.onnx_embedder import onnx_available

    if settings.model != DEFAULT_MODEL or settings.backend == "torch":
        return False
    if settings.backend == "onnx":
        if not onnx_available():
            raise ConfigError(
                'embed.backend is "onnx" but onnxruntime or tokenizers cannot be imported; '
                'pip install onnxruntime tokenizers, or set embed.backend = "auto"'
            )
        return True
    return purpose == "query" and onnx_available()


def prepare_query_embedder(settings: EmbedSettings, note: Callable[[str], None]) -> None:
    """Export the model questions will run on, where that is still to do (once per machine),
    so that no question waits for it."""
    if uses_onnx(settings, "query"):
        from codeintel.indexer.onnx_embedder import ensure_exported

        try:
            ensure_exported(embedding_cache_dir(settings), note)
        except ModelUnavailable as exc:  # the build itself succeeded: say so, not fail
            note(f"{exc}; questions will be embedded with sentence-transformers")


def embedding_cache_dir(settings: EmbedSettings) -> Path:
    """The user cache folder of embeddings and exported models."""
    return Path(settings.cache_dir) if settings.cache_dir else default_cache_dir()


def embedder_identity(settings: EmbedSettings) -> tuple[str, int]:
    """(model id, dimension), without loading a model when its files declare the dimension.

    That is the packaged default, a local folder, or a hub model already in the Hugging Face
    cache; any other model is loaded, through the same checks as ``load_embedder``."""
    if is_model_free(settings):
        embedder = load_embedder(settings)
        return embedder.model_id, embedder.dim
    read: Callable[[str], Path | None] | None = None
    if settings.model == DEFAULT_MODEL:
        folder = packaged_minilm_path(verify=False)  # loading the model verifies it
        read = folder.joinpath
    elif Path(settings.model).is_dir():
        read = Path(settings.model).joinpath
    elif HUB_ID.fullmatch(settings.model):
        cache = hub_cache_dir()
        repo = cached_repo(settings.model, cache)
        if repo:
            read = functools.partial(cached_hub_file, repo, cache=cache)
    dim = _declared_dim(read) if read else None
    if dim:
        return model_id(settings), dim
    embedder = load_embedder(settings)
    return embedder.model_id, embedder.dim


_PLAIN_MODULES = {"Transformer", "Pooling", "Normalize"}


def _declared_dim(read: Callable[[str], Path | None]) -> int | None:
    """The vectors' dimension as the pooling config declares it, when no module after pooling
    (a Dense layer, say) changes it; ``read`` gives a model file's local path, or None."""
    try:
        modules_file = read("modules.json")
        if modules_file is None or not modules_file.is_file():
            return None
        modules = json.loads(modules_file.read_text())
        if {str(item["type"]).rsplit(".", 1)[-1] for item in modules} - _PLAIN_MODULES:
            return None
        pooling = next(item["path"] for item in modules if str(item["type"]).endswith("Pooling"))
        config = read(f"{pooling}/config.json")
        if config is None or not config.is_file():
            return None
        values = json.loads(config.read_text())
        width = values.get("embedding_dimension", values.get("word_embedding_dimension"))
        if "pooling_mode" in values:  # sentence-transformers 6: a mode, or a list of them
            mode = values["pooling_mode"]
            modes = 1 if isinstance(mode, str) else len(mode)
        else:  # older files: one flag per mode, the vectors of the modes concatenated
            modes = sum(1 for key, on in values.items() if key.startswith("pooling_mode_") and on)
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return None
    if not isinstance(width, int) or width <= 0 or modes < 1:
        return None
    return width * modes


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
