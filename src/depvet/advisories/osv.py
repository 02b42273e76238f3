"""OSV records (https://ossf.github.io/osv-schema/) -> the PyPI advisories depvet matches.

Only what matching and reporting need is kept: the id, aliases, dates, a summary, a link, a
severity, and for each affected PyPI package its explicit versions and its ``ECOSYSTEM``
ranges. ``GIT`` ranges are dropped: OSV exports also enumerate the versions they cover.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from depvet.errors import DepvetError
from depvet.model import Severity

OSV_VULN_URL = "https://osv.dev/vulnerability/"
PYPI = "PyPI"


class AdvisoryKind(enum.StrEnum):
    MALICIOUS = "malicious"  # a release that is malware: OSV MAL- records, curated incidents
    VULNERABILITY = "vulnerability"


class RangeEvent(enum.StrEnum):
    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class Affected:
    """One affected PyPI package of an advisory; ``name`` is PEP 503-normalised."""

    name: str
    versions: tuple[str, ...]
    ranges: tuple[tuple[tuple[RangeEvent, str], ...], ...]  # each range: its events in order


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    kind: AdvisoryKind
    modified: str
    published: str | None
    withdrawn: str | None
    aliases: tuple[str, ...]
    summary: str
    url: str
    severity: Severity | None  # for vulnerabilities, where the record says
    affected: tuple[Affected, ...]


class OsvRecordError(DepvetError):
    """A record that is not valid OSV JSON; the import reports and skips it."""


def parse_record(data: bytes | str) -> Advisory | None:
    """The advisory in one OSV JSON document; None when it concerns no PyPI package."""
    try:
        raw = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OsvRecordError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise OsvRecordError("not a JSON object")
    return advisory_from_json(raw)


def advisory_from_json(raw: Mapping[str, object]) -> Advisory | None:
    record_id = raw.get("id")
    modified = raw.get("modified")
    if not isinstance(record_id, str) or not record_id:
        raise OsvRecordError("no 'id'")
    if not isinstance(modified, str) or not modified:
        raise OsvRecordError(f"{record_id}: no 'modified' time")
    affected = tuple(a for a in map(_affected, _list(raw.get("affected"), record_id)) if a is not None)
    if not affected:
        return None
    aliases = tuple(a for a in _list(raw.get("aliases"), record_id) if isinstance(a, str))
    return Advisory(
        id=record_id,
        kind=_kind(record_id, aliases),
        modified=modified,
        published=_optional_str(raw.get("published")),
        withdrawn=_optional_str(raw.get("withdrawn")),
        aliases=aliases,
        summary=_summary(raw),
        url=OSV_VULN_URL + record_id,  # osv.dev lists every reference of the record
        severity=_severity(raw),
        affected=affected,
    )


def _kind(record_id: str, aliases: tuple[str, ...]) -> AdvisoryKind:
    if record_id.startswith("MAL-") or any(a.startswith("MAL-") for a in aliases):
        return AdvisoryKind.MALICIOUS
    return AdvisoryKind.VULNERABILITY


def _list(value: object, record_id: str) -> list[object]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise OsvRecordError(f"{record_id}: a field that must be a list is not")
    return value


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _affected(entry: object) -> Affected | None:
    if not isinstance(entry, dict):
        return None
    package = entry.get("package")
    if not isinstance(package, dict) or package.get("ecosystem") != PYPI:
        return None
    name = package.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    versions = entry.get("versions")
    listed = tuple(v for v in versions if isinstance(v, str)) if isinstance(versions, list) else ()
    ranges = entry.get("ranges")
    parsed = tuple(r for r in map(_range, ranges if isinstance(ranges, list) else []) if r)
    return Affected(canonicalize_name(name.strip()), listed, parsed)


def _range(entry: object) -> tuple[tuple[RangeEvent, str], ...]:
    if not isinstance(entry, dict) or entry.get("type") not in ("ECOSYSTEM", "SEMVER"):
        return ()
    events = entry.get("events")
    parsed: list[tuple[RangeEvent, str]] = []
    for event in events if isinstance(events, list) else []:
        if not isinstance(event, dict):
            continue
        for key, value in event.items():
            if key in RangeEvent.__members__.values() and isinstance(value, str):
                parsed.append((RangeEvent(key), value))
    return tuple(parsed)


def _summary(raw: Mapping[str, object]) -> str:
    for key in ("summary", "details"):
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            first = value.strip().splitlines()[0].strip()
            return first if len(first) <= 200 else first[:197] + "..."
    return ""


# GitHub's advisory levels, as OSV carries them in database_specific.severity.
_LEVELS = {
    "CRITICAL": Severity.CRITICAL,
    "HIGH": Severity.HIGH,
    "MODERATE": Severity.MEDIUM,
    "MEDIUM": Severity.MEDIUM,
    "LOW": Severity.LOW,
}


def _severity(raw: Mapping[str, object]) -> Severity | None:
    specific = raw.get("database_specific")
    if isinstance(specific, dict):
        level = specific.get("severity")
        if isinstance(level, str) and level.upper() in _LEVELS:
            return _LEVELS[level.upper()]
    scores = raw.get("severity")
    for entry in scores if isinstance(scores, list) else []:
        if isinstance(entry, dict) and entry.get("type") == "CVSS_V3":
            score = entry.get("score")
            if isinstance(score, str):
                return _cvss3_level(score)
    return None


def _cvss3_level(vector: str) -> Severity | None:
    from depvet.advisories.cvss import cvss3_base_score

    score = cvss3_base_score(vector)
    if score is None:
        return None
    if score >= 9.0:
        return Severity.CRITICAL
    if score >= 7.0:
        return Severity.HIGH
    if score >= 4.0:
        return Severity.MEDIUM
    return Severity.LOW if score > 0 else None
