"""One Python environment on this host: known-bad installs, start-up code, tampered and changed files.

Each distribution's ``RECORD`` is compared with the files by size and modification time (a stat
each, so thousands of distributions cost seconds); a file that differs in size or was changed
after the distribution was installed is hashed and compared with its ``RECORD`` digest.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from depvet.artifacts.installed import parse_record
from depvet.hunt.discover import FoundEnvironment, Skip
from depvet.hunt.filechecks import FileChecker
from depvet.hunt.model import Environment, Finding, FindingKind, TimelineEvent
from depvet.hunt.vfs import MAX_READ, VirtualFile
from depvet.model import Severity
from depvet.scanning import file_sha256

# pip writes RECORD last; files it installed are older than RECORD by seconds. Byte-compiling
# and tools that touch files (a wheel's data scripts) need a little more slack.
_INSTALL_SLACK = 120.0
_GENERATED = (".pyc", ".pyo")


@dataclass(frozen=True, slots=True)
class EnvironmentHunt:
    environment: Environment
    findings: tuple[Finding, ...]
    events: tuple[TimelineEvent, ...]


def host_file(path: Path, stat: os.stat_result | None = None) -> VirtualFile:
    stat = stat or path.stat()

    def read() -> bytes:
        with path.open("rb") as handle:
            return handle.read(MAX_READ)

    return VirtualFile(str(path), stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC), read, str(path))


def hunt_environment(found: FoundEnvironment, checker: FileChecker, on_skip: Skip) -> EnvironmentHunt:
    label = str(found.root)
    findings: list[Finding] = []
    events: list[TimelineEvent] = []
    distributions = 0
    for site in found.site_packages:
        try:
            entries = list(os.scandir(site))
        except OSError as exc:
            on_skip(str(site), exc.strerror or str(exc))
            continue
        recorded: set[str] = set()
        for entry in entries:
            if entry.name.endswith(".dist-info") and entry.is_dir(follow_symlinks=False):
                distributions += 1
                found_here, names, event = _distribution(Path(entry.path), site, checker, label, on_skip)
                findings += found_here
                recorded |= names
                if event is not None:
                    events.append(event)
        for entry in entries:
            if entry.is_dir(follow_symlinks=False) or entry.name.endswith(".dist-info"):
                continue
            path = Path(entry.path)
            unowned = entry.name not in recorded
            if entry.name.endswith(".pth") or (unowned and entry.name.endswith((".py", ".pth", ".so"))):
                try:
                    file = host_file(path)
                except OSError:
                    continue
                findings += checker.check(file, label, suspect=unowned)
    compromised = any(f.severity.rank >= Severity.HIGH.rank for f in findings)
    environment = Environment(label, found.kind, distributions, compromised=compromised)
    return EnvironmentHunt(environment, tuple(findings), tuple(events))


def _distribution(
    dist_info: Path, site: Path, checker: FileChecker, label: str, on_skip: Skip
) -> tuple[list[Finding], set[str], TimelineEvent | None]:
    findings: list[Finding] = []
    metadata = dist_info / "METADATA"
    with contextlib.suppress(OSError):
        findings += checker.check(host_file(metadata), label)
    record = dist_info / "RECORD"
    try:
        record_stat = record.stat()
        rows = parse_record(record.read_text("utf-8", "replace"))
    except OSError:
        return findings, set(), None
    installed = record_stat.st_mtime
    event = None
    for finding in findings:
        if finding.kind is FindingKind.KNOWN_BAD_INSTALLED:
            event = TimelineEvent(
                datetime.fromtimestamp(installed, UTC), "installed", finding.release, str(dist_info)
            )
    top_level = set()
    for row in rows:
        if "/" not in row.path:
            top_level.add(row.path)
        findings += _compare(site, row.path, row.sha256, row.size, installed, checker, label)
    return findings, top_level, event


def _compare(
    site: Path,
    relative: str,
    digest: str | None,
    size: int | None,
    installed: float,
    checker: FileChecker,
    label: str,
) -> Iterator[Finding]:
    if not digest or relative.endswith(_GENERATED) or "__pycache__/" in relative:
        return
    path = site / relative
    try:
        stat = path.stat()
    except OSError:
        return
    changed = stat.st_mtime > installed + _INSTALL_SLACK
    resized = size is not None and stat.st_size != size
    if not (changed or resized):
        return
    actual = file_sha256(str(path))
    shown = str(path)
    if actual is not None and actual != digest:
        yield Finding(
            FindingKind.TAMPERED,
            Severity.HIGH,
            shown,
            "An installed file differs from its RECORD",
            f"{relative}: RECORD sha256 {digest[:16]}…, the file has {actual[:16]}…",
            environment=label,
        )
        yield from checker.check(host_file(path, stat), label, suspect=True)
    elif changed:
        yield Finding(
            FindingKind.MODIFIED_AFTER_INSTALL,
            Severity.LOW,
            shown,
            "An installed file was touched after its distribution was installed (same content)",
            f"{relative}: modified {datetime.fromtimestamp(stat.st_mtime, UTC):%Y-%m-%d %H:%M} UTC, "
            f"installed {datetime.fromtimestamp(installed, UTC):%Y-%m-%d %H:%M} UTC",
            environment=label,
        )
