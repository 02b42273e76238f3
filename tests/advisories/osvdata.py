"""OSV records written by the tests, following the OSV schema (https://ossf.github.io/osv-schema/)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any


def record(
    record_id: str,
    name: str,
    *,
    versions: list[str] | None = None,
    events: list[dict[str, str]] | None = None,
    modified: str = "2026-03-24T12:00:00Z",
    aliases: list[str] | None = None,
    withdrawn: str | None = None,
    summary: str = "",
    ecosystem: str = "PyPI",
    severity: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": ecosystem, "name": name}}
    if versions is not None:
        affected["versions"] = versions
    if events is not None:
        affected["ranges"] = [{"type": "ECOSYSTEM", "events": events}]
    document: dict[str, Any] = {
        "schema_version": "1.6.0",
        "id": record_id,
        "modified": modified,
        "published": modified,
        "summary": summary or f"{record_id} in {name}",
        "affected": [affected],
    }
    if aliases:
        document["aliases"] = aliases
    if withdrawn:
        document["withdrawn"] = withdrawn
    if severity:
        document["database_specific"] = {"severity": severity}
    document.update(extra)
    return document


def write_dir(root: Path, records: list[dict[str, Any]]) -> Path:
    """The layout of ossf/malicious-packages: osv/malicious/pypi/<name>/<id>.json."""
    for item in records:
        name = item["affected"][0]["package"]["name"]
        path = root / "osv" / "malicious" / "pypi" / name / f"{item['id']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(item), encoding="utf-8")
    return root


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    """The layout of OSV's export: <id>.json at the top of all.zip."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in records:
            archive.writestr(f"{item['id']}.json", json.dumps(item))
    return path
