"""The guard's rounds: resolve, judge every release before anything is downloaded, fetch the
exact files, scan them, judge every file; when something is kept out, resolve again without it.

A round ends in one of three ways. Everything passes: those files are what gets installed.
Something is kept out by the policy: the resolver is asked again with those releases excluded
(a constraints file ``name!=version``), so ``pip install goodpkg`` installs the last good
release when the newest one is tainted; the rounds are bounded, and when no other release
satisfies the requirements the blocks of the last round are the answer. Something is wrong
with the bytes (the index served a file that does not match its own hash): stop, nothing is
installed, and nothing is steered around, since the next file from that index is no more
trustworthy.

Before the first resolution, requirements the user pinned exactly (``litellm==1.82.8``) are
checked against the deny list and the known-bad records, so a known-bad pin is refused before
the resolver (which may download the file to read its metadata) sees it.
"""

from __future__ import annotations

import enum
import os
import shutil
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from depvet.artifacts.cache import ArtifactCache, safe_filename
from depvet.artifacts.download import DownloadRequest, DownloadResult, DownloadStatus, download_all
from depvet.artifacts.simpleindex import IndexFile, SimpleIndexClient, redact_url, release_of
from depvet.errors import DepvetError
from depvet.guard.installargs import InstallArgs, Role, Tool, exact_pins, file_pins
from depvet.guard.installers import (
    GuardError,
    Installer,
    ResolutionFailed,
    ResolvedFile,
    StagedFile,
    Steering,
)
from depvet.guard.judge import Judge
from depvet.model import ScanResult
from depvet.policy import Block, BlockReason, Decision, Exemption
from depvet.resultcache import ResultCache

MAX_ROUNDS = 5
INDEX_WORKERS = 8
# Known before any download, from the index and the advisories: worth excluding every release
# of the project they apply to, not just the one the resolver picked.
RELEASE_REASONS = frozenset(
    {
        BlockReason.DENIED,
        BlockReason.KNOWN_MALICIOUS,
        BlockReason.KNOWN_VULNERABLE,
        BlockReason.COOLDOWN,
        BlockReason.AGE_UNKNOWN,
    }
)
# What a pin names without asking the index: checked before the resolver runs.
PIN_REASONS = frozenset({BlockReason.DENIED, BlockReason.KNOWN_MALICIOUS, BlockReason.KNOWN_VULNERABLE})
COOLDOWN_REASONS = frozenset({BlockReason.COOLDOWN, BlockReason.AGE_UNKNOWN})
UNSTEERABLE = frozenset({BlockReason.NO_HASH})


class GuardReason(enum.StrEnum):
    """Why the guard stops that is not a policy decision."""

    HASH_MISMATCH = "hash-mismatch"  # the bytes are not those the index lists


@dataclass(frozen=True, slots=True)
class Reason:
    code: BlockReason | GuardReason
    detail: str
    rule_id: str | None = None

    @classmethod
    def of(cls, block: Block) -> Reason:
        return cls(block.reason, block.detail, block.rule_id)


@dataclass(frozen=True, slots=True)
class Kept:
    """A release (or one file of it) kept out, and why."""

    name: str
    version: str
    filename: str | None  # None: kept out before the resolver named a file
    reasons: tuple[Reason, ...]
    scan: ScanResult | None = None

    @property
    def key(self) -> tuple[NormalizedName, str]:
        return canonicalize_name(self.name), _version_key(self.version)

    @property
    def steerable(self) -> bool:
        """A block another release may avoid. Not a tampered file (the next one from that index
        is no more trustworthy), nor a missing hash (a property of the index, not the release)."""
        return all(isinstance(r.code, BlockReason) and r.code not in UNSTEERABLE for r in self.reasons)

    @property
    def release_level(self) -> bool:
        return any(r.code in RELEASE_REASONS for r in self.reasons)


@dataclass(frozen=True, slots=True)
class Lifted:
    """A block an exemption lifted."""

    name: str
    version: str
    block: Block
    exemption: Exemption


@dataclass(frozen=True, slots=True)
class Verified:
    file: ResolvedFile
    path: Path  # the file in depvet's cache
    sha256: str  # of the bytes scanned
    scan: ScanResult


@dataclass(frozen=True, slots=True)
class Round:
    verified: tuple[Verified, ...]
    kept: tuple[Kept, ...]
    lifted: tuple[Lifted, ...]


@dataclass(frozen=True, slots=True)
class Outcome:
    verified: tuple[Verified, ...]  # what may be installed; empty when anything is blocked
    blocked: tuple[Kept, ...]  # what stops the install
    skipped: tuple[Kept, ...]  # kept out in earlier rounds and resolved around
    lifted: tuple[Lifted, ...]
    notes: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        return not self.blocked


@dataclass(frozen=True, slots=True)
class Listing:
    index_url: str
    file: IndexFile


@dataclass
class IndexListings:
    """Project pages of the indexes the resolver may have used, fetched once per run.

    A resolved file is matched to the page that lists it (same file name and, where both give
    one, same sha256): that page's upload time is the file's, and its URL (with the index's
    credentials) is where depvet fetches it.
    """

    client: SimpleIndexClient
    indexes: tuple[str, ...]
    _pages: dict[tuple[str, NormalizedName], list[IndexFile] | None] = field(default_factory=dict)
    _problems: dict[tuple[str, NormalizedName], str] = field(default_factory=dict)

    def prefetch(self, names: Iterable[str]) -> None:
        todo = list(
            dict.fromkeys(
                (index, canonicalize_name(name))
                for name in names
                for index in self.indexes
                if (index, canonicalize_name(name)) not in self._pages
            )
        )
        if not todo:
            return
        with ThreadPoolExecutor(
            max_workers=min(INDEX_WORKERS, len(todo)), thread_name_prefix="depvet-idx"
        ) as pool:
            for key, files in zip(todo, pool.map(self._fetch, todo), strict=True):
                self._pages[key] = files

    def _fetch(self, key: tuple[str, NormalizedName]) -> list[IndexFile] | None:
        try:
            return self.client.project_files(*key)
        except DepvetError as exc:
            # Not on this index, or unreachable: the file then has no listing here.
            self._problems[key] = str(exc)
            return None

    def unlisted(self, resolved: ResolvedFile) -> str:
        """Why no page gave ``resolved`` an upload time, for the user."""
        name = canonicalize_name(resolved.name)
        problems = [self._problems[(i, name)] for i in self.indexes if (i, name) in self._problems]
        searched = ", ".join(redact_url(i) for i in self.indexes) or "no index"
        where = "; ".join(problems) if problems else f"searched: {searched}"
        return (
            f"{resolved.filename}: no index page depvet read lists it; its upload time is unknown ({where})"
        )

    def _page(self, index: str, name: NormalizedName) -> list[IndexFile]:
        if (index, name) not in self._pages:
            self.prefetch([name])
        return self._pages.get((index, name)) or []

    def find(self, resolved: ResolvedFile) -> Listing | None:
        name = canonicalize_name(resolved.name)
        for index in self.indexes:
            for listed in self._page(index, name):
                if listed.filename != resolved.filename:
                    continue
                if resolved.sha256 and listed.sha256 and listed.sha256 != resolved.sha256:
                    continue  # another file of that name on another index: not the resolved one
                return Listing(index, listed)
        return None

    def upload_times(self, name: str) -> dict[str, datetime | None]:
        """Each version of ``name`` on the indexes, with the newest upload time among its files."""
        project = canonicalize_name(name)
        times: dict[str, datetime | None] = {}
        for index in self.indexes:
            for listed in self._page(index, project):
                parsed = release_of(listed.filename)
                if parsed is None or parsed[0] != project:
                    continue
                version, uploaded = str(parsed[1]), listed.upload_time
                known = times.get(version)
                if version not in times or (uploaded is not None and (known is None or uploaded > known)):
                    times[version] = uploaded
        return times


@dataclass
class Guard:
    """One guarded install: the judge decides, the installer resolves, depvet fetches and scans."""

    installer: Installer
    judge: Judge
    cache: ArtifactCache
    listings: IndexListings
    jobs: int
    results: ResultCache | None = None
    show_progress: bool = False
    _scans: dict[str, ScanResult] = field(default_factory=dict)
    _notes: list[str] = field(default_factory=list)

    def vet(self, args: InstallArgs, workdir: Path) -> Outcome:
        refused = self._pinned(args)
        if refused:
            return Outcome((), refused, (), (), ("refused before resolving: nothing was downloaded",))
        steering = self._first_steering(args)
        notes = self._notes
        rounds: list[Round] = []
        for _ in range(MAX_ROUNDS):
            try:
                files = self.installer.resolve(args, steering, workdir)
            except ResolutionFailed:
                if rounds:
                    notes.append(
                        f"{self.installer.tool} finds no other resolution once the releases kept out "
                        "are excluded"
                    )
                    return _blocked(rounds, notes)
                if steering.cutoff is not None:
                    # Maybe no release is old enough: resolve without the cutoff so the judge says which.
                    notes.append("no resolution within the cooldown cutoff: resolved without it to say why")
                    steering = steering.without_cutoff()
                    continue
                raise
            current = self._round(files)
            rounds.append(current)
            if not current.kept:
                return Outcome(current.verified, (), _skipped(rounds[:-1]), _lifted(rounds), _unique(notes))
            avoid = self._to_avoid(current.kept) - steering.avoid
            if not all(k.steerable for k in current.kept) or not avoid:
                return _blocked(rounds, notes)
            steering = steering.avoiding(avoid)
        notes.append(f"still blocked after {MAX_ROUNDS} resolutions")
        return _blocked(rounds, notes)

    # -- before resolving ---------------------------------------------------------------------------

    def _pinned(self, args: InstallArgs) -> tuple[Kept, ...]:
        kept: list[Kept] = []
        for name, version in dict.fromkeys([*exact_pins(args), *file_pins(args)]):
            decision = self.judge.release(name, version, None)
            blocks = [b for b in decision.blocks if b.reason in PIN_REASONS]
            if blocks:
                kept.append(Kept(name, version, None, tuple(Reason.of(b) for b in blocks)))
        return tuple(kept)

    def _first_steering(self, args: InstallArgs) -> Steering:
        """The cooldown as the resolver's own upload-time cutoff, where it has one, so that it
        picks an older release instead of one the judge would block."""
        policy = self.judge.policy
        if policy.min_release_age <= timedelta(0) or not self.installer.supports_cutoff:
            return Steering()
        if args.having(Role.CUTOFF):
            return Steering()  # the user's own cutoff: the installers accept one
        exempt = frozenset(
            canonicalize_name(e.requirement.name)
            for e in policy.exemptions
            if e.expires >= self.judge.clock().date() and (e.reasons is None or e.reasons & COOLDOWN_REASONS)
        )
        if exempt and self.installer.tool is Tool.PIP:
            return Steering()  # pip's cutoff has no per-project exception: the rounds steer instead
        return Steering(cutoff=self.judge.clock() - policy.min_release_age, cutoff_exempt=exempt)

    # -- one round ----------------------------------------------------------------------------------

    def _round(self, resolved: Sequence[ResolvedFile]) -> Round:
        files = list({f.key: f for f in resolved}.values())
        self.listings.prefetch(f.name for f in files if not f.is_local)
        kept: list[Kept] = []
        lifted: list[Lifted] = []
        fetch: list[tuple[ResolvedFile, str]] = []
        for file in files:
            listing = None if file.is_local else self.listings.find(file)
            blocks = self._before_download(file, listing, lifted)
            if blocks:
                kept.append(Kept(file.name, file.version, file.filename, tuple(Reason.of(b) for b in blocks)))
            else:
                fetch.append((file, listing.file.url if listing else file.url))
        verified: list[Verified] = []
        arrived = self._download(fetch, kept)
        for (file, path, sha256), scan in zip(arrived, self._scan(arrived), strict=True):
            decision = self.judge.file(file.name, file.version, file.filename, sha256, scan)
            lifted += _lifts(file, decision)
            if decision.allowed:
                verified.append(Verified(file, path, sha256, scan))
            else:
                reasons = tuple(Reason.of(b) for b in decision.blocks)
                kept.append(Kept(file.name, file.version, file.filename, reasons, scan))
        return Round(tuple(verified), tuple(kept), tuple(lifted))

    def _before_download(
        self, file: ResolvedFile, listing: Listing | None, lifted: list[Lifted]
    ) -> list[Block]:
        uploaded = listing.file.upload_time if listing is not None else file.upload_time
        if uploaded is None and not file.is_local:
            self._notes.append(self.listings.unlisted(file))
        decision = self.judge.release(file.name, file.version, uploaded)
        lifted += _lifts(file, decision)
        blocks = list(decision.blocks)
        if file.is_local:
            # A file on this machine has no index and no upload time: a cooldown has nothing to wait for.
            return [b for b in blocks if b.reason is not BlockReason.AGE_UNKNOWN]
        before = self.judge.file(file.name, file.version, file.filename, file.sha256, None)
        lifted += _lifts(file, before)
        return blocks + list(before.blocks)

    def _download(
        self, fetch: Sequence[tuple[ResolvedFile, str]], kept: list[Kept]
    ) -> list[tuple[ResolvedFile, Path, str]]:
        if safe := [f for f, _ in fetch if safe_filename(f.filename) != f.filename]:
            raise GuardError(f"the resolver names a file with an unsafe name: {safe[0].filename[:80]!r}")
        requests = [
            DownloadRequest(url, file.filename, file.sha256, f"{file.name}=={file.version}")
            for file, url in fetch
        ]
        from depvet.report.progress import progress_bar

        with progress_bar(len(requests), enabled=self.show_progress, verb="fetching") as advance:
            results = download_all(requests, self.cache, on_done=lambda done: advance(done.request.label))
        arrived: list[tuple[ResolvedFile, Path, str]] = []
        for (file, _), result in zip(fetch, results, strict=True):
            if result.status is DownloadStatus.HASH_MISMATCH:
                reason = Reason(
                    GuardReason.HASH_MISMATCH, result.message or "the bytes differ from the index's sha256"
                )
                kept.append(Kept(file.name, file.version, file.filename, (reason,)))
            elif result.path is None or result.sha256 is None or result.status not in _ARRIVED:
                raise GuardError(f"cannot fetch {file.filename}: {_download_problem(result)}")
            else:
                arrived.append((file, result.path, result.sha256))
        return arrived

    def _scan(self, arrived: Sequence[tuple[ResolvedFile, Path, str]]) -> list[ScanResult]:
        """Each arrived file's scan, in order; a file seen in an earlier round is not scanned again."""
        from depvet.artifacts.targets import expand_target
        from depvet.report.progress import progress_reporter
        from depvet.scanning import scan_all

        todo = {
            sha256: replace(expand_target(str(path))[0], target=file.filename, sha256=sha256)
            for file, path, sha256 in arrived
            if sha256 not in self._scans
        }
        with progress_reporter(total=len(todo), enabled=self.show_progress) as on_result:
            results = scan_all(list(todo.values()), jobs=self.jobs, on_result=on_result, cache=self.results)
        self._scans.update(zip(todo, results, strict=True))
        return [self._scans[sha256] for _, _, sha256 in arrived]

    # -- steering -----------------------------------------------------------------------------------

    def _to_avoid(self, kept: Sequence[Kept]) -> frozenset[tuple[NormalizedName, str]]:
        """The kept releases, and for a block the index and advisories tell, every release of
        that project they would block as well (young, known-bad, denied): one more resolution
        instead of one per release."""
        avoid = {k.key for k in kept}
        for name in {k.name for k in kept if k.release_level}:
            for version, uploaded in self.listings.upload_times(name).items():
                if not self.judge.release(name, version, uploaded).allowed:
                    avoid.add((canonicalize_name(name), _version_key(version)))
        return frozenset(avoid)


_ARRIVED = (DownloadStatus.OK, DownloadStatus.CACHED)


def _download_problem(result: DownloadResult) -> str:
    return result.message or result.status.value


def _lifts(file: ResolvedFile, decision: Decision) -> list[Lifted]:
    return [Lifted(file.name, file.version, block, exemption) for block, exemption in decision.exempted]


def _lifted(rounds: Sequence[Round]) -> tuple[Lifted, ...]:
    """The exemptions that mattered in the last round (the one whose files are installed)."""
    unique: dict[tuple[str, str, BlockReason], Lifted] = {}
    for lift in rounds[-1].lifted if rounds else ():
        unique.setdefault((lift.name, lift.version, lift.block.reason), lift)
    return tuple(unique.values())


def _skipped(rounds: Sequence[Round]) -> tuple[Kept, ...]:
    unique: dict[tuple[NormalizedName, str], Kept] = {}
    for current in rounds:
        for kept in current.kept:
            unique.setdefault(kept.key, kept)
    return tuple(unique.values())


def _blocked(rounds: Sequence[Round], notes: list[str]) -> Outcome:
    last = rounds[-1]
    blocked = {k.key for k in last.kept}
    skipped = tuple(k for k in _skipped(rounds[:-1]) if k.key not in blocked)
    return Outcome((), last.kept, skipped, _lifted(rounds), _unique(notes))


def _unique(notes: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(notes))


def _version_key(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def stage(verified: Sequence[Verified], directory: Path) -> list[StagedFile]:
    """Link (or copy) each verified file into ``directory`` under its own name, for the installer."""
    directory.mkdir(parents=True, exist_ok=True)
    staged: list[StagedFile] = []
    for item in verified:
        target = directory / item.file.filename
        try:
            os.link(item.path, target)
        except OSError:
            shutil.copyfile(item.path, target)
        staged.append(StagedFile(item.file.name, item.file.version, item.file.filename, item.sha256))
    return staged
