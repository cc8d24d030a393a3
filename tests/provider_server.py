"""A real HTTP server on loopback playing an LLM provider: each request gets the next
scripted response (status, headers, body sent in parts, pauses, a connection cut short),
and every request is recorded for the test to inspect."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    status: int = 200
    parts: list[bytes] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    wait: float = 0.0  # before the status line: a slow server
    pause: float = 0.0  # between parts
    short_by: int = 0  # declare this many bytes more than are sent, then hang up


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


def reply(data: Any, status: int = 200, **headers: str) -> Scripted:
    return Scripted(status, [json.dumps(data).encode()], headers)


def events(*items: tuple[str | None, Any], done: str | None = None, **options: Any) -> Scripted:
    """A server-sent event stream: (event name or None, data: JSON-able or raw str)."""
    parts = []
    for name, data in items:
        text = data if isinstance(data, str) else json.dumps(data)
        parts.append(((f"event: {name}\n" if name else "") + f"data: {text}\n\n").encode())
    if done is not None:
        parts.append(f"data: {done}\n\n".encode())
    return Scripted(parts=parts, content_type="text/event-stream", **options)


class ProviderServer:
    def __init__(self) -> None:
        self.script: list[Scripted] = []
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (the http.server API)
                length = int(self.headers.get("content-length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests.append(Recorded(self.path, headers, body))
                scripted = server.script.pop(0) if server.script else reply({}, 500)
                time.sleep(scripted.wait)
                self.send_response(scripted.status)
                self.send_header("content-type", scripted.content_type)
                size = sum(len(part) for part in scripted.parts) + scripted.short_by
                self.send_header("content-length", str(size))
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for part in scripted.parts:
                        self.wfile.write(part)
                        self.wfile.flush()
                        time.sleep(scripted.pause)
                except (BrokenPipeError, ConnectionResetError):  # the client went away
                    pass
                if scripted.short_by:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[ProviderServer]:
        thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.httpd.shutdown()
            self.httpd.server_close()
            thread.join()
