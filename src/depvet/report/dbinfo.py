"""What ``depvet db update`` changed and what ``depvet db info`` holds, as text or JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from depvet.advisories.importer import ImportReport
from depvet.advisories.store import DbInfo

_MAX_UNREADABLE = 10


def render_import(report: ImportReport, info: DbInfo) -> str:
    lines = [
        f"imported {report.records:,} record{'' if report.records == 1 else 's'} from {report.source}: "
        f"{report.added:,} added, {report.updated:,} updated, {report.unchanged:,} unchanged"
        + (f", {report.newly_withdrawn:,} withdrawn" if report.newly_withdrawn else "")
        + (f", {report.other_ecosystems:,} not about PyPI" if report.other_ecosystems else "")
    ]
    for advisory in report.new_malicious:
        names = ", ".join(sorted({a.name for a in advisory.affected}))
        lines.append(f"  new malicious: {advisory.id} {names}")
    if len(report.new_malicious) and report.added > len(report.new_malicious):
        lines.append(f"  (new malicious records beyond these {len(report.new_malicious)} are not listed)")
    if report.unreadable:
        lines.append(f"skipped {len(report.unreadable)} records that are not valid OSV:")
        lines += [f"  {member}: {reason}" for member, reason in report.unreadable[:_MAX_UNREADABLE]]
        if len(report.unreadable) > _MAX_UNREADABLE:
            lines.append(f"  … and {len(report.unreadable) - _MAX_UNREADABLE} more")
    lines.append(_counts(info))
    return "\n".join(lines) + "\n"


def _counts(info: DbInfo) -> str:
    return (
        f"database: {info.malicious:,} malicious-package records, {info.vulnerabilities:,} "
        f"vulnerabilities, {info.withdrawn:,} withdrawn, {info.packages:,} packages ({info.path})"
    )


def render_info(info: DbInfo, curated: int, output_format: str) -> str:
    if output_format == "json":
        document = {
            "path": str(info.path),
            "exists": info.exists,
            "malicious": info.malicious,
            "vulnerabilities": info.vulnerabilities,
            "withdrawn": info.withdrawn,
            "packages": info.packages,
            "curated_tainted_releases": curated,
            "last_update": info.last_update.isoformat() if info.last_update else None,
            "last_source": info.last_source,
            "newest_record_modified": info.newest_record,
        }
        return json.dumps(document, indent=2) + "\n"
    lines = [f"curated tainted releases shipped with depvet: {curated}"]
    if not info.exists:
        lines.append(f"no advisory database at {info.path}: run 'depvet db update'")
        return "\n".join(lines) + "\n"
    lines.append(_counts(info))
    if info.last_update is not None:
        age = datetime.now(UTC) - info.last_update
        when = f"{info.last_update:%Y-%m-%d %H:%M} UTC"
        lines.append(f"last update: {when} ({age.days} days ago) from {info.last_source}")
    if info.newest_record:
        lines.append(f"newest record modified: {info.newest_record}")
    return "\n".join(lines) + "\n"
