"""A small package index on 127.0.0.1: a directory served over HTTP, plus canned answers per path."""

from __future__ import annotations

import functools
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

JSON_TYPE = "application/vnd.pypi.simple.v1+json"


@dataclass
class Route:
    """A canned answer; ``json_body`` is served instead of ``body`` when Accept asks for PEP 691 JSON."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html"
    headers: dict[str, str] = field(default_factory=dict)
    json_body: bytes | None = None
    delay: float = 0.0  # before the status line
    declared_length: int | None = None  # a Content-Length that differs from the body
    send_length: bool = True
    stall_after: int | None = None  # send this many body bytes, then stop talking


@dataclass(frozen=True)
class Seen:
    path: str
    accept: str | None
    authorization: str | None


@dataclass
class IndexServer:
    root: Path
    port: int = 0
    routes: dict[str, Route] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    index: IndexServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that timed out on purpose leaves a broken pipe behind; that is the test working.
        pass


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        index = self.server.index
        index.seen.append(Seen(self.path, self.headers.get("Accept"), self.headers.get("Authorization")))
        route = index.routes.get(self.path)
        if route is None:
            super().do_GET()
        else:
            self._answer(route, index)

    def _answer(self, route: Route, index: IndexServer) -> None:
        if route.delay:
            index.release.wait(route.delay)
        wants_json = route.json_body is not None and JSON_TYPE in (self.headers.get("Accept") or "")
        body = route.json_body if wants_json and route.json_body is not None else route.body
        self.send_response(route.status)
        self.send_header("Content-Type", JSON_TYPE if wants_json else route.content_type)
        if route.send_length:
            length = route.declared_length if route.declared_length is not None else len(body)
            self.send_header("Content-Length", str(length))
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if route.stall_after is not None:
            self.wfile.write(body[: route.stall_after])
            self.wfile.flush()
            index.release.wait(10)
            return
        self.wfile.write(body)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib honours proxy variables; requests to 127.0.0.1 must not go through one."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "www"
    root.mkdir()
    state = IndexServer(root)
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    server.index = state
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def dead_url() -> str:
    """An address where nothing listens: a port the OS gave out and took back."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
