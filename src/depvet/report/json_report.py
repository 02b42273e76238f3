"""The JSON contract of ``depvet scan --format json`` (docs/json-format.md, schema_version 2)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from depvet import __version__
from depvet.model import Finding, InputOrigin, NotScanned, ScanResult

SCHEMA_VERSION = 2


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "rule_id": finding.rule_id,
        "severity": str(finding.severity),
        "category": str(finding.category),
        "title": finding.title,
        "path": finding.path,
        "line": finding.line,
        "evidence": finding.evidence,
    }


def result_to_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "name": result.name,
        "version": result.version,
        "sha256": result.sha256,
        "verdict": str(result.verdict),
        "score": result.score,
        "findings": [finding_to_dict(f) for f in result.findings],
        "error": result.error,
        "cached": result.cached,
        "input": None if result.origin is None else origin_to_dict(result.origin),
    }


def origin_to_dict(origin: InputOrigin) -> dict[str, Any]:
    return {
        "path": origin.input_path,
        "package": origin.package,
        "version": origin.version,
        "pulled_in_by": list(origin.parents),
    }


def render(results: Sequence[ScanResult], not_scanned: Sequence[NotScanned] = ()) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "depvet", "version": __version__},
        "results": [result_to_dict(r) for r in results],
        "not_scanned": [
            {"input": n.input_path, "requirement": n.requirement, "reason": n.reason, "line": n.line}
            for n in not_scanned
        ],
    }
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    # A lone surrogate (an undecodable byte in a file name) becomes a JSON escape, keeping UTF-8 valid.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
