"""``depvet check``: the releases an input names, against what is known about them. No downloads.

A release is checked for: advisories (curated tainted releases, OSV ``MAL-`` records, and
with ``vulnerabilities`` the vulnerability records), age against a cooldown (upload times
from the lock, else from the index's project page), and a name one step from a popular
project's. Each release gives one :class:`ScanResult`, so every report and exit code of
``scan`` applies unchanged; ``scan`` runs the same checks on what it scans.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from depvet.advisories.match import AdvisoryMatch, match_releases
from depvet.advisories.osv import AdvisoryKind
from depvet.advisories.rules import (
    KNOWN_MALICIOUS,
    KNOWN_VULNERABILITY,
    NAME_LIKE_POPULAR,
    YOUNGER_THAN_COOLDOWN,
)
from depvet.advisories.store import AdvisoryStore
from depvet.analysis.verdict import decide
from depvet.errors import DepvetError, UsageError
from depvet.inputs import ParsedInput, SourceKind
from depvet.metadata import name_and_version
from depvet.model import Finding, InputOrigin, NotScanned, RunContext, ScanResult, Severity, Verdict
from depvet.rules import Rule
from depvet.timestamps import parse_timestamp

if TYPE_CHECKING:
    from depvet.advisories.namerisk import PopularNames


@dataclass(frozen=True, slots=True)
class Release:
    """One release to check, and where the input names it (for the finding's path and line)."""

    name: str
    version: str
    path: str
    line: int | None = None
    origin: InputOrigin | None = None
    upload_time: datetime | None = None  # the oldest of its files, where the input records it
    index_url: str | None = None  # where to ask for upload times the input does not give


@dataclass(frozen=True, slots=True)
class CheckOptions:
    vulnerabilities: bool = False
    min_age: timedelta | None = None
    as_of: datetime | None = None  # "now" for the cooldown; None is the real clock
    name_risk: bool = True


UploadTimes = Callable[[Sequence[Release]], dict[Release, datetime | None]]


def releases_of_input(parsed: ParsedInput) -> tuple[list[Release], list[NotScanned]]:
    """The registry releases a lockfile pins; what names no release is returned as not checked."""
    releases: list[Release] = []
    skipped = [NotScanned(parsed.path, u.text, u.reason, u.line) for u in parsed.unpinned]
    for package in parsed.packages:
        if package.version is None:
            skipped.append(NotScanned(parsed.path, package.name, "no exact version", package.line))
            continue
        if package.source is not SourceKind.REGISTRY:
            # Not from an index, so no advisory names it; its own code is for ``scan``.
            reason = f"{package.source.value} source, not a release on an index"
            skipped.append(NotScanned(parsed.path, package.name, reason, package.line))
            continue
        times = [f.upload_time for f in package.files if f.upload_time is not None]
        releases.append(
            Release(
                name=package.name,
                version=package.version,
                path=parsed.path,
                line=package.line,
                origin=InputOrigin(parsed.path, package.name, package.version, package.parents),
                upload_time=min(times) if times else None,
                index_url=package.index_url or (parsed.index_urls[0] if parsed.index_urls else None),
            )
        )
    return releases, skipped


def releases_of_environment(root: Path) -> tuple[list[Release], list[NotScanned]]:
    """Each distribution installed in a venv or site-packages, from its metadata headers only."""
    from depvet.artifacts.installed import find_site_packages

    releases: list[Release] = []
    skipped: list[NotScanned] = []
    for site in find_site_packages(root):
        for meta_dir in sorted([*site.glob("*.dist-info"), *site.glob("*.egg-info")]):
            metadata = meta_dir / ("METADATA" if meta_dir.suffix == ".dist-info" else "PKG-INFO")
            try:
                with metadata.open("rb") as handle:
                    head = handle.read(64 * 1024).decode("utf-8", "replace")
            except OSError as exc:
                skipped.append(NotScanned(str(meta_dir), meta_dir.name, f"cannot read: {exc.strerror}"))
                continue
            name, version = name_and_version(head)
            if not name or not version:
                skipped.append(NotScanned(str(meta_dir), meta_dir.name, "metadata has no Name or Version"))
                continue
            releases.append(Release(name, version, str(meta_dir)))
    return releases, skipped


def release_of_artifact(path: Path) -> Release | None:
    """A wheel or sdist named on the command line, by its file name (its code is for ``scan``)."""
    from depvet.artifacts.simpleindex import release_of

    found = release_of(path.name)
    if found is None:
        return None
    return Release(found[0], str(found[1]), str(path))


def check_releases(
    releases: Sequence[Release],
    store: AdvisoryStore | None,
    options: CheckOptions,
    *,
    upload_times: UploadTimes | None = None,
) -> tuple[list[ScanResult], list[NotScanned]]:
    """One result per release, in input order, and the releases whose age could not be told."""
    findings = check_findings(releases, store, options, upload_times=upload_times)
    results = []
    for release in releases:
        found = findings.get(release, ([], None))
        verdict, score, reasons = decide(found[0])
        results.append(
            ScanResult(
                target=f"{release.name}=={release.version}",
                name=release.name,
                version=release.version,
                sha256=None,
                verdict=verdict,
                score=score,
                findings=tuple(found[0]),
                reasons=reasons,
                origin=release.origin,
            )
        )
    return results, _age_unknown(findings)


def check_findings(
    releases: Sequence[Release],
    store: AdvisoryStore | None,
    options: CheckOptions,
    *,
    upload_times: UploadTimes | None = None,
) -> dict[Release, tuple[list[Finding], str | None]]:
    """Findings per release, worst first, and why its age is unknown (None when known or not asked)."""
    matches = match_releases(
        ((r.name, r.version) for r in releases), store, vulnerabilities=options.vulnerabilities
    )
    uploads = _upload_times(releases, upload_times) if options.min_age is not None else {}
    now = options.as_of or datetime.now(UTC)
    popular = _popular_names() if options.name_risk else None
    out: dict[Release, tuple[list[Finding], str | None]] = {}
    for release in releases:
        found = [_advisory_finding(release, m) for m in matches.get((release.name, release.version), ())]
        unknown_age: str | None = None
        if options.min_age is not None:
            uploaded = uploads.get(release)
            if uploaded is None:
                unknown_age = "release age unknown: neither the lock nor the index gives an upload time"
            elif now - uploaded < options.min_age:
                found.append(_cooldown_finding(release, uploaded, now, options.min_age))
        if popular is not None:
            risk = popular.risk(release.name)
            if risk is not None:
                evidence = (
                    f"{release.name}: {risk.kind.value.replace('-', ' ')} away from '{risk.looks_like}' "
                    f"(#{risk.rank} most downloaded on PyPI); '{release.name}' is not among the popular names"
                )
                found.append(_finding(NAME_LIKE_POPULAR, release, evidence))
        found.sort(key=lambda f: -f.severity.rank)
        if found or unknown_age:
            out[release] = (found, unknown_age)
    return out


def _popular_names() -> PopularNames:
    from depvet.advisories.namerisk import PopularNames

    return PopularNames.load()


def _finding(rule: Rule, release: Release, evidence: str, severity: Severity | None = None) -> Finding:
    return Finding(
        rule_id=rule.id,
        severity=severity or rule.severity,
        category=rule.category,
        title=rule.title,
        path=release.path,
        line=release.line,
        evidence=evidence,
        context=RunContext.RELEASE,
    )


def _advisory_finding(release: Release, match: AdvisoryMatch) -> Finding:
    advisory = match.advisory
    ids = advisory.id + (f" ({', '.join(match.also_known_as)})" if match.also_known_as else "")
    summary = f": {advisory.summary}" if advisory.summary else ""
    evidence = f"{release.name} {release.version}: {ids}{summary} {advisory.url}".strip()
    if match.kind is AdvisoryKind.MALICIOUS:
        return _finding(KNOWN_MALICIOUS, release, evidence)
    # A vulnerability takes its record's level, capped below "malware in this release".
    level = advisory.severity or Severity.MEDIUM
    if level.rank > KNOWN_VULNERABILITY.severity.rank:
        level = KNOWN_VULNERABILITY.severity
    return _finding(KNOWN_VULNERABILITY, release, evidence, level)


def _cooldown_finding(release: Release, uploaded: datetime, now: datetime, min_age: timedelta) -> Finding:
    when = uploaded.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    age = now - uploaded
    how_old = "after the --as-of time" if age.total_seconds() < 0 else f"{format_age(age)} ago"
    evidence = (
        f"{release.name} {release.version} was uploaded {when}, {how_old}: "
        f"younger than the cooldown of {format_age(min_age)}"
    )
    return _finding(YOUNGER_THAN_COOLDOWN, release, evidence)


def _upload_times(
    releases: Sequence[Release], upload_times: UploadTimes | None
) -> dict[Release, datetime | None]:
    """Each release's upload time: the lock's, else the index's (None when neither says)."""
    missing = [r for r in releases if r.upload_time is None]
    fetched = (upload_times or index_upload_times)(missing) if missing else {}
    return {r: r.upload_time or fetched.get(r) for r in releases}


def index_upload_times(
    releases: Sequence[Release], index_url: str | None = None
) -> dict[Release, datetime | None]:
    """The oldest upload time of each release's files, from its project page (PEP 700).

    A release is looked up on the index its lock names, else ``index_url``, else the index pip
    and uv are configured with.
    """
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.artifacts.simpleindex import SimpleIndexClient, find_release_files

    client = SimpleIndexClient()
    default = resolve_index_config(index_url, []).index_url

    def one(release: Release) -> datetime | None:
        try:
            files = client.project_files(release.index_url or default, release.name)
        except DepvetError:
            return None
        times = [f.upload_time for f in find_release_files(files, release.name, release.version)]
        known = [t for t in times if t is not None]
        return min(known) if known else None

    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip(releases, pool.map(one, releases), strict=True))


def release_of_result(result: ScanResult, from_inputs: dict[tuple[str, str, str], Release]) -> Release | None:
    """The release a scan result is, as the lockfile named it (line, upload time) where one did."""
    if result.name is None or result.version is None:
        return None
    if result.origin is not None:
        named = input_release_key(Release(result.name, result.version, result.origin.input_path))
        if named in from_inputs:
            return from_inputs[named]
    return Release(result.name, result.version, result.target, origin=result.origin)


def with_check_findings(
    results: Sequence[ScanResult],
    store: AdvisoryStore | None,
    options: CheckOptions,
    from_inputs: dict[tuple[str, str, str], Release],
    *,
    upload_times: UploadTimes | None = None,
) -> tuple[list[ScanResult], list[NotScanned]]:
    """Scan results with the check findings of their release added and their verdict retaken."""
    releases = {id(r): release_of_result(r, from_inputs) for r in results}
    wanted = list(dict.fromkeys(r for r in releases.values() if r is not None))
    findings = check_findings(wanted, store, options, upload_times=upload_times)
    annotated = []
    for result in results:
        release = releases[id(result)]
        extra = findings.get(release, ([], None))[0] if release is not None else []
        new = [f for f in extra if f not in result.findings]
        if not new:
            annotated.append(result)
            continue
        # What the code does leads; at equal severity the release's records follow it.
        combined = sorted(
            [*result.findings, *new], key=lambda f: (-f.severity.rank, f.context is RunContext.RELEASE)
        )
        verdict, score, reasons = decide(combined)
        if result.verdict is Verdict.ERROR:
            verdict = result.verdict
        annotated.append(
            replace(result, findings=tuple(combined), verdict=verdict, score=score, reasons=reasons)
        )
    return annotated, _age_unknown(findings)


def _age_unknown(findings: dict[Release, tuple[list[Finding], str | None]]) -> list[NotScanned]:
    return [
        NotScanned(r.path, f"{r.name}=={r.version}", reason, r.line)
        for r, (_, reason) in findings.items()
        if reason is not None
    ]


def input_release_key(release: Release) -> tuple[str, str, str]:
    return (release.path, canonicalize_name(release.name), release.version)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "": 86400}


def parse_duration(text: str) -> timedelta:
    """``7d``, ``36h``, ``2w``, ``90m``, ``3600s``; a bare number is days."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageError(f"'{text}' is not a duration such as 7d, 36h or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_time(text: str) -> datetime:
    """An RFC 3339 time or a date (midnight UTC); naive means UTC."""
    parsed = parse_timestamp(text)
    if parsed is None:
        raise UsageError(f"'{text}' is not a date or an RFC 3339 time")
    return parsed


def format_age(age: timedelta) -> str:
    seconds = age.total_seconds()
    if seconds < 2 * 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.1f} days".replace(".0 days", " days")
