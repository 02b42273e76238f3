"""The JSON contract of ``depvet hunt --format json`` (docs/json-format.md, the ``hunt`` document).

The document mirrors ``depvet.hunt.model`` field for field: snake_case keys, enums as their
values, times as ISO 8601 UTC with a ``Z``. Like the model, it never holds a secret's contents:
exposure is kind, path, size and modification time.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from depvet import __version__
from depvet.hunt.model import (
    Cache,
    Environment,
    ExposedSecret,
    Finding,
    HuntReport,
    ImageSummary,
    RotationStep,
    Skipped,
    TimelineEvent,
)

HUNT_SCHEMA_VERSION = 1


def iso_utc(when: datetime) -> str:
    """``2026-03-24T10:52:07Z``: UTC, whole seconds; a naive time is taken to be UTC already."""
    moment = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def tool_block() -> dict[str, str]:
    """The ``tool`` object every depvet JSON document starts with."""
    return {"name": "depvet", "version": __version__}


def finding_to_dict(finding: Finding) -> dict[str, Any]:
    return {
        "kind": str(finding.kind),
        "severity": str(finding.severity),
        "title": finding.title,
        "path": finding.path,
        "evidence": finding.evidence,
        "release": finding.release,
        "environment": finding.environment,
        "layer": finding.layer,
    }


def environment_to_dict(environment: Environment) -> dict[str, Any]:
    return {
        "path": environment.path,
        "kind": str(environment.kind),
        "distributions": environment.distributions,
        "compromised": environment.compromised,
    }


def cache_to_dict(cache: Cache) -> dict[str, Any]:
    return {"path": cache.path, "kind": str(cache.kind), "entries": cache.entries}


def image_to_dict(image: ImageSummary) -> dict[str, Any]:
    return {
        "path": image.path,
        "format": image.format,
        "layers": image.layers,
        "findings": image.findings,
        "deleted_later": list(image.deleted_later),
    }


def secret_to_dict(secret: ExposedSecret) -> dict[str, Any]:
    return {
        "kind": str(secret.kind),
        "path": secret.path,
        "size": secret.size,
        "modified": iso_utc(secret.modified),
        "detail": secret.detail,
    }


def step_to_dict(step: RotationStep) -> dict[str, Any]:
    return {"rank": step.rank, "kind": str(step.kind), "action": step.action, "paths": list(step.paths)}


def event_to_dict(event: TimelineEvent) -> dict[str, Any]:
    return {
        "when": iso_utc(event.when),
        "what": event.what,
        "release": event.release,
        "path": event.path,
        "inside_window": event.inside_window,
    }


def skipped_to_dict(skipped: Skipped) -> dict[str, Any]:
    return {"path": skipped.path, "reason": skipped.reason}


def hunt_to_dict(report: HuntReport) -> dict[str, Any]:
    return {
        "compromised": report.compromised,
        "roots": list(report.roots),
        "started": iso_utc(report.started),
        "seconds": round(report.seconds, 3),
        "findings": [finding_to_dict(f) for f in report.findings],
        "checklist": [step_to_dict(s) for s in sorted(report.checklist, key=lambda s: s.rank)],
        "timeline": [event_to_dict(e) for e in report.timeline],
        "environments": [environment_to_dict(e) for e in report.environments],
        "caches": [cache_to_dict(c) for c in report.caches],
        "images": [image_to_dict(i) for i in report.images],
        "exposure": [secret_to_dict(s) for s in report.exposure],
        "skipped": [skipped_to_dict(s) for s in report.skipped],
        "notes": list(report.notes),
    }


def hunt_document(report: HuntReport) -> dict[str, Any]:
    return {"schema_version": HUNT_SCHEMA_VERSION, "tool": tool_block(), "hunt": hunt_to_dict(report)}


def hunt_json(report: HuntReport) -> str:
    """One JSON document, newline-terminated, UTF-8 safe for any path the walk met."""
    text = json.dumps(hunt_document(report), indent=2, ensure_ascii=False) + "\n"
    # A lone surrogate (an undecodable byte in a file name) becomes a JSON escape, keeping UTF-8 valid.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
