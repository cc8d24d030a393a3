"""The packaged all-MiniLM-L6-v2 on ONNX Runtime: embedding without importing torch.

The model is exported once per machine from the packaged weights (no download) into the
user cache, in a folder named by the weights' sha256, with the tokenizer beside it; from
then on a process embeds with ``onnxruntime`` and ``tokenizers`` alone, in well under a
second from a cold start. Vectors match sentence-transformers' (mean pooling over the
attention mask, then unit length; cosine ≥ 0.999 is tested on real code chunks).

The export needs torch, transformers and onnx, and takes seconds: ``index build`` makes it
after embedding, so a first question rarely pays for it. It is written in a scratch folder
and renamed into place, so an interrupted export leaves nothing half-written, and an export
that does not load is made again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from codeintel.errors import ModelUnavailable
from codeintel.indexer.embedder import unit_rows
from codeintel.indexer.model_source import MINILM_SHA256, packaged_minilm_path
from codeintel.settings import DEFAULT_MODEL

if TYPE_CHECKING:
    from numpy.typing import NDArray

EXPORT_FORMAT = 1  # bump when the exported graph changes, so old exports are not reused
_MODEL_FILE = "model.onnx"
_TOKENIZER_FILE = "tokenizer.json"
_CONFIG_FILE = "codeintel.json"
_export_lock = threading.Lock()


def onnx_available() -> bool:
    """Whether ONNX Runtime and tokenizers can be imported here."""
    try:
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError:
        return False
    return True


def export_folder(cache_dir: Path) -> Path:
    """Where the export of the packaged weights lives (named by their sha256)."""
    return cache_dir / "onnx" / f"{DEFAULT_MODEL}-{MINILM_SHA256[:16]}-v{EXPORT_FORMAT}"


def is_exported(cache_dir: Path) -> bool:
    return _complete(export_folder(cache_dir))


def _complete(folder: Path) -> bool:
    return all((folder / name).is_file() for name in (_MODEL_FILE, _TOKENIZER_FILE, _CONFIG_FILE))


def ensure_exported(cache_dir: Path, note: Callable[[str], None] | None = None) -> Path:
    """The export folder, exporting the packaged model into it first where needed."""
    with _export_lock:
        folder = export_folder(cache_dir)
        if not is_exported(cache_dir):
            if note is not None:
                note(f"exporting {DEFAULT_MODEL} to ONNX once (the query path without torch)")
            try:
                _export(packaged_minilm_path(), folder)
            except ModelUnavailable:
                raise
            except Exception as exc:  # torch's exporter, the optimizer, the disk: named here
                raise ModelUnavailable(
                    f"exporting {DEFAULT_MODEL} to ONNX in {folder.parent} failed "
                    f"({type(exc).__name__}: {str(exc).strip()[:160]})"
                ) from exc
        return folder


class OnnxEmbedder:
    """An ``Embedder`` for the packaged MiniLM on ONNX Runtime's CPU provider."""

    model_id = DEFAULT_MODEL

    def __init__(self, folder: Path, batch_size: int = 64) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        config = json.loads((folder / _CONFIG_FILE).read_text())
        self.dim = int(config["dim"])
        self.batch_size = batch_size
        self._tokenizer = Tokenizer.from_file(str(folder / _TOKENIZER_FILE))
        self._tokenizer.enable_truncation(int(config["max_length"]))
        self._tokenizer.enable_padding(pad_id=int(config["pad_id"]), pad_token=config["pad_token"])
        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self._session = onnxruntime.InferenceSession(
            str(folder / _MODEL_FILE), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def load(
        cls, cache_dir: Path, batch_size: int, note: Callable[[str], None] | None = None
    ) -> OnnxEmbedder:
        """The embedder from the export in ``cache_dir``, exported first where needed (and
        again, once, when the file there does not load)."""
        folder = ensure_exported(cache_dir, note)
        try:
            return cls(folder, batch_size)
        except Exception as exc:  # a damaged file: onnxruntime and tokenizers raise their own
            with _export_lock:
                shutil.rmtree(folder, ignore_errors=True)
            folder = ensure_exported(cache_dir, note)
            try:
                return cls(folder, batch_size)
            except Exception as again:
                raise ModelUnavailable(
                    f"the ONNX export of {DEFAULT_MODEL} in {folder} does not load ({again}); "
                    'set embed.backend = "torch" to embed with sentence-transformers'
                ) from exc

    def embed(self, texts: list[str]) -> NDArray[np.float32]:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for start in range(0, len(order), self.batch_size):
            rows = order[start : start + self.batch_size]
            out[rows] = self._embed_batch([texts[i] for i in rows])
        return out

    def _embed_batch(self, texts: list[str]) -> NDArray[np.float32]:
        encoded = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        return unit_rows((hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))


def _export(source: Path, folder: Path) -> None:
    """The packaged model as an optimised ONNX graph in ``folder``, with its tokenizer and
    the settings the embedder needs; every file renamed into place only when complete."""
    try:
        import torch
        from onnxruntime.transformers import optimizer
        from transformers import AutoConfig, AutoModel
    except ImportError as exc:
        raise ModelUnavailable(
            f"exporting {DEFAULT_MODEL} to ONNX needs torch, transformers and onnx ({exc}); "
            'install them, or set embed.backend = "torch"'
        ) from exc
    folder.parent.mkdir(parents=True, exist_ok=True)
    config = AutoConfig.from_pretrained(source, local_files_only=True)
    sentence_config = json.loads((source / "sentence_bert_config.json").read_text())
    tokenizer = json.loads((source / _TOKENIZER_FILE).read_text())
    pad = (tokenizer.get("padding") or {}).get("pad_token", "[PAD]")
    settings = {
        "dim": config.hidden_size,
        "max_length": sentence_config["max_seq_length"],
        "pad_token": pad,
        "pad_id": tokenizer["model"]["vocab"][pad],
        "weights_sha256": MINILM_SHA256,
    }
    with tempfile.TemporaryDirectory(dir=folder.parent) as scratch, _quiet():
        work = Path(scratch)
        model = AutoModel.from_pretrained(
            source, local_files_only=True, attn_implementation="eager"
        ).eval()
        sample = torch.ones((2, 8), dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(
            _hidden_states(model),
            (sample, sample, torch.zeros_like(sample)),
            str(work / "raw.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes=dict.fromkeys(
                ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"], axes
            ),
            opset_version=17,
            dynamo=False,
        )
        fused = optimizer.optimize_model(
            str(work / "raw.onnx"),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
        )
        staged = work / "staged"
        staged.mkdir()
        fused.save_model_to_file(str(staged / _MODEL_FILE))
        shutil.copyfile(source / _TOKENIZER_FILE, staged / _TOKENIZER_FILE)
        (staged / _CONFIG_FILE).write_text(json.dumps(settings, indent=2))
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(folder)
        try:
            os.replace(staged, folder)
        except OSError:
            if not _complete(folder):  # else another process put its export there first
                raise


def _hidden_states(model: Any) -> Any:
    """``model`` as a module of three positional inputs returning its last hidden states
    (what the exporter traces)."""
    import torch

    class HiddenStates(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    return HiddenStates()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """No tracer warnings or optimizer logs from an export."""
    import logging

    logger = logging.getLogger("onnxruntime")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)
