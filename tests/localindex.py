"""A PEP 503 package index on 127.0.0.1 for tests: a folder of files and generated simple pages."""

from __future__ import annotations

import hashlib
import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name


class LocalIndex:
    """``add`` files, then ``serve``: ``url`` is the simple index, ``requests`` what was asked."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, list[str]] = {}  # project -> file names
        self.requests: list[str] = []
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
        requests = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                requests.append(self.path)

        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(self.root)))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}/simple/"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()

    def file_requests(self) -> list[str]:
        return [r for r in self.requests if r.startswith("/files/")]
