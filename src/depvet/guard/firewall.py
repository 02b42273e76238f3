"""What the index firewall lists and serves: every decision through ``Judge``, no HTTP in here.

A project page lists every upstream file; what the policy keeps out is listed as yanked with the
reason (PEP 592), so resolvers skip it for ranges and an exact pin shows the reason, and its
download is refused. Before a page is answered the newest release that passes the release checks
is downloaded and scanned (and the next ones, up to ``prescan_releases``, while every file of one
is blocked), so ``pip install NAME`` falls back to the last good release on the first try. Files
not scanned by then are listed as they are and scanned when first downloaded. A scan runs once
per sha256: concurrent requests share it, and the verdict is kept in SQLite.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from packaging.version import Version

from depvet.artifacts.simpleindex import IndexFile, release_of
from depvet.errors import ArtifactError
from depvet.guard.judge import Judge
from depvet.guard.scanpool import ScanPool
from depvet.guard.singleflight import SingleFlight
from depvet.guard.upstream import HashMismatch, Upstream, UpstreamError, UpstreamNotFound
from depvet.guard.verdicts import BlockEntry, VerdictStore
from depvet.model import ScanResult
from depvet.policy import Block, BlockReason, Decision

log = logging.getLogger("depvet.proxy")

YANK_PREFIX = "blocked by depvet: "
# Blocks about the shape of a file or page rather than a threat: an sdist, a missing hash, a page
# without upload times. They can concern every file of every project, so they are listed as yanked
# silently and logged only when someone actually tries to download such a file.
QUIET_REASONS = frozenset({BlockReason.SDIST, BlockReason.NO_HASH, BlockReason.AGE_UNKNOWN})


@dataclass(frozen=True, slots=True)
class Release:
    version: Version
    files: tuple[IndexFile, ...]
    upload_time: datetime | None  # the earliest file's: when the release became installable
    decision: Decision  # the release checks: deny list, known-bad, cooldown


@dataclass(frozen=True, slots=True)
class ListedFile:
    file: IndexFile
    version: Version
    decision: Decision  # the release's when it is blocked, else the file's

    @property
    def yanked(self) -> str | bool:
        if not self.decision.allowed:
            return YANK_PREFIX + self.decision.summary()
        return self.file.yanked


@dataclass(frozen=True, slots=True)
class Listing:
    project: str
    files: tuple[ListedFile, ...]
    versions: tuple[str, ...]
    stale: float | None  # seconds, when the upstream failed and a kept page was used


class FileStatus(enum.Enum):
    SERVE = 200
    BLOCKED = 403
    NOT_FOUND = 404
    UPSTREAM_FAILED = 502


@dataclass(frozen=True, slots=True)
class FileAnswer:
    status: FileStatus
    message: str  # one line for the client
    path: Path | None = None  # SERVE: the file, or
    body: bytes | None = None  # SERVE: the bytes


@dataclass(slots=True)
class Stats:
    pages: int = 0
    files_served: int = 0
    refused: int = 0
    upstream_failures: int = 0
    seen_blocks: set[tuple[str, str, str, str]] = field(default_factory=set)


class Firewall:
    def __init__(
        self,
        upstream: Upstream,
        judge: Judge,
        verdicts: VerdictStore,
        scanner: ScanPool,
        *,
        prescan_timeout: float = 10.0,
        prescan_releases: int = 3,
    ) -> None:
        self.upstream = upstream
        self.judge = judge
        self.verdicts = verdicts
        self.scanner = scanner
        self.prescan_timeout = prescan_timeout
        self.prescan_releases = prescan_releases
        self.stats = Stats()
        self._downloads: SingleFlight[str, Path] = SingleFlight()
        self._scans: SingleFlight[str, ScanResult] = SingleFlight()

    async def aclose(self) -> None:
        await self._scans.cancel_all()
        await self._downloads.cancel_all()

    # -- pages ---------------------------------------------------------------------------------

    async def listing(self, project: str) -> Listing:
        """Every upstream file of ``project`` (normalised) with what the policy says about it.

        Raises what ``Upstream.page`` raises.
        """
        page = await self.upstream.page(project)
        releases = self._releases(project, page.files)
        await self._prescan(project, releases)
        listed: list[ListedFile] = []
        for release in releases.values():
            for file in release.files:
                listed.append(ListedFile(file, release.version, self._decide(project, release, file)))
        self._announce(project, releases.values(), listed)
        self.stats.pages += 1
        order = {file.filename: i for i, file in enumerate(page.files)}
        listed.sort(key=lambda item: order[item.file.filename])
        versions = tuple(str(v) for v in sorted(releases))
        return Listing(project, tuple(listed), versions, page.stale)

    def _releases(self, project: str, files: Sequence[IndexFile]) -> dict[Version, Release]:
        grouped: dict[Version, list[IndexFile]] = {}
        for file in files:
            parsed = release_of(file.filename)
            # Files whose names say no project and version (eggs, installers) cannot be judged as a
            # release, and another project's files have no place on this page: neither is listed.
            if parsed is None or parsed[0] != project:
                continue
            grouped.setdefault(parsed[1], []).append(file)
        releases: dict[Version, Release] = {}
        for version, members in grouped.items():
            times = [f.upload_time for f in members if f.upload_time is not None]
            uploaded = min(times) if times else None
            decision = self.judge.release(project, str(version), uploaded)
            releases[version] = Release(version, tuple(members), uploaded, decision)
        return releases

    def _decide(self, project: str, release: Release, file: IndexFile) -> Decision:
        if not release.decision.allowed:
            return release.decision
        scan = self.verdicts.get(file.sha256) if file.sha256 else None
        decision = self.judge.file(project, str(release.version), file.filename, file.sha256, scan)
        if file.sha256 is None and decision.allowed:
            # The policy lets it through, but the firewall serves only bytes it can verify.
            block = Block(
                BlockReason.NO_HASH, f"the upstream lists no sha256 for {file.filename} to verify it"
            )
            return Decision((block,), decision.exempted)
        return decision

    async def _prescan(self, project: str, releases: dict[Version, Release]) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.prescan_timeout
        finals = [r for r in releases.values() if not r.version.is_prerelease]
        tried = 0
        for release in sorted(finals or releases.values(), key=lambda r: r.version, reverse=True):
            if tried >= self.prescan_releases or loop.time() >= deadline:
                return
            if not release.decision.allowed:
                continue
            files = [
                f
                for f in release.files
                if f.yanked is False and f.sha256 and self._decide(project, release, f).allowed
            ]
            if not files:
                continue  # nothing of it can be served: not worth a place among the releases tried
            tried += 1
            unscanned = [f for f in files if f.sha256 and self.verdicts.get(f.sha256) is None]
            if not unscanned:
                return  # every file left is scanned and allowed: this is the release resolvers get
            tasks = [self._scan_task(project, release.version, f) for f in unscanned]
            _, pending = await asyncio.wait(tasks, timeout=max(deadline - loop.time(), 0.0))
            if pending:
                # Out of time: the rest is listed as it is, and their scans go on for the next request.
                log.info(
                    "%s %s: %d files still being scanned; listed as they are",
                    project,
                    release.version,
                    len(pending),
                )
                return
            if any(self._decide(project, release, f).allowed for f in files):
                return

    def _scan_task(self, project: str, version: Version, file: IndexFile) -> asyncio.Task[ScanResult]:
        assert file.sha256 is not None
        sha256 = file.sha256
        return self._scans.task(sha256, lambda: self._scan(project, version, file, sha256))

    async def _scan(self, project: str, version: Version, file: IndexFile, sha256: str) -> ScanResult:
        known = self.verdicts.get(sha256)
        if known is not None:
            return known
        path = await self._download(file, sha256)
        result = await self.scanner.scan(path, sha256, file.filename)
        self.verdicts.put(sha256, result)
        log.info(
            "scanned %s %s %s: %s (%.2f s)",
            project,
            version,
            file.filename,
            result.verdict.value,
            result.seconds,
        )
        return result

    async def _download(self, file: IndexFile, sha256: str) -> Path:
        return await self._downloads.run(sha256, lambda: self.upstream.download(file))

    # -- files ---------------------------------------------------------------------------------

    async def fetch(self, project: str, sha256: str, filename: str, client: str) -> FileAnswer:
        """The verified, scanned file to serve, or why not. ``sha256`` is ``-`` for an unhashed file."""
        found = await self._locate(project, sha256, filename)
        if isinstance(found, FileAnswer):
            return found
        release, file = found
        decision = self._decide(project, release, file)
        if not decision.allowed or file.sha256 is None:
            return self._refuse(project, release, file, decision, client)
        digest = file.sha256
        try:
            scan = self.verdicts.get(digest) or await self._scans.run(
                digest, lambda: self._scan(project, release.version, file, digest)
            )
            decision = self.judge.file(project, str(release.version), filename, digest, scan)
            if not decision.allowed:
                return self._refuse(project, release, file, decision, client)
            path = self.upstream.artifacts.get(digest, filename) or await self._download(file, digest)
        except UpstreamError as exc:
            return self._upstream_failed(filename, exc)
        self.stats.files_served += 1
        return FileAnswer(FileStatus.SERVE, "", path)

    async def metadata(self, project: str, sha256: str, filename: str) -> FileAnswer:
        """The core metadata of a file (PEP 658), whatever the policy says about the file itself.

        Metadata is inert text, and serving it for blocked files too is what lets an installer
        finish resolving an exact pin and show the yank reason, rather than stopping at a bare 403.
        It comes from the upstream when offered, else from the (verified) wheel.
        """
        found = await self._locate(project, sha256, filename)
        if isinstance(found, FileAnswer):
            return found
        _, file = found
        try:
            if file.core_metadata:
                try:
                    return FileAnswer(FileStatus.SERVE, "", body=await self.upstream.metadata(file))
                except UpstreamError as exc:
                    if not filename.endswith(".whl") or file.sha256 is None:
                        raise
                    log.info("reading the metadata of %s from the wheel: %s", filename, exc)
            if not filename.endswith(".whl") or file.sha256 is None:
                return FileAnswer(FileStatus.NOT_FOUND, f"no metadata is offered for {filename}")
            path = self.upstream.artifacts.get(file.sha256, filename) or await self._download(
                file, file.sha256
            )
        except UpstreamError as exc:
            return self._upstream_failed(filename, exc)
        try:
            body = await asyncio.to_thread(wheel_metadata, path)
        except ArtifactError as exc:
            return FileAnswer(FileStatus.NOT_FOUND, f"{filename}: {exc}")
        return FileAnswer(FileStatus.SERVE, "", body=body)

    async def _locate(
        self, project: str, sha256: str, filename: str
    ) -> tuple[Release, IndexFile] | FileAnswer:
        """The listed file and its release, or the answer saying why there is none."""
        try:
            page = await self.upstream.page(project)
        except UpstreamNotFound as exc:
            return FileAnswer(FileStatus.NOT_FOUND, str(exc))
        except UpstreamError as exc:
            self.stats.upstream_failures += 1
            return FileAnswer(FileStatus.UPSTREAM_FAILED, str(exc))
        file = next((f for f in page.files if f.filename == filename), None)
        if file is None or (file.sha256 or "-") != sha256:
            return FileAnswer(
                FileStatus.NOT_FOUND, f"{filename} with this sha256 is not listed by the upstream"
            )
        version = _version_of(filename)
        release = None if version is None else self._releases(project, page.files).get(version)
        if release is None:
            return FileAnswer(FileStatus.NOT_FOUND, f"{filename} is not a release file of {project}")
        return release, file

    def _upstream_failed(self, filename: str, exc: UpstreamError) -> FileAnswer:
        self.stats.upstream_failures += 1
        if isinstance(exc, HashMismatch):
            log.error("%s", exc)
        else:
            log.warning("cannot fetch %s: %s", filename, exc)
        return FileAnswer(FileStatus.UPSTREAM_FAILED, str(exc))

    def _refuse(
        self, project: str, release: Release, file: IndexFile, decision: Decision, client: str
    ) -> FileAnswer:
        message = f"{YANK_PREFIX}{project} {release.version} ({file.filename}): {decision.summary()}"
        self.stats.refused += 1
        log.warning("refused %s to %s: %s", file.filename, client, decision.summary())
        self.verdicts.record_block(
            self._entry(project, release, file, decision), refused=True, when=self._now()
        )
        return FileAnswer(FileStatus.BLOCKED, message)

    # -- the block log -------------------------------------------------------------------------

    def _announce(self, project: str, releases: Iterable[Release], listed: Iterable[ListedFile]) -> None:
        """Log and record each block the first time this process lists it."""
        by_version = {r.version: r for r in releases}
        for item in listed:
            if item.decision.allowed or {b.reason for b in item.decision.blocks} <= QUIET_REASONS:
                continue
            release = by_version[item.version]
            entry = self._entry(project, release, item.file, item.decision)
            key = (entry.project, entry.version, entry.filename, ",".join(entry.reasons))
            if key in self.stats.seen_blocks:
                continue
            self.stats.seen_blocks.add(key)
            what = entry.filename or f"every file of {project} {entry.version}"
            log.warning("blocked %s: %s (listed as yanked)", what, entry.detail)
            self.verdicts.record_block(entry, refused=False, when=self._now())

    def _entry(self, project: str, release: Release, file: IndexFile, decision: Decision) -> BlockEntry:
        whole_release = not release.decision.allowed
        return BlockEntry(
            project=project,
            version=str(release.version),
            filename="" if whole_release else file.filename,
            reasons=tuple(dict.fromkeys(b.reason.value for b in decision.blocks)),
            detail=decision.summary(),
            sha256=None if whole_release else file.sha256,
        )

    def _now(self) -> float:
        return self.judge.clock().timestamp()


# Bounds on reading METADATA out of an untrusted wheel: one member, read by zipfile, never extracted.
MAX_METADATA_BYTES = 16 * 1024 * 1024
_METADATA_MEMBER = re.compile(r"[^/]+\.dist-info/METADATA")


def wheel_metadata(path: Path) -> bytes:
    """A wheel's ``*.dist-info/METADATA``; ``ArtifactError`` when it has none or it cannot be read."""
    try:
        with zipfile.ZipFile(path) as wheel:
            members = [i for i in wheel.infolist() if _METADATA_MEMBER.fullmatch(i.filename)]
            if len(members) != 1:
                raise ArtifactError(f"has {len(members)} *.dist-info/METADATA files, not one")
            with wheel.open(members[0]) as handle:
                data = handle.read(MAX_METADATA_BYTES + 1)
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError, EOFError) as exc:
        raise ArtifactError(f"cannot read its METADATA: {exc}") from None
    if len(data) > MAX_METADATA_BYTES:
        raise ArtifactError(f"its METADATA is over {MAX_METADATA_BYTES} bytes")
    return data


def _version_of(filename: str) -> Version | None:
    parsed = release_of(filename)
    return None if parsed is None else parsed[1]
