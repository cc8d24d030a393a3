"""LLM providers behind one small interface (``Provider.complete``), one module per API,
over httpx: ``open_provider`` builds the one the ``[llm]`` settings name."""

from __future__ import annotations

import os
from collections.abc import Mapping

from codeintel.agent.llm import anthropic, openai
from codeintel.agent.llm.base import Message, OnText, Provider, Reply, Usage, total_usage
from codeintel.agent.llm.transport import CircuitBreaker, Transport
from codeintel.errors import ConfigError
from codeintel.settings import LLMSettings

__all__ = ["Message", "OnText", "Provider", "Reply", "Usage", "open_provider", "total_usage"]

_APIS: dict[str, type[openai.OpenAIChat] | type[anthropic.AnthropicMessages]] = {
    "openai": openai.OpenAIChat,
    "anthropic": anthropic.AnthropicMessages,
}
_KEY_VARIABLES = {"openai": openai.KEY_VARIABLE, "anthropic": anthropic.KEY_VARIABLE}


def open_provider(
    settings: LLMSettings,
    environ: Mapping[str, str] | None = None,
    breaker: CircuitBreaker | None = None,
) -> Provider:
    """The provider ``settings`` describe; the API key from ``llm.api_key``, else the
    provider's usual variable. A long-lived caller passes one ``breaker`` to every call."""
    if not settings.model:
        raise ConfigError(
            "no LLM model is set; set llm.model in codeintel.toml or CODEINTEL_LLM_MODEL "
            "(and llm.provider, llm.base_url for a server other than OpenAI's)"
        )
    environ = os.environ if environ is None else environ
    key = settings.api_key.get_secret_value() if settings.api_key else None
    key = key or environ.get(_KEY_VARIABLES[settings.provider]) or None
    api = _APIS[settings.provider]
    endpoint = api.endpoint(settings.base_url, settings.model, key)
    channel = Transport(endpoint, settings.timeout, settings.max_retries, breaker)
    return api(channel, settings.model, settings.max_output_tokens)
