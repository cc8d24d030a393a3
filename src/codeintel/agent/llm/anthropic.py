"""The Anthropic Messages API: ``POST {base_url}/v1/messages``, plain or streamed (typed
server-sent events from ``message_start`` to ``message_stop``; others, such as ``ping``,
are ignored)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from codeintel.agent.llm.base import Message, OnText, Reply, StopReason, Usage
from codeintel.agent.llm.transport import (
    HTTPAPI,
    Endpoint,
    Retryable,
    endpoint,
    event_error,
    parse_json,
    transient,
)
from codeintel.errors import ProviderError

DEFAULT_BASE_URL = "https://api.anthropic.com"
KEY_VARIABLE = "ANTHROPIC_API_KEY"
API_VERSION = "2023-06-01"
_STOPS: dict[str, StopReason] = {
    "end_turn": "end",
    "stop_sequence": "end",
    "max_tokens": "max_tokens",
    "refusal": "refusal",
}


class AnthropicMessages(HTTPAPI):
    name = "anthropic"

    @staticmethod
    def endpoint(base_url: str, model: str, api_key: str | None) -> Endpoint:
        headers = {"anthropic-version": API_VERSION}
        if api_key:
            headers["x-api-key"] = api_key
        root = base_url or DEFAULT_BASE_URL
        return endpoint("the Anthropic API", root, "/v1/messages", model, headers, KEY_VARIABLE)

    def complete(
        self, system: str, messages: Sequence[Message], on_text: OnText | None = None
    ) -> Reply:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_output_tokens,
            "system": system,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
        }
        if on_text is None:
            return self.transport.post(body, self._read_plain)
        return self.transport.post(body | {"stream": True}, self._read_stream, on_text)

    def _read_plain(self, response: httpx.Response, _: OnText) -> Reply:
        data = parse_json(response.read().decode("utf-8", "replace"), self.api_name)
        if not isinstance(data, dict) or not isinstance(data.get("content"), list):
            raise ProviderError(f"{self.api_name} answered without content: {data!r:.200}")
        text = "".join(
            block.get("text", "") for block in data["content"] if block.get("type") == "text"
        )
        usage = _usage(data.get("usage") or {}, 0)
        stop = _STOPS.get(data.get("stop_reason") or "", "other")
        return Reply(text, data.get("model") or self.model, usage, stop)

    def _read_stream(self, response: httpx.Response, on_text: OnText) -> Reply:
        parts: list[str] = []
        start: dict[str, Any] = {}
        output, model, stop = 0, self.model, ""
        for event in self.events(response):
            if event.event == "ping":
                continue
            data = parse_json(event.data, self.api_name) if event.data else {}
            typed = data.get("type") if isinstance(data, dict) else ""
            kind = event.event if event.event not in ("", "message") else typed
            if kind == "error":
                if transient(data):
                    raise Retryable(f"error event: {event_error(data)}")
                raise ProviderError(f"{self.api_name} failed mid-answer: {event_error(data)}")
            if kind == "message_start":
                message = data.get("message") or {}
                start, model = message.get("usage") or {}, message.get("model") or model
            elif kind == "content_block_delta":
                delta = data.get("delta") or {}
                if delta.get("type") == "text_delta":
                    parts.append(delta.get("text", ""))
                    on_text(delta.get("text", ""))
            elif kind == "message_delta":
                stop = (data.get("delta") or {}).get("stop_reason") or stop
                output = int((data.get("usage") or {}).get("output_tokens") or output)
            elif kind == "message_stop":
                usage = _usage(start, output)
                return Reply("".join(parts), model, usage, _STOPS.get(stop, "other"))
        raise Retryable("the stream ended before message_stop")


def _usage(usage: dict[str, Any], streamed_output: int) -> Usage:
    """Input tokens as the API splits them (new, read from its cache, written to it), summed."""
    cached = int(usage.get("cache_read_input_tokens") or 0)
    prompt = int(usage.get("input_tokens") or 0) + cached
    prompt += int(usage.get("cache_creation_input_tokens") or 0)
    output = streamed_output or int(usage.get("output_tokens") or 0)
    return Usage(prompt, output, cached)
