"""Both provider APIs against a real HTTP server on loopback: plain and streamed replies,
rate limits with and without their advice, overload and 5xx, a slow server, streams cut
short or malformed, final 4xx, the circuit breaker, Ctrl-C, and the settings that pick one."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from codeintel.agent.llm import Message, open_provider
from codeintel.agent.llm.anthropic import AnthropicMessages
from codeintel.agent.llm.openai import OpenAIChat
from codeintel.agent.llm.transport import CircuitBreaker, Transport
from codeintel.errors import ConfigError, ProviderError, StreamCut
from codeintel.settings import LLMSettings, load_settings
from tests.provider_server import ProviderServer, Scripted, events, reply

QUESTION = [Message("user", "Where is the cache key built?")]


class Calls:
    """The provider under test, with the waits it chose recorded instead of slept."""

    def __init__(self, server: ProviderServer, api: str, **options: float) -> None:
        self.waits: list[float] = []
        kind = OpenAIChat if api == "openai" else AnthropicMessages
        base = server.url + ("/v1" if api == "openai" else "")
        transport = Transport(
            kind.endpoint(base, "test-model", "sk-test"),
            timeout=options.get("timeout", 5.0),
            max_retries=int(options.get("retries", 3)),
            breaker=CircuitBreaker(int(options.get("breaker", 50))),
            sleep=self.waits.append,
            jitter=lambda: 0.5,
        )
        self.provider = kind(transport, "test-model", 100)
        self.shown: list[str] = []

    def ask(self, stream: bool = False) -> str:
        on_text = self.shown.append if stream else None
        return self.provider.complete("You answer briefly.", QUESTION, on_text).text


def openai_chunk(text: str = "", finish: str | None = None, **extra: object) -> dict[str, object]:
    choice = {"index": 0, "delta": {"content": text} if text else {}, "finish_reason": finish}
    return {"model": "test-model-1", "choices": [choice], **extra}


OPENAI_STREAM = [
    (None, openai_chunk("The key ")),
    (None, openai_chunk("is built in `cache_key`.", finish="stop", unknown_field=1)),
    (
        None,
        {
            "choices": [],
            "usage": {
                "prompt_tokens": 120,
                "completion_tokens": 9,
                "prompt_tokens_details": {"cached_tokens": 64},
            },
        },
    ),
]


def anthropic_stream(*texts: str) -> list[tuple[str | None, object]]:
    start = {
        "type": "message_start",
        "message": {
            "model": "test-model-2",
            "usage": {"input_tokens": 30, "cache_read_input_tokens": 90, "output_tokens": 1},
        },
    }
    deltas = [
        (
            "content_block_delta",
            {"type": "content_block_delta", "delta": {"type": "text_delta", "text": text}},
        )
        for text in texts
    ]
    return [
        ("message_start", start),
        ("ping", {"type": "ping"}),
        ("content_block_start", {"type": "content_block_start", "index": 0}),
        *deltas,
        ("brand_new_event", {"type": "brand_new_event"}),
        ("message_delta", {"delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 7}}),
    ]


# -- answers -------------------------------------------------------------------------------


def test_openai_plain_answer_and_request(server: ProviderServer) -> None:
    server.script.append(
        reply(
            {
                "model": "test-model-1",
                "choices": [{"message": {"content": "In cache_key."}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 4},
            }
        )
    )
    calls = Calls(server, "openai")
    result = calls.provider.complete("You answer briefly.", QUESTION)
    assert (result.text, result.model, result.stop_reason) == (
        "In cache_key.",
        "test-model-1",
        "end",
    )
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (50, 4)
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["messages"][0] == {"role": "system", "content": "You answer briefly."}
    assert request.body["messages"][1]["content"] == QUESTION[0].content
    assert request.body["max_tokens"] == 100 and "stream" not in request.body


def test_openai_stream_delivers_deltas_and_usage(server: ProviderServer) -> None:
    server.script.append(events(*OPENAI_STREAM, done="[DONE]"))
    calls = Calls(server, "openai")
    result = calls.provider.complete("s", QUESTION, calls.shown.append)
    assert calls.shown == ["The key ", "is built in `cache_key`."]
    assert result.text == "The key is built in `cache_key`."
    assert (result.usage.prompt_tokens, result.usage.cached_tokens) == (120, 64)
    assert result.stop_reason == "end"
    assert server.requests[0].body["stream_options"] == {"include_usage": True}


def test_anthropic_plain_answer_and_request(server: ProviderServer) -> None:
    server.script.append(
        reply(
            {
                "model": "test-model-2",
                "content": [
                    {"type": "text", "text": "In "},
                    {"type": "text", "text": "cache_key."},
                ],
                "stop_reason": "max_tokens",
                "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3},
            }
        )
    )
    result = Calls(server, "anthropic").provider.complete("You answer briefly.", QUESTION)
    assert (result.text, result.stop_reason) == ("In cache_key.", "max_tokens")
    assert (result.usage.prompt_tokens, result.usage.cached_tokens) == (15, 5)
    [request] = server.requests
    assert request.path == "/v1/messages"
    assert request.headers["x-api-key"] == "sk-test"
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert request.body["system"] == "You answer briefly." and request.body["max_tokens"] == 100


def test_anthropic_stream_ignores_unknown_events(server: ProviderServer) -> None:
    stream = anthropic_stream("The key ", "is built here.")
    server.script.append(events(*stream, ("message_stop", {"type": "message_stop"})))
    calls = Calls(server, "anthropic")
    result = calls.provider.complete("s", QUESTION, calls.shown.append)
    assert calls.shown == ["The key ", "is built here."]
    assert result.text == "The key is built here." and result.model == "test-model-2"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (120, 7)
    assert result.usage.cached_tokens == 90


# -- retries ------------------------------------------------------------------------------


def ok(api: str) -> Scripted:
    if api == "openai":
        return reply({"choices": [{"message": {"content": "fine"}, "finish_reason": "stop"}]})
    return reply({"content": [{"type": "text", "text": "fine"}], "stop_reason": "end_turn"})


@pytest.mark.parametrize("api", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("headers", "wait"),
    [({"retry-after-ms": "250"}, 0.25), ({"retry-after": "2"}, 2.0), ({}, 0.375)],
)
def test_rate_limits_wait_as_told_else_back_off(
    server: ProviderServer, api: str, headers: dict[str, str], wait: float
) -> None:
    server.script += [reply({"error": {"message": "slow down"}}, 429, **headers), ok(api)]
    calls = Calls(server, api)
    assert calls.ask() == "fine"
    assert calls.waits == [pytest.approx(wait)]  # no advice: 0.5 s halved-to-full, jitter 0.5


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_overload_and_server_errors_back_off_exponentially(
    server: ProviderServer, api: str
) -> None:
    server.script += [reply({}, 500), reply({"error": {"type": "overloaded_error"}}, 529)]
    server.script += [reply({}, 503), ok(api)]
    calls = Calls(server, api)
    assert calls.ask() == "fine"
    assert calls.waits == [0.375, 0.75, 1.5] and len(server.requests) == 4


def test_a_long_rate_limit_is_an_error_saying_when(server: ProviderServer) -> None:
    server.script.append(reply({"error": {"message": "quota"}}, 429, **{"retry-after": "120"}))
    with pytest.raises(ProviderError, match=r"rate limiting: retry in 120 s"):
        Calls(server, "openai").ask()


def test_gives_up_after_max_retries_naming_the_last_failure(server: ProviderServer) -> None:
    server.script += [reply({"error": {"message": "boom"}}, 502) for _ in range(3)]
    with pytest.raises(ProviderError, match=r"failed after 3 attempts: HTTP 502: boom"):
        Calls(server, "openai", retries=2).ask()
    assert len(server.requests) == 3


def test_a_slow_server_times_out_and_is_retried(server: ProviderServer) -> None:
    server.script += [Scripted(wait=1.0), ok("openai")]
    calls = Calls(server, "openai", timeout=0.2)
    assert calls.ask() == "fine"
    server.script += [Scripted(wait=1.0), Scripted(wait=1.0)]
    with pytest.raises(ProviderError, match="no answer within llm.timeout"):
        Calls(server, "openai", timeout=0.2, retries=1).ask()


@pytest.mark.parametrize(
    ("status", "match"),
    [
        (401, r"refused the API key \(HTTP 401: bad key\); set OPENAI_API_KEY"),
        (403, r"refused the API key \(HTTP 403"),
        (404, r"no model 'test-model'.*check llm.base_url and llm.model"),
        (400, r"refused the request \(HTTP 400: bad key\)"),
    ],
)
def test_other_client_errors_are_final(server: ProviderServer, status: int, match: str) -> None:
    server.script.append(reply({"error": {"message": "bad key"}}, status))
    with pytest.raises(ProviderError, match=match):
        Calls(server, "openai").ask()
    assert len(server.requests) == 1


def test_should_retry_header_overrides_the_status(server: ProviderServer) -> None:
    server.script.append(reply({}, 500, **{"x-should-retry": "false"}))
    with pytest.raises(ProviderError, match="HTTP 500"):
        Calls(server, "openai").ask()
    server.script += [reply({}, 400, **{"x-should-retry": "true"}), ok("openai")]
    assert Calls(server, "openai").ask() == "fine"


def test_the_breaker_stops_calling_a_failing_provider(server: ProviderServer) -> None:
    server.script += [reply({}, 500) for _ in range(4)]
    calls = Calls(server, "openai", retries=1, breaker=3)
    for _ in range(2):  # the breaker opens during the second call's retries
        with pytest.raises(ProviderError, match="failed after 2 attempts"):
            calls.ask()
    with pytest.raises(ProviderError, match=r"failed 4 times in a row .*not calling it again"):
        calls.ask()
    assert len(server.requests) == 4  # the open circuit sent nothing
    calls.provider.transport.breaker.open_until = 0  # the cool-down over: one trial
    server.script.append(ok("openai"))
    assert calls.ask() == "fine" and calls.provider.transport.breaker.count == 0


# -- streams cut short or malformed ----------------------------------------------------


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_a_stream_cut_after_text_is_no_answer(server: ProviderServer, api: str) -> None:
    partial = [OPENAI_STREAM[0]] if api == "openai" else anthropic_stream("The key ")
    server.script.append(events(*partial))  # no [DONE] / message_stop: the stream just ends
    calls = Calls(server, api)
    with pytest.raises(StreamCut, match="broke off"):
        calls.ask(stream=True)
    assert calls.shown == ["The key "] and len(server.requests) == 1  # shown text: no retry


def test_a_connection_dropped_mid_stream_is_no_answer(server: ProviderServer) -> None:
    server.script.append(events(*OPENAI_STREAM[:1], short_by=500))
    with pytest.raises(StreamCut, match="RemoteProtocolError"):
        Calls(server, "openai").ask(stream=True)


def test_a_stream_cut_before_any_text_is_retried(server: ProviderServer) -> None:
    server.script += [events(), events(*OPENAI_STREAM, done="[DONE]")]
    calls = Calls(server, "openai")
    assert calls.ask(stream=True) == "The key is built in `cache_key`."
    assert len(server.requests) == 2


def test_malformed_event_data_is_an_error(server: ProviderServer) -> None:
    server.script.append(events((None, "{not json")))
    with pytest.raises(ProviderError, match="malformed event data"):
        Calls(server, "openai").ask(stream=True)
    server.script.append(events(OPENAI_STREAM[0], (None, "{not json")))
    with pytest.raises(StreamCut, match="malformed event data"):
        Calls(server, "openai").ask(stream=True)


def test_a_non_event_stream_is_an_error(server: ProviderServer) -> None:
    server.script.append(reply({"choices": []}))  # JSON where events were asked for
    with pytest.raises(ProviderError, match="did not stream events"):
        Calls(server, "openai").ask(stream=True)


def test_error_events_after_http_200(server: ProviderServer) -> None:
    overloaded = ("error", {"type": "error", "error": {"type": "overloaded_error"}})
    server.script += [events(overloaded), events(*anthropic_stream("ok"), ("message_stop", {}))]
    calls = Calls(server, "anthropic")
    assert calls.ask(stream=True) == "ok" and len(calls.waits) == 1
    invalid = ("error", {"type": "error", "error": {"type": "invalid_request_error"}})
    server.script.append(events(invalid))
    with pytest.raises(ProviderError, match="failed mid-answer: invalid_request_error"):
        calls.ask(stream=True)
    final = events(
        (None, {"error": {"message": "context too long", "type": "invalid_request_error"}})
    )
    server.script.append(final)
    with pytest.raises(ProviderError, match="failed mid-answer: context too long"):
        Calls(server, "openai").ask(stream=True)
    failed = events((None, {"error": {"message": "server had an error", "type": "server_error"}}))
    server.script += [failed, events(*OPENAI_STREAM, done="[DONE]")]
    before = len(server.requests)
    assert Calls(server, "openai").ask(stream=True) == "The key is built in `cache_key`."
    assert len(server.requests) - before == 2


def test_ctrl_c_stops_a_stream_and_the_provider_stays_usable(server: ProviderServer) -> None:
    server.script.append(events(*OPENAI_STREAM, done="[DONE]", pause=0.05))
    calls = Calls(server, "openai")

    def interrupt(text: str) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        calls.provider.complete("s", QUESTION, interrupt)
    server.script.append(ok("openai"))
    assert calls.ask() == "fine"


# -- settings ----------------------------------------------------------------------------


def test_open_provider_from_settings_and_environment(
    server: ProviderServer, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match="set llm.model"):
        open_provider(LLMSettings())
    environ = {
        "CODEINTEL_LLM_PROVIDER": "anthropic",
        "CODEINTEL_LLM_BASE_URL": server.url,
        "CODEINTEL_LLM_MODEL": "test-model",
    }
    settings = load_settings(tmp_path, environ=environ).llm
    provider = open_provider(settings, environ={"ANTHROPIC_API_KEY": "sk-env"})
    server.script.append(ok("anthropic"))
    assert provider.complete("s", QUESTION).text == "fine"
    assert server.requests[-1].headers["x-api-key"] == "sk-env"
    keyed = LLMSettings(model="m", base_url=server.url + "/v1", api_key=SecretStr("sk-set"))
    assert "sk-set" not in repr(keyed) and "sk-set" not in keyed.model_dump_json()
    server.script.append(ok("openai"))
    open_provider(keyed, environ={"OPENAI_API_KEY": "sk-env"}).complete("s", QUESTION)
    assert server.requests[-1].headers["authorization"] == "Bearer sk-set"
    server.script.append(ok("openai"))
    local = LLMSettings(model="m", base_url=server.url + "/v1")  # Ollama needs no key
    open_provider(local, environ={}).complete("s", QUESTION)
    assert "authorization" not in server.requests[-1].headers


def test_anthropic_events_without_names_are_read_by_type(server: ProviderServer) -> None:
    unnamed = [(None, data) for _, data in anthropic_stream("by type")]
    server.script.append(events(*unnamed, (None, {"type": "message_stop"})))
    assert Calls(server, "anthropic").ask(stream=True) == "by type"


def test_a_base_url_without_a_scheme_is_a_setting_error(server: ProviderServer) -> None:
    settings = LLMSettings(model="m", base_url=server.url.removeprefix("http://") + "/v1")
    with pytest.raises(ProviderError, match="not an http\\(s\\) URL.*check llm.base_url"):
        open_provider(settings, environ={}).complete("s", QUESTION)
    assert server.requests == []
