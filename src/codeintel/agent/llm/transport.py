"""HTTP for the providers: one POST with retries and a circuit breaker, failures turned
into one line that names the fix.

Retried, with exponential backoff and jitter unless the provider says how long to wait
(``retry-after-ms``, ``retry-after`` in seconds or as a date): 408, 409, 429, 5xx and 529,
timeouts and dropped connections, and error events a stream sends after HTTP 200 that mean
overload. ``x-should-retry`` overrides the status, as the providers' own SDKs let it. Other
4xx are final. Once a streamed answer has shown text, nothing is retried: a failure is then
``StreamCut`` and the partial text is no answer.
"""

from __future__ import annotations

import email.utils
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource, ServerSentEvent, SSEError

from codeintel.agent.llm.base import OnText
from codeintel.errors import ProviderError, StreamCut

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 429})  # and every 5xx (529 is overload)
BASE_DELAY = 0.5  # seconds before the first retry, doubled each time
MAX_DELAY = 8.0
MAX_WAIT = 60.0  # a provider asking for a longer wait gets an error saying when to retry
BREAKER_FAILURES = 5  # failed attempts in a row that open the circuit
BREAKER_COOLDOWN = 30.0  # seconds it stays open before one trial call
_SHOWN = 200  # characters of a provider's error message quoted


class Retryable(Exception):
    """A failure worth another attempt; ``wait`` is the provider's own advice, if any."""

    def __init__(self, reason: str, wait: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


@dataclass(frozen=True)
class Endpoint:
    """Where a provider is and how to speak to it; ``key_hint`` says how to set its key."""

    name: str
    url: str
    headers: dict[str, str]
    model: str
    key_hint: str


def endpoint(
    name: str,
    root: str,
    path: str,
    model: str,
    headers: dict[str, str],
    key_variable: str,
) -> Endpoint:
    """The endpoint at ``root`` + ``path`` (``root`` without its trailing slash)."""
    hint = f"set {key_variable} or CODEINTEL_LLM_API_KEY"
    return Endpoint(name, f"{root.rstrip('/')}{path}", headers, model, hint)


class HTTPAPI:
    """What a provider over ``Transport`` shares: the transport, the model, the longest
    answer asked for, and reading a stream's events."""

    def __init__(self, transport: Transport, model: str, max_output_tokens: int) -> None:
        self.transport, self.model, self.max_output_tokens = transport, model, max_output_tokens

    @property
    def api_name(self) -> str:
        return self.transport.endpoint.name

    def events(self, response: httpx.Response) -> Iterator[ServerSentEvent]:
        try:
            yield from EventSource(response).iter_sse()
        except SSEError as exc:
            raise ProviderError(f"{self.api_name} did not stream events: {exc}") from exc


class CircuitBreaker:
    """Stops calling a provider that failed ``failures`` attempts in a row, for
    ``cooldown`` seconds; then lets one call try again."""

    def __init__(
        self,
        failures: int = BREAKER_FAILURES,
        cooldown: float = BREAKER_COOLDOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures, self.cooldown, self.clock = failures, cooldown, clock
        self.count, self.open_until, self.last = 0, 0.0, ""

    def check(self, name: str) -> None:
        left = self.open_until - self.clock()
        if left > 0:
            raise ProviderError(
                f"{name} failed {self.count} times in a row (last: {self.last}); "
                f"not calling it again for {left:.0f} s"
            )

    def failed(self, reason: str) -> None:
        self.count, self.last = self.count + 1, reason
        if self.count >= self.failures:
            self.open_until = self.clock() + self.cooldown

    def succeeded(self) -> None:
        self.count, self.open_until = 0, 0.0


class _Delivery:
    """Passes text on and remembers whether any went out (then nothing may be retried)."""

    def __init__(self, on_text: OnText | None) -> None:
        self.on_text, self.delivered = on_text, False

    def __call__(self, text: str) -> None:
        if text and self.on_text is not None:
            self.delivered = True
            self.on_text(text)


Reader = Callable[[httpx.Response, OnText], T]


class Transport:
    def __init__(
        self,
        endpoint: Endpoint,
        timeout: float,
        max_retries: int,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint = endpoint
        self.max_retries = max_retries
        self.breaker = breaker or CircuitBreaker()
        self.sleep: Callable[[float], None] = sleep
        self.jitter: Callable[[], float] = jitter
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            headers={"user-agent": "codeintel", **endpoint.headers},
        )

    def close(self) -> None:
        self.client.close()

    def post(self, body: dict[str, Any], read: Reader[T], on_text: OnText | None = None) -> T:
        """POST ``body`` as JSON; ``read`` turns the HTTP 200 response into the result,
        passing streamed text to the ``OnText`` it is given."""
        name = self.endpoint.name
        self.breaker.check(name)
        for attempt in range(self.max_retries + 1):
            delivery = _Delivery(on_text)
            try:
                with self.client.stream("POST", self.endpoint.url, json=body) as response:
                    if response.status_code != 200:
                        response.read()
                        raise self._failure(response)
                    result = read(response, delivery)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise ProviderError(
                    f"{name}: {self.endpoint.url} is not an http(s) URL ({exc}); check llm.base_url"
                ) from None
            except (httpx.TransportError, Retryable) as exc:  # TransportError: timeouts too
                reason = exc.reason if isinstance(exc, Retryable) else _describe(exc)
                wait = exc.wait if isinstance(exc, Retryable) else None
            except httpx.HTTPError as exc:  # an undecodable body, redirects without end
                if delivery.delivered:
                    raise StreamCut(f"{name}'s answer broke off ({_describe(exc)})") from exc
                raise ProviderError(f"{name} answered unreadably: {_describe(exc)}") from exc
            except ProviderError as exc:
                if delivery.delivered:
                    raise StreamCut(f"{name}'s answer broke off: {exc}") from exc
                raise
            else:
                self.breaker.succeeded()
                return result
            self.breaker.failed(reason)
            if delivery.delivered:
                raise StreamCut(f"{name}'s answer broke off ({reason}); it is not used")
            if attempt == self.max_retries:
                tries = f"{attempt + 1} attempt{'s' * bool(attempt)}"
                raise ProviderError(f"{name} failed after {tries}: {reason}")
            delay = wait if wait is not None else self._backoff(attempt)
            if delay > MAX_WAIT:
                raise ProviderError(f"{name} is rate limiting: retry in {delay:.0f} s ({reason})")
            self.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _backoff(self, attempt: int) -> float:
        """Full-range exponential backoff: between half and all of the doubled delay."""
        return min(MAX_DELAY, BASE_DELAY * 2.0**attempt) * (0.5 + 0.5 * self.jitter())

    def _failure(self, response: httpx.Response) -> Exception:
        status, message = response.status_code, error_message(response)
        endpoint, shown = self.endpoint, f"HTTP {status}: {message}"
        should = response.headers.get("x-should-retry")
        if should == "true" or (should != "false" and (status in RETRY_STATUSES or status >= 500)):
            return Retryable(shown, retry_after(response.headers))
        if status in (401, 403):
            return ProviderError(
                f"{endpoint.name} refused the API key ({shown}); {endpoint.key_hint}"
            )
        if status == 404:
            return ProviderError(
                f"{endpoint.name} has no {endpoint.url} or no model {endpoint.model!r} "
                f"({shown}); check llm.base_url and llm.model"
            )
        return ProviderError(f"{endpoint.name} refused the request ({shown})")


def error_message(response: httpx.Response) -> str:
    """The provider's own message: ``{"error": {"message": ...}}`` in both APIs."""
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text.strip()[:_SHOWN] or response.reason_phrase
    return event_error(data) or json.dumps(data)[:_SHOWN]


# Error types (OpenAI's ``type`` or ``code``, Anthropic's ``type``) another attempt may pass.
TRANSIENT_ERRORS = frozenset(
    {"server_error", "api_error", "overloaded_error", "rate_limit_error", "rate_limit_exceeded",
     "timeout_error", "internal_error", "service_unavailable"}
)  # fmt: skip


def transient(data: Any) -> bool:
    """Whether an error event's object names an error worth another attempt."""
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return False
    return bool({error.get("type"), error.get("code")} & TRANSIENT_ERRORS)


def event_error(data: Any) -> str:
    """The message of an error object (``{"error": {"message": ...}}``), else ""."""
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:_SHOWN]
    return str(error)[:_SHOWN] if error else ""


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds the provider asks to wait: ``retry-after-ms``, else ``retry-after`` (seconds
    or an HTTP date)."""
    try:
        return max(0.0, float(headers["retry-after-ms"]) / 1000)
    except (KeyError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "no answer within llm.timeout"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def parse_json(data: str, name: str) -> Any:
    """One event's JSON data; malformed data is the provider's error, never guessed at."""
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise ProviderError(f"{name} sent malformed event data: {data[:_SHOWN]!r}") from exc
