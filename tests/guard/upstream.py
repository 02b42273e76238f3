"""An upstream index on 127.0.0.1 for the proxy tests: PEP 691 JSON with PEP 700 upload times when
asked for JSON, PEP 503 HTML otherwise (or HTML only), files served from a folder.

Everything published is built by the tests as inert text; nothing here is installed or run.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.localindex import JSON_TYPE, IndexServer, Route, running


@dataclass(frozen=True)
class Published:
    filename: str
    sha256: str
    uploaded: datetime | None
    requires_python: str | None


class StaticUpstream:
    """``add`` files (with upload times), then ``serve``: ``url`` is the simple index URL."""

    def __init__(self, root: Path, *, json_pages: bool = True) -> None:
        self.root = root
        self.json_pages = json_pages
        self.projects: dict[str, list[Published]] = {}
        self.server = IndexServer(root)
        self.url = ""
        (root / "files").mkdir(parents=True, exist_ok=True)

    def add(
        self, project: str, path: Path, uploaded: datetime | None = None, requires_python: str | None = None
    ) -> str:
        """Publish ``path`` under ``project``; its sha256."""
        data = path.read_bytes()
        (self.root / "files" / path.name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        name = str(canonicalize_name(project))
        self.projects.setdefault(name, []).append(Published(path.name, digest, uploaded, requires_python))
        self._publish(name)
        return digest

    def replace(self, filename: str, data: bytes) -> None:
        """Swap a published file's bytes behind the page's back (a tampered mirror)."""
        (self.root / "files" / filename).write_bytes(data)

    def page_requests(self, project: str) -> int:
        return sum(1 for path in self.server.paths() if path == f"/simple/{project}/")

    def _publish(self, project: str) -> None:
        files = self.projects[project]
        anchors = "".join(
            f'<a href="../../files/{html.escape(f.filename)}#sha256={f.sha256}"'
            + (f' data-requires-python="{html.escape(f.requires_python)}"' if f.requires_python else "")
            + f">{html.escape(f.filename)}</a><br>\n"
            for f in files
        )
        page = f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n".encode()
        document = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": sorted({f.filename.split("-")[1] for f in files}),
            "files": [
                {
                    "filename": f.filename,
                    "url": f"../../files/{f.filename}",
                    "hashes": {"sha256": f.sha256},
                    "requires-python": f.requires_python,
                    "upload-time": f.uploaded.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    if f.uploaded
                    else None,
                    "size": (self.root / "files" / f.filename).stat().st_size,
                    "yanked": False,
                }
                for f in files
            ],
        }
        self.server.routes[f"/simple/{project}/"] = Route(
            page, json_body=json.dumps(document).encode() if self.json_pages else None
        )

    @contextmanager
    def serve(self) -> Iterator[StaticUpstream]:
        with running(self.server) as server:
            self.url = f"{server.url}/simple/"
            yield self


JSON_ACCEPT = JSON_TYPE
