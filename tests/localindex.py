"""A package index on 127.0.0.1 for tests: a folder served over HTTP, canned answers per path,
and (``LocalIndex``) PEP 503 pages generated for the files the tests publish."""

from __future__ import annotations

import functools
import hashlib
import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

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


@contextmanager
def running(state: IndexServer) -> Iterator[IndexServer]:
    """Serve ``state.root`` (and ``state.routes``) until the block ends; ``state.port`` is set."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Handler, directory=str(state.root)))
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


class LocalIndex:
    """``add`` files, then ``serve``: ``url`` is the simple index, ``server.seen`` what was asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, list[str]] = {}  # project -> file names
        self.server = IndexServer(root)
        self.url = ""
        (root / "files").mkdir(parents=True, exist_ok=True)

    def add(self, project: str, path: Path) -> str:
        """Publish ``path`` under ``project``; its sha256."""
        data = path.read_bytes()
        (self.root / "files" / path.name).write_bytes(data)
        self.files.setdefault(str(canonicalize_name(project)), []).append(path.name)
        self._write_pages()
        return hashlib.sha256(data).hexdigest()

    def replace(self, filename: str, data: bytes) -> None:
        """Swap a published file's bytes behind the index's back (a tampered mirror)."""
        (self.root / "files" / filename).write_bytes(data)

    def _write_pages(self) -> None:
        simple = self.root / "simple"
        simple.mkdir(exist_ok=True)
        links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(self.files))
        (simple / "index.html").write_text(f"<!DOCTYPE html><html><body>\n{links}</body></html>\n")
        for project, names in self.files.items():
            page = simple / project
            page.mkdir(exist_ok=True)
            anchors = []
            for name in names:
                digest = hashlib.sha256((self.root / "files" / name).read_bytes()).hexdigest()
                anchors.append(f'<a href="../../files/{html.escape(name)}#sha256={digest}">{name}</a><br>\n')
            (page / "index.html").write_text(
                f"<!DOCTYPE html><html><body>\n{''.join(anchors)}</body></html>\n"
            )

    @contextmanager
    def serve(self) -> Iterator[LocalIndex]:
        with running(self.server) as server:
            self.url = f"{server.url}/simple/"
            yield self

    def file_requests(self) -> list[str]:
        return [path for path in self.server.paths() if path.startswith("/files/")]
