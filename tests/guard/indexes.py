"""A package index on 127.0.0.1 for the install guard's tests, shaped like PyPI.

Project pages are PEP 691 JSON (with a PEP 503 HTML body for clients that ask for it) and
carry each file's sha256 and PEP 700 upload time; each wheel has its PEP 658/714 metadata file
beside it, so resolvers read metadata without downloading the wheel, as they do on PyPI. Every
request is recorded: a test can tell which files were fetched.
"""

from __future__ import annotations

import hashlib
import html
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name

from tests.localindex import IndexServer, Route, running

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Listed:
    filename: str
    sha256: str | None  # what the page says, which a test may make wrong
    uploaded: datetime | None
    metadata_sha256: str | None  # the PEP 658 file's, for wheels


class GuardIndex:
    """``add`` files (before or while serving); ``url`` is the simple index once ``serve`` runs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files = root / "files"
        self.files.mkdir(parents=True, exist_ok=True)
        self.server = IndexServer(root)
        self.projects: dict[str, list[Listed]] = {}
        self.url = ""

    def add(
        self,
        project: str,
        path: Path,
        *,
        uploaded: datetime | None = LONG_AGO,
        listed_sha256: str | None = "real",
    ) -> str:
        """Publish ``path``; the page lists ``listed_sha256`` ("real": the file's own, None: none)."""
        data = path.read_bytes()
        (self.files / path.name).write_bytes(data)
        real = hashlib.sha256(data).hexdigest()
        metadata_sha256 = None
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                member = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                metadata = archive.read(member)
            (self.files / f"{path.name}.metadata").write_bytes(metadata)
            metadata_sha256 = hashlib.sha256(metadata).hexdigest()
        listed = Listed(
            path.name, real if listed_sha256 == "real" else listed_sha256, uploaded, metadata_sha256
        )
        self.projects.setdefault(str(canonicalize_name(project)), []).append(listed)
        self._route(str(canonicalize_name(project)))
        return real

    def _route(self, project: str) -> None:
        entries = []
        anchors = []
        for listed in self.projects[project]:
            entry: dict[str, object] = {
                "filename": listed.filename,
                "url": f"../../files/{listed.filename}",
                "hashes": {"sha256": listed.sha256} if listed.sha256 else {},
                "upload-time": _time(listed.uploaded),
            }
            attributes = ""
            if listed.metadata_sha256:
                entry["core-metadata"] = {"sha256": listed.metadata_sha256}
                entry["dist-info-metadata"] = {"sha256": listed.metadata_sha256}
                attributes = f' data-core-metadata="sha256={listed.metadata_sha256}"'
            entries.append(entry)
            fragment = f"#sha256={listed.sha256}" if listed.sha256 else ""
            anchors.append(
                f'<a href="../../files/{html.escape(listed.filename)}{fragment}"{attributes}>'
                f"{html.escape(listed.filename)}</a><br>\n"
            )
        page = {"meta": {"api-version": "1.1"}, "name": project, "files": entries}
        body = f"<!DOCTYPE html><html><body>\n{''.join(anchors)}</body></html>\n".encode()
        self.server.routes[f"/simple/{project}/"] = Route(
            body, content_type="text/html", json_body=json.dumps(page).encode()
        )

    @contextmanager
    def serve(self) -> Iterator[GuardIndex]:
        with running(self.server) as server:
            self.url = f"{server.url}/simple/"
            yield self

    def requests(self) -> list[str]:
        return self.server.paths()

    def downloads(self) -> list[str]:
        """The archives fetched (metadata files and pages left out)."""
        return [p for p in self.requests() if p.startswith("/files/") and not p.endswith(".metadata")]


def _time(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if moment else None
