"""Turn what the user typed into artifact references, and open a reference for reading."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from depvet.artifacts.archive import ArchiveReader, looks_like_archive
from depvet.artifacts.directory import list_directory, read_directory
from depvet.artifacts.installed import (
    all_recorded_paths,
    find_site_packages,
    read_distribution,
    read_unowned,
    unowned_startup_files,
)
from depvet.artifacts.kinds import SDIST_SUFFIXES, artifact_kind_of
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.errors import ArtifactError, InputError
from depvet.model import ArtifactKind, FileEntry, InputOrigin, ReadIssue

LOCKFILE_NAMES = ("requirements", "pylock", "uv.lock", "poetry.lock", "Pipfile.lock", "pyproject.toml")


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """One thing to scan; small and picklable so it can travel to a worker process."""

    target: str  # what the result is reported under
    path: str
    kind: ArtifactKind
    dist_info: str | None = None  # installed: the ``*.dist-info`` folder name, or None for unowned files
    unowned: tuple[str, ...] = ()  # installed: start-up files no RECORD lists
    sha256: str | None = None  # known before reading (a verified download): the cache key
    locked_sha256: str | None = None  # what a lockfile pinned; a difference is a finding
    origin: InputOrigin | None = None


@dataclass
class OpenedArtifact:
    ref: ArtifactRef
    sha256: str | None
    entries: Iterator[FileEntry]
    reader: ArchiveReader
    filename_name: str | None = None
    filename_version: str | None = None
    issues: list[ReadIssue] = field(default_factory=list)
    names: list[str] = field(default_factory=list)  # member paths, when known before reading


def expand_target(target: str) -> list[ArtifactRef]:
    """The artifacts a target names: one for a file or package directory, one per distribution for an env."""
    path = Path(target)
    if not path.exists():
        raise InputError(f"{target}: no such file or directory")
    if path.is_dir():
        sites = find_site_packages(path)
        if sites:
            return _environment_refs(target, sites)
        return [ArtifactRef(target, str(path), ArtifactKind.DIRECTORY)]
    kind = artifact_kind_of(path.name)
    if kind is not None:
        return [ArtifactRef(target, str(path), kind)]
    lower = path.name.lower()
    if lower.startswith(LOCKFILE_NAMES) or lower.endswith((".lock", ".txt", ".toml")):
        raise InputError(
            f"{target}: a lockfile or requirements file, not an artifact: read it with depvet.inputs"
        )
    raise InputError(
        f"{target}: not a wheel, sdist (.tar.gz, .tgz, .tar.bz2, .zip), package directory or environment"
    )


def _environment_refs(target: str, sites: list[Path]) -> list[ArtifactRef]:
    refs: list[ArtifactRef] = []
    for site in sites:
        for dist_info in sorted(p.name for p in site.glob("*.dist-info") if p.is_dir()):
            refs.append(ArtifactRef(f"{site}/{dist_info}", str(site), ArtifactKind.INSTALLED, dist_info))
        orphans = unowned_startup_files(site, all_recorded_paths(site))
        if orphans:
            refs.append(
                ArtifactRef(
                    f"{site} (start-up files no RECORD lists)",
                    str(site),
                    ArtifactKind.INSTALLED,
                    None,
                    tuple(orphans),
                )
            )
    return refs


def open_artifact(ref: ArtifactRef, limits: Limits = DEFAULT_LIMITS) -> OpenedArtifact:
    reader = ArchiveReader(limits)
    path = Path(ref.path)
    if ref.kind is ArtifactKind.DIRECTORY:
        return OpenedArtifact(ref, None, read_directory(path, reader), reader, names=list_directory(path))
    if ref.kind is ArtifactKind.INSTALLED:
        site = path
        entries = (
            read_distribution(site, ref.dist_info, reader)
            if ref.dist_info
            else read_unowned(site, list(ref.unowned), reader)
        )
        name, version = _dist_info_name(ref.dist_info)
        return OpenedArtifact(ref, None, entries, reader, name, version)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {ref.path}: {exc.strerror}") from exc
    if not data:
        raise ArtifactError("empty file: nothing to scan")
    kind = looks_like_archive(path.name, data[:512])
    if kind not in ("zip", "tar"):
        raise ArtifactError(f"not a readable archive (unrecognised format for {path.name})")
    name, version = _filename_name_version(path.name, ref.kind)
    names, entries = reader.open_top(data, kind)
    return OpenedArtifact(ref, hashlib.sha256(data).hexdigest(), entries, reader, name, version, names=names)


def _filename_name_version(filename: str, kind: ArtifactKind) -> tuple[str | None, str | None]:
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        parse_sdist_filename,
        parse_wheel_filename,
    )

    try:
        if kind is ArtifactKind.WHEEL:
            wname, wversion, _, _ = parse_wheel_filename(filename)
            return str(wname), str(wversion)
        if filename.lower().endswith((".tar.gz", ".zip")):
            sname, sversion = parse_sdist_filename(filename)
            return str(sname), str(sversion)
    except (InvalidWheelFilename, InvalidSdistFilename, ValueError):
        pass
    stem = filename
    for suffix in (*SDIST_SUFFIXES, ".whl", ".egg"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    name, sep, version = stem.rpartition("-")
    if sep and name and version[:1].isdigit():
        return name, version.split("-")[0]
    return None, None


def _dist_info_name(dist_info: str | None) -> tuple[str | None, str | None]:
    if not dist_info:
        return None, None
    stem = dist_info[: -len(".dist-info")]
    name, sep, version = stem.rpartition("-")
    return (name, version) if sep else (stem, None)
