"""What the index says about where two releases came from: PEP 740 provenance and upload times.

Provenance objects are read, not verified. depvet takes the publisher identity (a Trusted Publisher:
CI provider, repository, workflow) the index recorded for each attestation bundle and compares it
between releases; it does not check the attestations' signatures or certificates. That is enough for
what these checks look for: an index that verified a release's attestations at upload vouches for the
publisher, and the telling event is the publisher changing or the attestations disappearing, which no
signature check on the new release alone can show. The attestations themselves are only counted.

Upload times come from the project page (PEP 700 ``upload-time``); a release's time is the earliest
upload time of its files.
"""

from __future__ import annotations

import enum
import itertools
import json
import statistics
import urllib.error
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depvet.artifacts.simpleindex import (
    HTTP_SCHEMES,
    IndexFile,
    RefusedRedirect,
    SimpleIndexError,
    build_opener,
    is_timeout,
    network_reason,
    open_url,
    read_bounded,
    redact_url,
    release_of,
)
from depvet.diff.rules import ATTESTATIONS_DROPPED, PUBLISHER_CHANGED, UNUSUAL_UPLOAD_TIME, release_finding
from depvet.model import Finding

# PyPI's Integrity API media type; plain JSON is what a static mirror serves.
ACCEPT = "application/vnd.pypi.integrity.v1+json, application/json;q=0.9"
SUPPORTED_PROVENANCE_VERSION = 1
# A provenance object is a few KB per attestation; past this an index is misbehaving.
MAX_PROVENANCE_BYTES = 4 * 1024 * 1024
# Long enough for a reason, short enough to stay one line in a terminal report.
_MAX_DETAIL = 300

# -- the upload-time signal: every threshold has to hold, so a project's normal habits never fire it.
# Fewer earlier releases than this and there is no "usual pattern" to be outside of.
MIN_EARLIER_RELEASES = 8
# The new release came this soon after the one before it...
BURST_WINDOW = timedelta(hours=24)
# ...although the project's releases are usually at least this far apart (median gap)...
MIN_USUAL_GAP = timedelta(days=7)
# ...and none of its earlier releases was uploaded within this much of the same time of day (UTC).
TIME_OF_DAY_MARGIN = timedelta(hours=2)
_DAY_MINUTES = 24 * 60


# -- provenance ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Publisher:
    """The Trusted Publisher of one attestation bundle.

    ``repository`` is the source repository (``owner/name`` on GitHub, ``group/.../project`` on
    GitLab); for publishers not bound to a repository (Google Cloud) it is the account the index
    recorded, so that a change of account still counts as a change of publisher. ``workflow`` is the
    workflow file (GitHub) or CI configuration path (GitLab).
    """

    kind: str
    repository: str | None
    workflow: str | None
    environment: str | None

    @property
    def identity(self) -> tuple[str, str | None, str | None]:
        """What has to match between releases. The environment is left out: projects rename it
        without changing where they publish from. GitHub and GitLab treat repository names without
        regard to case, so depvet does too."""
        return self.kind, self.repository.lower() if self.repository else None, self.workflow

    def describe(self) -> str:
        """``GitHub pypa/sampleproject, workflow release.yml, environment pypi``."""
        parts = [f"{self.kind} {self.repository}" if self.repository else self.kind]
        if self.workflow:
            parts.append(f"workflow {self.workflow}")
        if self.environment:
            parts.append(f"environment {self.environment}")
        return ", ".join(parts)


class ProvenanceStatus(enum.StrEnum):
    ATTESTED = "attested"  # a provenance object with at least one attestation bundle
    NONE = "none"  # the index offers no provenance for the file
    UNAVAILABLE = "unavailable"  # offered, but it could not be fetched or read


@dataclass(frozen=True, slots=True)
class FileProvenance:
    """What is known of one file's provenance; ``detail`` says, on one line, why it is UNAVAILABLE."""

    filename: str
    status: ProvenanceStatus
    publishers: tuple[Publisher, ...] = ()
    detail: str | None = None


class ProvenanceUnreadable(Exception):
    """A provenance object that cannot be used; the message is the one-line reason."""


def fetch_provenance(file: IndexFile, *, timeout: float = 30.0, user_agent: str = "depvet") -> FileProvenance:
    """The provenance the index offers for ``file`` (``IndexFile.provenance``), never raising for
    network, HTTP or format problems: those give UNAVAILABLE with the reason in ``detail``."""
    if file.provenance is None:
        return FileProvenance(file.filename, ProvenanceStatus.NONE)
    try:
        _check_scheme(file.provenance, file.url)
        body = _download(file.provenance, timeout, user_agent)
        publishers = parse_provenance(body, redact_url(file.provenance))
    except ProvenanceUnreadable as exc:
        return FileProvenance(file.filename, ProvenanceStatus.UNAVAILABLE, detail=_one_line(str(exc)))
    return FileProvenance(file.filename, ProvenanceStatus.ATTESTED, publishers)


def _check_scheme(url: str, file_url: str) -> None:
    """http(s), or file: for a file of a local mirror; a page from the network must not make depvet
    open local paths (a FIFO would hang it, a device would be read)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in HTTP_SCHEMES or (scheme == "file" and urlsplit(file_url).scheme.lower() == "file"):
        return
    raise ProvenanceUnreadable(f"cannot fetch {redact_url(url)}: unsupported URL scheme {scheme!r}")


def _download(url: str, timeout: float, user_agent: str) -> bytes:
    shown = redact_url(url)
    try:
        response = open_url(build_opener(), url, timeout=timeout, user_agent=user_agent, accept=ACCEPT)
        try:
            return read_bounded(response, shown, MAX_PROVENANCE_BYTES)
        except SimpleIndexError as exc:
            raise ProvenanceUnreadable(str(exc)) from None
        finally:
            response.close()
    except urllib.error.HTTPError as exc:
        exc.close()
        raise ProvenanceUnreadable(f"HTTP {exc.code} from {shown}") from None
    except RefusedRedirect as exc:
        raise ProvenanceUnreadable(str(exc)) from None
    except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
        if is_timeout(exc):
            raise ProvenanceUnreadable(f"timed out after {timeout:g} s reading {shown}") from None
        if isinstance(exc, ValueError) and not isinstance(exc, OSError):
            raise ProvenanceUnreadable(f"cannot fetch {shown}: {exc}") from None
        raise ProvenanceUnreadable(f"cannot fetch {shown}: {network_reason(exc)}") from None


def parse_provenance(data: bytes, shown: str) -> tuple[Publisher, ...]:
    """The publishers of a PEP 740 provenance object, in bundle order without repeats.

    Raises ``ProvenanceUnreadable`` (which ``fetch_provenance`` turns into UNAVAILABLE) when
    ``data`` is not a version 1 provenance object with at least one bundle of at least one attestation.
    """
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ProvenanceUnreadable(f"{shown} answered malformed JSON") from None
    if not isinstance(document, dict):
        raise _malformed(shown, "it is not a JSON object")
    version = document.get("version")
    # bool is an int in Python, and True == 1; JSON true is not a version.
    if not isinstance(version, int) or isinstance(version, bool) or version != SUPPORTED_PROVENANCE_VERSION:
        raise _malformed(
            shown, f"version {json.dumps(version)[:40]} (depvet reads version {SUPPORTED_PROVENANCE_VERSION})"
        )
    bundles = document.get("attestation_bundles")
    if not isinstance(bundles, list) or not bundles:
        raise _malformed(shown, "'attestation_bundles' is missing, empty or not a list")
    publishers: list[Publisher] = []
    for i, bundle in enumerate(bundles):
        publisher = _bundle_publisher(bundle, f"attestation_bundles[{i}]", shown)
        if publisher not in publishers:
            publishers.append(publisher)
    return tuple(publishers)


def _bundle_publisher(bundle: object, where: str, shown: str) -> Publisher:
    if not isinstance(bundle, dict):
        raise _malformed(shown, f"{where} is not an object")
    attestations = bundle.get("attestations")
    if not isinstance(attestations, list) or not attestations:
        raise _malformed(shown, f"{where}.attestations is missing, empty or not a list")
    publisher = bundle.get("publisher")
    if not isinstance(publisher, dict):
        raise _malformed(shown, f"{where}.publisher is missing or not an object")
    kind = publisher.get("kind")
    if not isinstance(kind, str) or not kind.strip():
        raise _malformed(shown, f"{where}.publisher.kind is missing")
    return Publisher(
        kind=kind.strip(),
        repository=_repository(publisher),
        workflow=_text(publisher, "workflow", "workflow_filepath", "workflow_filename"),
        environment=_text(publisher, "environment"),
    )


def _repository(publisher: Mapping[str, object]) -> str | None:
    # PyPI writes "repository"; PEP 740's example splits it into owner and name; Google publishers
    # have no repository, only the service account that published.
    repository = _text(publisher, "repository")
    if repository:
        return repository
    owner, name = _text(publisher, "repository_owner"), _text(publisher, "repository_name")
    if owner and name:
        return f"{owner}/{name}"
    return _text(publisher, "email")


def _text(mapping: Mapping[str, object], *keys: str) -> str | None:
    """The first of ``keys`` holding a non-empty string; other types count as absent (the publisher
    object is open-ended, and a field depvet does not need is no reason to refuse the rest)."""
    for key in keys:
        value = mapping.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _malformed(shown: str, what: str) -> ProvenanceUnreadable:
    return ProvenanceUnreadable(f"{shown} is not a PEP 740 provenance object: {what}")


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_DETAIL else flat[: _MAX_DETAIL - 1] + "…"


def provenance_findings(old: FileProvenance, new: FileProvenance) -> list[Finding]:
    """ATTESTATIONS_DROPPED or PUBLISHER_CHANGED for a file of the old release and its counterpart
    in the new one; nothing when either side is UNAVAILABLE (``provenance_notes`` says why)."""
    if old.status is ProvenanceStatus.ATTESTED and new.status is ProvenanceStatus.NONE:
        return [
            release_finding(
                ATTESTATIONS_DROPPED,
                path=new.filename,
                evidence=(
                    f"{old.filename} was attested by {_publishers(old)}; "
                    f"the index offers no provenance for {new.filename}"
                ),
            )
        ]
    if old.status is ProvenanceStatus.ATTESTED and new.status is ProvenanceStatus.ATTESTED:
        before = {p.identity for p in old.publishers}
        after = {p.identity for p in new.publishers}
        if before != after:
            return [
                release_finding(
                    PUBLISHER_CHANGED,
                    path=new.filename,
                    evidence=(
                        f"{old.filename} was published by {_publishers(old)}; "
                        f"{new.filename} by {_publishers(new)}"
                    ),
                )
            ]
    return []


def provenance_notes(old: FileProvenance, new: FileProvenance) -> list[str]:
    """One line per side whose provenance could not be read, for the report's notes."""
    return [
        f"provenance of {side.filename} not compared: {side.detail or 'it could not be read'}"
        for side in (old, new)
        if side.status is ProvenanceStatus.UNAVAILABLE
    ]


def _publishers(provenance: FileProvenance) -> str:
    return "; ".join(p.describe() for p in provenance.publishers)


# -- upload time ----------------------------------------------------------------------------------------


def release_times(files: Sequence[IndexFile], name: str) -> dict[Version, datetime]:
    """When each release of project ``name`` was published: the earliest upload time of its files.

    Every wheel and sdist counts, yanked ones and pre-releases too: each was an upload through the
    project's publishing path, which is what the pattern is about. Files of other projects, files
    whose names parse as neither wheel nor sdist, and files without an upload time are skipped.
    """
    project = canonicalize_name(name)
    times: dict[Version, datetime] = {}
    for file in files:
        parsed = release_of(file.filename)
        if parsed is None or parsed[0] != project or file.upload_time is None:
            continue
        when = file.upload_time.astimezone(UTC)
        version = parsed[1]
        if version not in times or when < times[version]:
            times[version] = when
    return times


def upload_time_findings(
    files: Sequence[IndexFile], name: str, old_version: str, new_version: str
) -> list[Finding]:
    """UNUSUAL_UPLOAD_TIME (at most one) when the new release broke the project's release pattern.

    All of these must hold, measured on upload times (not version order, so backports count where
    they were published):

    - at least ``MIN_EARLIER_RELEASES`` releases were published before the new one, not counting
      those of the last ``BURST_WINDOW`` before it;
    - the new release came less than ``BURST_WINDOW`` after the release just before it (normally
      ``old_version``; the evidence names whichever it was);
    - the median gap between consecutive releases of that history is at least ``MIN_USUAL_GAP``;
    - no release of that history was uploaded within ``TIME_OF_DAY_MARGIN`` of the new one's time
      of day (UTC, across midnight).

    Releases of the burst (the ``BURST_WINDOW`` before the new one) are left out of the count and
    the time-of-day comparison: they are part of what is being judged, not the project's habit. A
    stolen token is often used twice within minutes (LiteLLM 1.82.7 and 1.82.8, 13 minutes apart),
    and the first upload must not make the second look usual.

    ``old_version`` does not change the outcome; it is checked to be a version like ``new_version``.
    Unknown times give no finding.
    """
    try:
        new, _ = Version(new_version), Version(old_version)
    except InvalidVersion:
        return []
    times = release_times(files, name)
    new_time = times.get(new)
    if new_time is None:
        return []
    history = sorted((t, v) for v, t in times.items() if v != new and t <= new_time)
    if not history:
        return []
    previous_time, previous = history[-1]
    since_previous = new_time - previous_time
    if since_previous >= BURST_WINDOW:
        return []
    baseline = [(t, v) for t, v in history if new_time - t >= BURST_WINDOW]
    if len(baseline) < MIN_EARLIER_RELEASES:
        return []
    gaps = [(later - earlier).total_seconds() for (earlier, _), (later, _) in itertools.pairwise(baseline)]
    usual_gap = timedelta(seconds=statistics.median(gaps))
    if usual_gap < MIN_USUAL_GAP:
        return []
    margin = int(TIME_OF_DAY_MARGIN.total_seconds() // 60)
    new_minute = _minute_of_day(new_time)
    if any(_circular_distance(_minute_of_day(t), new_minute) <= margin for t, _ in baseline):
        return []
    evidence = (
        f"uploaded {new_time:%Y-%m-%d %H:%M} UTC, {_duration(since_previous)} after {previous}; "
        f"the project's releases are usually {_duration(usual_gap)} apart and none of its "
        f"{len(baseline)} earlier releases was uploaded between {_clock(new_minute - margin)} and "
        f"{_clock(new_minute + margin)} UTC"
    )
    return [release_finding(UNUSUAL_UPLOAD_TIME, path=_release_path(files, name, new), evidence=evidence)]


def _release_path(files: Sequence[IndexFile], name: str, version: Version) -> str:
    """The new release's earliest file: the upload the finding is about."""
    project = canonicalize_name(name)
    mine = [f for f in files if f.upload_time is not None and release_of(f.filename) == (project, version)]
    return min(mine, key=lambda f: f.upload_time or datetime.max.replace(tzinfo=UTC)).filename


def _minute_of_day(when: datetime) -> int:
    return when.hour * 60 + when.minute


def _circular_distance(a: int, b: int) -> int:
    apart = abs(a - b) % _DAY_MINUTES
    return min(apart, _DAY_MINUTES - apart)


def _clock(minute: int) -> str:
    minute %= _DAY_MINUTES
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{round(minutes / 60)} h"
    return f"{round(minutes / _DAY_MINUTES)} days"
