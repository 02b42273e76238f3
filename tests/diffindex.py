"""A PEP 691 index on 127.0.0.1 that says what a diff example's ``index`` facts say.

Releases with files are served for real; an ``upload VERSION`` without files is listed as an
earlier release (its file is never fetched); ``provenance VERSION`` is served as that release's
PEP 740 provenance object; ``project NAME`` publishes another project whose only upload is then.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.localindex import JSON_TYPE, IndexServer, Route, running


@contextmanager
def fact_index(
    root: Path, name: str, artifacts: Mapping[str, Path], facts: Mapping[str, str]
) -> Iterator[str]:
    """Serve ``artifacts`` (version -> file) of ``name`` with ``facts``; yields the simple index URL."""
    server = IndexServer(root)
    (root / "files").mkdir(parents=True, exist_ok=True)
    for path in artifacts.values():
        (root / "files" / path.name).write_bytes(path.read_bytes())
    with running(server) as live:
        base = live.url
        versions = {key.split(" ", 1)[1] for key in facts if key.startswith("upload ")} | set(artifacts)
        entries = []
        for version in sorted(versions):
            artifact = artifacts.get(version)
            filename = artifact.name if artifact else f"{name}-{version}-py3-none-any.whl"
            digest = hashlib.sha256(artifact.read_bytes()).hexdigest() if artifact else "0" * 64
            entry: dict[str, object] = {
                "filename": filename,
                "url": f"{base}/files/{filename}",
                "hashes": {"sha256": digest},
                "upload-time": facts.get(f"upload {version}"),
                "provenance": None,
            }
            if f"provenance {version}" in facts:
                entry["provenance"] = f"{base}/provenance/{filename}"
                server.routes[f"/provenance/{filename}"] = Route(
                    facts[f"provenance {version}"].encode(), content_type="application/json"
                )
            entries.append(entry)
        _page(server, name, entries)
        for key, uploaded in facts.items():
            if key.startswith("project "):
                other = key.split(" ", 1)[1]
                filename = f"{other.replace('-', '_')}-0.1-py3-none-any.whl"
                _page(
                    server,
                    other,
                    [
                        {
                            "filename": filename,
                            "url": f"{base}/files/{filename}",
                            "hashes": {"sha256": "0" * 64},
                            "upload-time": uploaded,
                        }
                    ],
                )
        yield f"{base}/simple/"


def _page(server: IndexServer, name: str, files: list[dict[str, object]]) -> None:
    body = {"meta": {"api-version": "1.1"}, "name": name, "files": files}
    server.routes[f"/simple/{name}/"] = Route(
        b"", status=200, json_body=json.dumps(body).encode(), content_type=JSON_TYPE
    )
