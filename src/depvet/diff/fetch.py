"""Diff releases named by version: find both on the index, fetch the matching files, ask the index
what it knows (upload times, PEP 740 provenance, the age of new dependencies), then compare.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import Version

from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.download import DownloadRequest, DownloadStatus, download_all
from depvet.artifacts.indexconfig import IndexConfig
from depvet.artifacts.kinds import artifact_kind_of
from depvet.artifacts.simpleindex import (
    IndexFile,
    ProjectNotFound,
    SimpleIndexClient,
    find_release_files,
)
from depvet.artifacts.targets import ArtifactRef
from depvet.diff.compare import ReleaseFacts
from depvet.diff.provenance import (
    FileProvenance,
    ProvenanceStatus,
    fetch_provenance,
    provenance_findings,
    provenance_notes,
    release_times,
    upload_time_findings,
)
from depvet.errors import DepvetError, InputError
from depvet.lockscan import tag_ranks
from depvet.model import ArtifactKind


class ArtifactChoice(enum.StrEnum):
    AUTO = "auto"  # the wheel this machine would install, when both releases have it; else the sdist
    WHEEL = "wheel"
    SDIST = "sdist"
    ALL = "all"  # the sdists and every wheel both releases have


@dataclass(frozen=True, slots=True)
class FilePair:
    old: IndexFile
    new: IndexFile


@dataclass(frozen=True, slots=True)
class PreparedPair:
    """Two artifacts on disk and what the index said about them, ready for ``diff_artifacts``."""

    label: str
    old: ArtifactRef | None
    new: ArtifactRef | None
    facts: ReleaseFacts
    error: str | None = None


class ProjectPages:
    """Project pages of the configured indexes, each fetched once."""

    def __init__(self, config: IndexConfig, client: SimpleIndexClient | None = None) -> None:
        self.config = config
        self.client = client or SimpleIndexClient()
        self._pages: dict[str, list[IndexFile]] = {}

    def files(self, name: str, index_url: str | None = None) -> list[IndexFile]:
        key = f"{index_url or ''} {canonicalize_name(name)}"
        if key not in self._pages:
            self._pages[key] = self._fetch(name, index_url)
        return self._pages[key]

    def _fetch(self, name: str, index_url: str | None) -> list[IndexFile]:
        indexes = [index_url] if index_url else []
        indexes += [self.config.index_url, *self.config.extra_index_urls]
        missing: ProjectNotFound | None = None
        for url in dict.fromkeys(indexes):
            try:
                return self.client.project_files(url, name)
            except ProjectNotFound as exc:
                missing = missing or exc
        assert missing is not None
        raise missing

    def first_upload(self, name: str) -> datetime | None:
        times = [f.upload_time for f in self.files(name) if f.upload_time is not None]
        return min(times) if times else None


def choose_pairs(
    old_files: Sequence[IndexFile], new_files: Sequence[IndexFile], choice: ArtifactChoice
) -> list[FilePair]:
    """Files of the two releases to compare, the same kind of artifact (and wheel tags) on both sides."""
    old_sdist, new_sdist = _sdist(old_files), _sdist(new_files)
    old_wheels, new_wheels = _wheels_by_tags(old_files), _wheels_by_tags(new_files)
    common = [tags for tags in new_wheels if tags in old_wheels]
    pairs: list[FilePair] = []
    if choice in (ArtifactChoice.SDIST, ArtifactChoice.ALL) and old_sdist and new_sdist:
        pairs.append(FilePair(old_sdist, new_sdist))
    if choice is ArtifactChoice.ALL:
        pairs += [FilePair(old_wheels[t], new_wheels[t]) for t in common]
    elif choice in (ArtifactChoice.WHEEL, ArtifactChoice.AUTO) and common:
        best = min(common, key=_tag_rank)
        pairs.append(FilePair(old_wheels[best], new_wheels[best]))
    elif choice is ArtifactChoice.AUTO and old_sdist and new_sdist:
        pairs.append(FilePair(old_sdist, new_sdist))
    if not pairs:
        wanted = {ArtifactChoice.WHEEL: "a wheel with the same tags", ArtifactChoice.SDIST: "an sdist"}.get(
            choice, "a wheel with the same tags or an sdist"
        )
        raise InputError(f"the two releases have no {wanted} in common to compare")
    return pairs


def _sdist(files: Sequence[IndexFile]) -> IndexFile | None:
    return next((f for f in files if artifact_kind_of(f.filename) is ArtifactKind.SDIST), None)


def _wheels_by_tags(files: Sequence[IndexFile]) -> dict[frozenset[Tag], IndexFile]:
    found: dict[frozenset[Tag], IndexFile] = {}
    for file in files:
        if not file.filename.endswith(".whl"):
            continue
        try:
            _, _, _, tags = parse_wheel_filename(file.filename)
        except InvalidWheelFilename:
            continue
        found.setdefault(tags, file)
    return found


def _tag_rank(tags: frozenset[Tag]) -> tuple[int, str]:
    """The tags this machine prefers first; wheels for other platforms after, in a stable order."""
    ranks = tag_ranks()
    return min((ranks[t] for t in tags if t in ranks), default=len(ranks)), min(map(str, tags))


def prepare_release_pairs(
    name: str,
    old_version: str,
    new_version: str,
    pages: ProjectPages,
    cache_root: ArtifactCache,
    *,
    choice: ArtifactChoice = ArtifactChoice.AUTO,
    index_url: str | None = None,
    on_fetched: Callable[[str], None] | None = None,
) -> list[PreparedPair]:
    """Fetch the files of ``name`` OLD and NEW that ``choice`` picks; each with its release facts."""
    label = f"{name} {old_version} -> {new_version}"
    try:
        files = pages.files(name, index_url)
        old_files = find_release_files(files, name, old_version)
        new_files = find_release_files(files, name, new_version)
        for version, found in ((old_version, old_files), (new_version, new_files)):
            if not found:
                raise InputError(f"{name} {version}: the index has no wheel or sdist of this release")
        pairs = choose_pairs(old_files, new_files, choice)
    except DepvetError as exc:
        return [PreparedPair(label, None, None, ReleaseFacts(), str(exc))]
    requests = [
        DownloadRequest(f.url, f.filename, f.sha256, f"{name}=={v} ({f.filename})")
        for pair in pairs
        for f, v in ((pair.old, old_version), (pair.new, new_version))
    ]
    downloads = download_all(
        requests, cache_root, on_done=(lambda done: on_fetched(done.request.label)) if on_fetched else None
    )
    by_file = {d.request.filename: d for d in downloads}
    times = release_times(files, name)
    prepared: list[PreparedPair] = []
    for pair in pairs:
        refs: list[ArtifactRef] = []
        problems: list[str] = []
        for file in (pair.old, pair.new):
            done = by_file[file.filename]
            if done.status in (DownloadStatus.OK, DownloadStatus.CACHED) and done.path is not None:
                kind = artifact_kind_of(file.filename) or ArtifactKind.SDIST
                refs.append(ArtifactRef(file.filename, str(done.path), kind, sha256=done.sha256))
            else:
                problems.append(f"{file.filename}: {done.message or done.status.value}")
        if problems:
            prepared.append(PreparedPair(label, None, None, ReleaseFacts(), "; ".join(problems)))
            continue
        prepared.append(
            PreparedPair(
                f"{name} {pair.old.filename} -> {pair.new.filename}",
                refs[0],
                refs[1],
                _facts(pair, files, name, old_version, new_version, times),
            )
        )
    return prepared


def _facts(
    pair: FilePair,
    files: Sequence[IndexFile],
    name: str,
    old_version: str,
    new_version: str,
    times: dict[Version, datetime],
) -> ReleaseFacts:
    old_provenance, new_provenance = fetch_provenance(pair.old), fetch_provenance(pair.new)
    return ReleaseFacts(
        reasons=(
            *provenance_findings(old_provenance, new_provenance),
            *upload_time_findings(files, name, old_version, new_version),
        ),
        notes=tuple(provenance_notes(old_provenance, new_provenance)),
        old_upload=times.get(Version(old_version)),
        new_upload=times.get(Version(new_version)),
        old_provenance=_provenance_words(old_provenance),
        new_provenance=_provenance_words(new_provenance),
    )


def _provenance_words(provenance: FileProvenance) -> str:
    if provenance.status is ProvenanceStatus.ATTESTED:
        return "attested by " + "; ".join(p.describe() for p in provenance.publishers)
    if provenance.status is ProvenanceStatus.NONE:
        return "no attestations"
    return f"unavailable ({provenance.detail})"
