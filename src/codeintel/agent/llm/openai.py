"""The OpenAI chat-completions API, as OpenAI and compatible servers (Ollama, vLLM,
llama.cpp, LM Studio) serve it: ``POST {base_url}/chat/completions``, plain or streamed
(server-sent events ending in ``data: [DONE]``, usage in the last chunk)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from codeintel.agent.llm.base import Message, OnText, Reply, StopReason, Usage
from codeintel.agent.llm.transport import (
    HTTPAPI,
    Endpoint,
    Retryable,
    Transport,
    endpoint,
    event_error,
    parse_json,
    transient,
)
from codeintel.errors import ProviderError

DEFAULT_BASE_URL = "https://api.openai.com/v1"
KEY_VARIABLE = "OPENAI_API_KEY"
_STOPS: dict[str, StopReason] = {"stop": "end", "length": "max_tokens", "content_filter": "refusal"}


class OpenAIChat(HTTPAPI):
    name = "openai"

    def __init__(self, transport: Transport, model: str, max_output_tokens: int) -> None:
        super().__init__(transport, model, max_output_tokens)
        # OpenAI's own API takes max_completion_tokens (max_tokens is refused by its
        # reasoning models); compatible servers know max_tokens.
        official = httpx.URL(transport.endpoint.url).host == "api.openai.com"
        self._limit = {"max_completion_tokens" if official else "max_tokens": max_output_tokens}

    @staticmethod
    def endpoint(base_url: str, model: str, api_key: str | None) -> Endpoint:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        root = base_url or DEFAULT_BASE_URL
        return endpoint(
            "the OpenAI-compatible API", root, "/chat/completions", model, headers, KEY_VARIABLE
        )

    def complete(
        self, system: str, messages: Sequence[Message], on_text: OnText | None = None
    ) -> Reply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}]
            + [{"role": m.role, "content": m.content} for m in messages],
            **self._limit,
        }
        if on_text is None:
            return self.transport.post(body, self._read_plain)
        body |= {"stream": True, "stream_options": {"include_usage": True}}
        return self.transport.post(body, self._read_stream, on_text)

    def _read_plain(self, response: httpx.Response, _: OnText) -> Reply:
        data = parse_json(response.read().decode("utf-8", "replace"), self.api_name)
        try:
            choice = data["choices"][0]
            message = choice["message"]
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError(
                f"{self.api_name} answered without a choice: {data!r:.200}"
            ) from exc
        refused = bool(message.get("refusal"))
        text = message.get("refusal") if refused else message.get("content")
        stop = "refusal" if refused else _STOPS.get(choice.get("finish_reason") or "", "other")
        return Reply(text or "", data.get("model") or self.model, _usage(data), stop)

    def _read_stream(self, response: httpx.Response, on_text: OnText) -> Reply:
        parts: list[str] = []
        usage, model, stop = Usage(), self.model, ""
        for event in self.events(response):
            if event.data == "[DONE]":
                return Reply("".join(parts), model, usage, _STOPS.get(stop, "other"))
            data = parse_json(event.data, self.api_name)
            if message := event_error(data):
                if transient(data):
                    raise Retryable(f"error event: {message}")
                raise ProviderError(f"{self.api_name} failed mid-answer: {message}")
            model = data.get("model") or model
            if data.get("usage"):
                usage = _usage(data)
            for choice in data.get("choices") or ():
                delta = choice.get("delta") or {}
                text = delta.get("content") or delta.get("refusal") or ""
                if delta.get("refusal"):
                    stop = "content_filter"
                parts.append(text)
                on_text(text)
                stop = choice.get("finish_reason") or stop
        raise Retryable("the stream ended before [DONE]")


def _usage(data: dict[str, Any]) -> Usage:
    usage = data.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return Usage(
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
        int(details.get("cached_tokens") or 0),
    )
