"""All settings, assembled from each package's section.

Precedence, lowest to highest: defaults < ``codeintel.toml`` in the repository root <
``CODEINTEL_<SECTION>_<KEY>`` environment variables (``CODEINTEL_CACHE_DIR`` for the
embedding cache) < command-line flags. A bad value is refused with one line naming the
key, where it came from, and what is allowed.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codeintel.errors import ConfigError
from codeintel.indexer.discover import CONFIG_FILE
from codeintel.indexer.settings import EmbedSettings, IndexSettings
from codeintel.retrieval.settings import RetrievalSettings

ENV_PREFIX = "CODEINTEL_"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    index: IndexSettings = Field(default_factory=IndexSettings)
    embed: EmbedSettings = Field(default_factory=EmbedSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)


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
