"""Every setting of codeintel, in one place: one section per concern, and their loading.

Precedence, lowest to highest: defaults < ``codeintel.toml`` in the repository root <
``CODEINTEL_<SECTION>_<KEY>`` environment variables (``CODEINTEL_CACHE_DIR`` for the
embedding cache) < command-line flags (or ``Workspace.open`` overrides). A bad value is
refused with one line naming the key, where it came from, and what is allowed. A leaf
module: every package may import it.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from codeintel.errors import ConfigError

CONFIG_FILE = "codeintel.toml"
ENV_PREFIX = "CODEINTEL_"

Encoding = Literal["cl100k_base", "o200k_base"]
Device = Literal["cpu", "cuda", "mps", "auto"]
Backend = Literal["auto", "onnx", "torch"]
Precision = Literal["auto", "fp32", "bf16"]

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class IndexSettings(_Section):
    """What gets indexed, how it is chunked, and where the index lives."""

    max_file_bytes: int = Field(1_000_000, gt=0, description="skip larger files")
    max_chunk_chars: int = Field(1200, ge=200, description="split chunks larger than this")
    window_lines: int = Field(60, ge=5, description="line-window size for files without a grammar")
    include: list[str] = Field(default_factory=list, description="globs indexed even if ignored")
    exclude: list[str] = Field(default_factory=list, description="extra globs to leave out")
    uri: str = Field("", description="database URI; default <repo>/.codeintel/db")
    storage_options: dict[str, str] = Field(default_factory=dict)
    lock_timeout: float = Field(30.0, ge=0, description="seconds to wait for another writer")
    workers: int = Field(0, ge=0, description="chunking processes; 0 = one per core")
    vector_index_min_rows: int = Field(
        500_000, ge=1, description="embedded rows from which an ANN vector index is built"
    )


class EmbedSettings(_Section):
    """The embedding model and how it runs."""

    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or path")
    device: Device = "cpu"
    backend: Backend = Field(
        "auto",
        description="how the packaged default model runs: auto (questions on ONNX Runtime, "
        "builds on sentence-transformers), onnx (both), torch (both on sentence-transformers)",
    )
    precision: Precision = Field(
        "auto",
        description="sentence-transformers on the CPU: auto (bf16 where the CPU computes it "
        "natively: AMX or AVX-512 BF16), fp32, bf16",
    )
    batch_size: int = Field(64, ge=1)
    cache_dir: str = Field("", description="embedding cache folder; default user cache dir")


class RetrievalSettings(_Section):
    """How many candidates each signal brings, fusion weights and file priors."""

    k: int = Field(10, ge=1, description="results shown by `search`")
    candidates: int = Field(100, ge=1, description="candidates each signal contributes")
    rrf_k: float = Field(60.0, gt=0, description="reciprocal rank fusion constant")
    weight_bm25: float = Field(1.0, ge=0)
    weight_vector: float = Field(1.0, ge=0)
    weight_emphasis: float = Field(
        0.5, ge=0, description="chunks nearest the vector of a question's title and code spans"
    )
    weight_symbol: float = Field(1.5, ge=0, description="chunks defining a named identifier")
    weight_path: float = Field(1.0, ge=0, description="chunks of files the query names")
    weight_frame: float = Field(2.0, ge=0, description="chunks holding stack-trace lines")
    weight_graph: float = Field(0.3, ge=0, description="symbol-graph neighbours of top hits")
    weight_file: float = Field(
        1.0, ge=0, description="chunks of the files whole-file BM25 ranks high, by file rank"
    )
    weight_focus: float = Field(
        2.0, ge=0, description="the best chunks of the fused ranking's top files, again"
    )
    prior_prose: float = Field(
        0.5, ge=0, le=1, description="score factor for docs, text and the code under docs/"
    )
    prior_tests: float = Field(0.3, ge=0, le=1, description="score factor for test files")
    prior_vendored: float = Field(
        0.3, ge=0, le=1, description="score factor for vendored and minified files"
    )
    graph_seeds: int = Field(10, ge=0, description="top hits the symbol graph expands from")
    freshness: bool = Field(True, description="re-chunk files changed since the last build")

    def weights(self) -> dict[str, float]:
        """Signal name → fusion weight, from every ``weight_*`` field."""
        return {
            name.removeprefix("weight_"): value
            for name, value in self
            if name.startswith("weight_")
        }


# The edit-probability model's inputs (``codeintel.agent.value.Features.vector``) and its
# coefficients as fitted by ``python -m benchmarks.replay_packing --fit`` (docs/decisions.md).
EDIT_FEATURES = (
    "log_rank",
    "log_file_rank",
    "log_tokens",
    "head",
    "code",
    "text",
    "companion",
    "log_file_units",
)
# The edited-file model's: intercept, log_file_rank, prose (the file's best item is text).
FILE_MODEL = (-0.032, -1.653, -1.943)
EDIT_MODEL = (-0.974, -0.85, -0.725, 0.169, 0.09, -0.691, -2.217, 0.248, -0.253)


class ContextSettings(_Section):
    """How ``context`` packs: its default budget, the candidates it chooses from, what each
    view of a chunk is worth, and how hard the knapsack solver tries.

    An item (a chunk, or every part of a split definition) is worth its view's utility
    times the probability that it holds a line the change edits: ``edit_model``, the
    coefficients of a logistic model over its rank, its file's rank, its size, its kind and
    its origin (``codeintel.agent.value``), fitted on the dev set's gold edit sites.
    ``tighten_rounds`` bounds the re-solves when the rendered text overshoots the budget;
    after them the least valuable item per token is dropped until the text fits.
    """

    budget: int = Field(8000, ge=0, description="token budget of a context")
    encoding: Encoding = Field(
        "cl100k_base", description="tokenizer counting a context when --llm names none"
    )
    candidates: int = Field(400, ge=1, description="retrieved chunks the packer chooses from")
    companion_files: int = Field(
        3, ge=0, description="top files whose every other chunk is offered too"
    )
    companion_share: float = Field(
        0.9, ge=0, le=1, description="a companion's score, as a share of the lowest retrieved"
    )
    head_share: float = Field(
        0.5, ge=0, le=1, description="a top file's head's least score, as a share of its best"
    )
    split_part_share: float = Field(
        0.5,
        ge=0,
        le=1,
        description="a split function's part's least score, as a share of its best",
    )
    full: float = Field(1.0, ge=0, description="utility of a chunk shown in full")
    skeleton: float = Field(
        0.02, ge=0, description="utility of a definition shown as its skeleton, beside full"
    )
    signature: float = Field(
        0.005, ge=0, description="utility of a definition shown as its signature, beside full"
    )
    file_weight: float = Field(
        0.3, ge=0, description="worth of naming an edited file, beside one edit site shown"
    )
    file_model: tuple[float, float, float] = Field(
        FILE_MODEL,
        description="coefficients of the edited-file model (intercept, log_file_rank, prose)",
    )
    edit_model: tuple[float, ...] = Field(
        EDIT_MODEL,
        min_length=len(EDIT_MODEL),
        max_length=len(EDIT_MODEL),
        description="coefficients of the edit-probability model (intercept, then "
        + ", ".join(EDIT_FEATURES)
        + ")",
    )
    line_numbers: bool = Field(False, description="number the lines of chunks shown in full")
    tighten_rounds: int = Field(6, ge=0, description="re-solves when the text overshoots")
    max_dp_cells: int = Field(1_000_000, ge=1, description="solver table size (groups x tokens)")
    solver_rounds: int = Field(4, ge=1, description="solver reduce/DP rounds")

    def utility(self, view: str) -> float:
        return {"full": self.full, "skeleton": self.skeleton, "signature": self.signature}[view]


Provider = Literal["openai", "anthropic"]


class LLMSettings(_Section):
    """The LLM provider ``ask`` and ``edit`` call. ``api_key`` defaults to the provider's
    usual variable (``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``); it is never written out."""

    provider: Provider = Field(
        "openai", description="openai: the chat-completions API (OpenAI, Ollama, vLLM, "
        "llama.cpp, LM Studio); anthropic: the Messages API",
    )  # fmt: skip
    base_url: str = Field("", description="API root; default the provider's own")
    model: str = Field("", description="model name, as the provider spells it")
    api_key: SecretStr | None = Field(None, description="default from the provider's variable")
    max_output_tokens: int = Field(2048, ge=1, description="longest answer asked for")
    timeout: float = Field(60.0, gt=0, description="seconds without a byte before giving up")
    max_retries: int = Field(4, ge=0, description="retries of rate limits, 5xx and timeouts")
    request_share: float = Field(
        0.25, ge=0, lt=1, description="share of the budget kept for code the model asks for by "
        "name (a path or symbol, two rounds at most); 0: it cannot ask",
    )  # fmt: skip


class CacheSettings(_Section):
    """The answer cache ``ask`` serves from: an answer is served again only while the code
    it was grounded on is unchanged and a new question asks the same of it (see
    ``codeintel.cache.answers``)."""

    enabled: bool = Field(True, description="serve and keep answers (ask --no-cache: not once)")
    similarity: float = Field(
        0.9, ge=0, le=1, description="least cosine of two questions' vectors for a direct serve"
    )
    max_entries: int = Field(1000, ge=1, description="answers kept; least recently used go first")
    ttl_days: float = Field(30.0, gt=0, description="an older answer goes, whatever else holds")
    any_model: bool = Field(False, description="serve answers another model gave")


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: IndexSettings = Field(default_factory=IndexSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    context: ContextSettings = Field(default_factory=ContextSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)


SECTIONS = tuple(Settings.model_fields)
_SHOWN_VALUE = 80  # a bad value is quoted up to this many characters
_ENV_ALIASES = {"CODEINTEL_CACHE_DIR": ("embed", "cache_dir")}


def _env_value(raw: str) -> Any:
    """Lists and tables come as JSON (``'["a/**"]'``); everything else stays a string."""
    if raw[:1] in "[{":
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            return raw
    return raw


def _layer_from_env(environ: Mapping[str, str]) -> dict[tuple[str, str], tuple[Any, str]]:
    found: dict[tuple[str, str], tuple[Any, str]] = {}
    for name, raw in environ.items():
        if name in _ENV_ALIASES:
            found[_ENV_ALIASES[name]] = (raw, name)
            continue
        if not name.startswith(ENV_PREFIX):
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("_")
        if section in SECTIONS and key:
            found[(section, key)] = (_env_value(raw), name)
    return found


def _layer_from_file(path: Path) -> dict[tuple[str, str], tuple[Any, str]]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
    found: dict[tuple[str, str], tuple[Any, str]] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(
                f"{path}: unknown section [{section}]; allowed: {', '.join(SECTIONS)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(
                f"{path}: {section} must be a table ([{section}] with keys under it), "
                f"not {type(values).__name__}"
            )
        for key, value in values.items():
            found[(section, key)] = (value, str(path))
    return found


def load_settings(
    root: Path,
    flags: Mapping[tuple[str, str], Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    layers = [
        _layer_from_file(root / CONFIG_FILE),
        _layer_from_env(os.environ if environ is None else environ),
        {key: (value, "command line") for key, value in (flags or {}).items() if value is not None},
    ]
    merged: dict[tuple[str, str], tuple[Any, str]] = {}
    for layer in layers:
        merged.update(layer)
    data: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS}
    for (section, key), (value, _) in merged.items():
        data[section][key] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        section, key = (str(part) for part in (list(error["loc"]) + ["", ""])[:2])
        source = merged.get((str(section), str(key)), (None, "defaults"))[1]
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(Settings.model_fields[str(section)].annotation.model_fields)  # type: ignore[union-attr]
            raise ConfigError(
                f"unknown setting {section}.{key} (from {source}); allowed: {allowed}"
            ) from None
        value = repr(merged.get((str(section), str(key)), ("?", ""))[0])
        if len(value) > _SHOWN_VALUE:
            value = value[: _SHOWN_VALUE - 3] + "..."
        hint = ""
        if source.startswith(ENV_PREFIX) and error["type"] in ("list_type", "dict_type"):
            hint = """; environment values for lists and tables are JSON, e.g. '["src/**"]'"""
        raise ConfigError(
            f"bad setting {section}.{key}={value} (from {source}): {error['msg']}{hint}"
        ) from None
