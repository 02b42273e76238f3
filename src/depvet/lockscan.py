"""From a lockfile to artifacts on disk: which files of each pinned release to fetch, and from where.

For every release the input pins this picks the file this machine would install (the best
compatible wheel, else the sdist), or every file with ``all_artifacts``; it takes URLs and
hashes from the lock when the lock has them and asks the index for the rest. Nothing here
reads package code: the files go to the scanner like any wheel or sdist the user names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

from packaging.tags import Tag, sys_tags
from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from depvet.artifacts.download import DownloadRequest, DownloadResult, DownloadStatus
from depvet.artifacts.indexconfig import IndexConfig
from depvet.artifacts.kinds import artifact_kind_of
from depvet.artifacts.simpleindex import IndexFile, SimpleIndexClient, find_release_files, release_of
from depvet.artifacts.targets import ArtifactRef
from depvet.errors import DepvetError
from depvet.inputs import LockedPackage, ParsedInput, PinnedFile, SourceKind
from depvet.model import ArtifactKind, InputOrigin, NotScanned, ScanResult, Verdict


@dataclass
class Plan:
    requests: list[DownloadRequest] = field(default_factory=list)
    origins: dict[str, InputOrigin] = field(default_factory=dict)  # request label -> origin
    problems: list[ScanResult] = field(default_factory=list)  # releases that cannot be fetched
    notes: list[str] = field(default_factory=list)  # what the user should know, one line each
    not_scanned: list[NotScanned] = field(default_factory=list)


def plan_fetches(
    parsed: ParsedInput,
    config: IndexConfig,
    client: SimpleIndexClient,
    *,
    all_artifacts: bool = False,
) -> Plan:
    plan = Plan(notes=list(parsed.notes))
    for unpinned in parsed.unpinned:
        where = f"{parsed.path}:{unpinned.line}" if unpinned.line else parsed.path
        plan.notes.append(f"{where}: {unpinned.text}: {unpinned.reason}: not scanned")
        plan.not_scanned.append(NotScanned(parsed.path, unpinned.text, unpinned.reason, unpinned.line))
    ranks = tag_ranks()
    for package in parsed.packages:
        origin = InputOrigin(parsed.path, package.name, package.version, package.parents)
        label = f"{package.name}=={package.version}"
        if package.source is not SourceKind.REGISTRY or package.version is None:
            reason = f"{package.source.value} source, not a release on an index"
            plan.notes.append(f"{parsed.path}: {package.name}: {reason}: not scanned")
            plan.not_scanned.append(NotScanned(parsed.path, package.name, reason, package.line))
            continue
        try:
            files = _release_files(package, parsed, config, client, all_artifacts=all_artifacts, ranks=ranks)
        except DepvetError as exc:
            plan.problems.append(_problem(label, origin, str(exc)))
            continue
        if not files:
            plan.problems.append(_problem(label, origin, "no file of this release could be found to scan"))
            continue
        for pinned in files:
            if pinned.url is None or pinned.filename is None:
                continue  # _release_files keeps only files with both
            key = f"{label} ({pinned.filename})"
            plan.requests.append(DownloadRequest(pinned.url, pinned.filename, pinned.sha256, key))
            plan.origins[key] = origin
    return plan


def _release_files(
    package: LockedPackage,
    parsed: ParsedInput,
    config: IndexConfig,
    client: SimpleIndexClient,
    *,
    all_artifacts: bool,
    ranks: dict[Tag, int],
) -> list[PinnedFile]:
    listed = [f for f in package.files if f.url and f.filename]
    if listed and not all_artifacts:
        return _choose(listed, ranks)
    # The lock names no URL (requirements with hashes, poetry, Pipfile.lock) or the user wants
    # every file of the release: ask the index, keeping the lock's hashes as the reference.
    available = _index_files(package, parsed, config, client)
    locked_hashes = {f.sha256 for f in package.files if f.sha256}
    by_name = {f.filename: f for f in package.files if f.filename}
    pinned: list[PinnedFile] = []
    for found in available:
        locked = by_name.get(found.filename)
        expected = locked.sha256 if locked and locked.sha256 else None
        if expected is None and locked_hashes and found.sha256 in locked_hashes:
            expected = found.sha256
        if locked_hashes and expected is None and not all_artifacts:
            continue  # a file of this release the lock does not allow
        # With no hash in the lock, the index's own hash still catches a corrupted download.
        pinned.append(PinnedFile(found.filename, found.url, expected or found.sha256))
    if locked_hashes and not pinned:
        raise DepvetError(
            "none of the files on the index has a hash the lock allows: the release was replaced"
        )
    return pinned if all_artifacts else _choose(pinned, ranks)


def _index_files(
    package: LockedPackage, parsed: ParsedInput, config: IndexConfig, client: SimpleIndexClient
) -> list[IndexFile]:
    indexes = [package.index_url] if package.index_url else [*parsed.index_urls[:1]] or [config.index_url]
    indexes += [*parsed.extra_index_urls, *config.extra_index_urls]
    problems: list[str] = []
    assert package.version is not None
    for index_url in dict.fromkeys(indexes):
        try:
            files = find_release_files(
                client.project_files(index_url, package.name), package.name, package.version
            )
        except DepvetError as exc:
            problems.append(str(exc))  # every index's answer: an unreachable one must not hide
            continue
        if files:
            return files
    if problems:
        raise DepvetError("; ".join(problems))
    return []


@cache
def tag_ranks() -> dict[Tag, int]:
    """This interpreter's wheel tags, the most preferred first (as an installer would pick)."""
    return {tag: rank for rank, tag in enumerate(sys_tags())}


def _choose(files: Sequence[PinnedFile], ranks: dict[Tag, int]) -> list[PinnedFile]:
    """The file an installer on this machine would take: the best-ranked wheel, else the sdist."""
    best: tuple[int, PinnedFile] | None = None
    sdist: PinnedFile | None = None
    for pinned in files:
        name = pinned.filename or ""
        if name.endswith(".whl"):
            try:
                _, _, _, tags = parse_wheel_filename(name)
            except InvalidWheelFilename:
                continue
            rank = min((ranks[t] for t in tags if t in ranks), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, pinned)
        elif sdist is None and release_of(name) is not None:
            sdist = pinned
    if best is not None:
        return [best[1]]
    if sdist is not None:
        return [sdist]
    # Nothing installs here (wheels for other platforms only): scan the first one listed.
    return list(files[:1])


def _problem(label: str, origin: InputOrigin, message: str) -> ScanResult:
    return ScanResult(
        label, origin.package, origin.version, None, Verdict.ERROR, 0.0, error=message, origin=origin
    )


def downloaded_refs(plan: Plan, results: Sequence[DownloadResult]) -> list[ArtifactRef | ScanResult]:
    """Scan targets for the files that arrived; an error result for each that did not."""
    items: list[ArtifactRef | ScanResult] = []
    for result in results:
        request = result.request
        origin = plan.origins[request.label]
        fetched = (DownloadStatus.OK, DownloadStatus.CACHED, DownloadStatus.HASH_MISMATCH)
        if result.status in fetched and result.path is not None:
            # A file that differs from the lock is scanned too: DV810 says so, and its own
            # findings show what would have been installed.
            kind = artifact_kind_of(request.filename) or ArtifactKind.SDIST
            ref = ArtifactRef(
                request.label,
                str(result.path),
                kind,
                sha256=result.sha256,
                locked_sha256=request.expected_sha256,
                origin=origin,
            )
            items.append(ref)
            continue
        items.append(_problem(request.label, origin, result.message or result.status.value))
    return items
