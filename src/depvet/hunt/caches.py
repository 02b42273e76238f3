"""Package caches: which releases were downloaded on this host, even if no environment has them now.

- pip: built wheels under ``wheels/`` by file name; HTTP cache entries (``http/``, ``http-v2/``)
  hold a downloaded file's bytes, which are read as a zip for their ``*.dist-info/METADATA``.
- uv: unpacked wheels under ``archive-v*/`` (their ``*.dist-info`` folder names), and any
  ``*.whl`` or sdist file names.
- poetry: ``artifacts/`` holds the downloaded files under their own names.
Only archives' names and metadata are read; nothing is extracted or run.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from depvet.artifacts.simpleindex import release_of
from depvet.hunt.discover import FoundCache, Skip, files_under
from depvet.hunt.filechecks import FileChecker
from depvet.hunt.model import Cache, CacheKind, Finding, FindingKind, TimelineEvent
from depvet.metadata import name_and_version
from depvet.model import Severity

_DIST_INFO = re.compile(r"^(?P<name>[^-/]+)-(?P<version>[^-/]+)\.dist-info$")
_ZIP_MAGIC = b"PK\x03\x04"
_MAX_ENTRY = 512 * 1024 * 1024  # a cache entry larger than this is not opened


@dataclass(frozen=True, slots=True)
class CacheHunt:
    cache: Cache
    findings: tuple[Finding, ...]
    events: tuple[TimelineEvent, ...]


def hunt_cache(found: FoundCache, checker: FileChecker, on_skip: Skip) -> CacheHunt:
    findings: list[Finding] = []
    events: list[TimelineEvent] = []
    entries = 0
    for path, name, version, when in _releases(found, on_skip):
        entries += 1
        advisories = checker.known_bad(name, version)
        if not advisories:
            continue
        release = f"{name}=={version}"
        findings.append(
            Finding(
                FindingKind.KNOWN_BAD_CACHED,
                Severity.HIGH,
                str(path),
                f"The {found.kind.value} cache holds a release recorded as malicious: it was downloaded",
                f"{name} {version}: {', '.join(advisories)}",
                release=release,
                environment=str(found.root),
            )
        )
        events.append(
            TimelineEvent(when, f"downloaded into the {found.kind.value} cache", release, str(path))
        )
    return CacheHunt(Cache(str(found.root), found.kind, entries), tuple(findings), tuple(events))


def _releases(found: FoundCache, on_skip: Skip) -> Iterator[tuple[Path, str, str, datetime]]:
    # uv's unpacked archives are read below by their dist-info names, not file by file.
    for path, stat in files_under(found.root, on_skip, enter=lambda name: not name.startswith("archive-v")):
        when = datetime.fromtimestamp(stat.st_mtime, UTC)
        name = path.name
        if name.endswith((".whl", ".tar.gz", ".zip", ".tar.bz2")):
            release = release_of(name)
            if release is not None:
                yield path, release[0], str(release[1]), when
            continue
        if found.kind is CacheKind.PIP and ("/http" in str(path)) and stat.st_size <= _MAX_ENTRY:
            found_release = _zip_release(path)
            if found_release is not None:
                yield path, found_release[0], found_release[1], when
    if found.kind is CacheKind.UV:
        for archive in sorted(found.root.glob("archive-v*")):
            for dist_info in archive.glob("*/*.dist-info"):
                match = _DIST_INFO.match(dist_info.name)
                if match:
                    stat = dist_info.stat()
                    yield (
                        dist_info,
                        match["name"],
                        match["version"],
                        datetime.fromtimestamp(stat.st_mtime, UTC),
                    )


def _zip_release(path: Path) -> tuple[str, str] | None:
    """Name and version of a wheel stored as a pip HTTP cache body, from its METADATA."""
    try:
        with path.open("rb") as handle:
            if handle.read(4) != _ZIP_MAGIC:
                return None
        with zipfile.ZipFile(path) as archive:
            metadata = next(
                (n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")),
                None,
            )
            if metadata is None:
                return None
            with archive.open(metadata) as member:
                head = member.read(65536).decode("utf-8", "replace")
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError):
        return None
    name, version = name_and_version(head)
    return (name, version) if name and version else None
