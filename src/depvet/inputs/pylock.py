"""pylock.toml (PEP 751, the standard lockfile): packages with their files and where they are from."""

from __future__ import annotations

import re
from pathlib import Path

from depvet.inputs._common import (
    Fields,
    ParentIndex,
    checked_sha256,
    display_name,
    filename_of,
    load_toml,
    shorten,
    unique,
    upload_time_of,
)
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind

KNOWN_VERSION = "1.0"
_VERSION = re.compile(r"(\d+)\.(\d+)")


def parse_pylock(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = Fields(load_toml(text, display), display)
    notes = _check_version(top)
    if not top.has("packages"):
        raise top.error("missing key 'packages'")
    entries = [_named(entry, display) for entry in top.tables("packages", "package")]
    # PEP 751 records direct dependencies "purely informational for auditing purposes".
    parents = ParentIndex()
    for name, entry in entries:
        for dependency in entry.tables("dependencies", "dependency"):
            parents.add(dependency.required_text("name"), name)
    packages = tuple(_package(name, entry, parents) for name, entry in entries)
    return ParsedInput(
        path=str(path),
        kind=InputKind.PYLOCK,
        packages=packages,
        unpinned=(),
        index_urls=unique(p.index_url for p in packages if p.index_url),
        extra_index_urls=(),
        notes=tuple(notes),
    )


def _check_version(top: Fields) -> list[str]:
    """PEP 751: an unknown major version is an error, an unknown minor one a warning."""
    version = top.required_text("lock-version")
    match = _VERSION.fullmatch(version)
    if match is None or match.group(1) != KNOWN_VERSION.split(".")[0]:
        raise top.error(f"lock version {shorten(version)} is not supported (known: {KNOWN_VERSION})")
    if version != KNOWN_VERSION:
        return [f"{top.where}: lock version {version} is newer than {KNOWN_VERSION}; new keys are ignored"]
    return []


def _named(entry: Fields, display: str) -> tuple[str, Fields]:
    name = entry.required_text("name")
    return name, Fields(entry.data, f"{display}: package '{shorten(name)}'")


def _package(name: str, entry: Fields, parents: ParentIndex) -> LockedPackage:
    kind, files = _source(entry)
    return LockedPackage(
        name=name,
        version=entry.text("version"),
        files=files,
        index_url=entry.text("index"),
        source=kind,
        parents=parents.of(name),
        line=None,
        markers=entry.text("marker"),
    )


def _source(entry: Fields) -> tuple[SourceKind, tuple[PinnedFile, ...]]:
    vcs = entry.table("vcs")
    if vcs is not None:
        return SourceKind.VCS, (PinnedFile(filename=None, url=_vcs_location(vcs), sha256=None),)
    directory = entry.table("directory")
    if directory is not None:
        kind = SourceKind.EDITABLE if directory.boolean("editable") else SourceKind.DIRECTORY
        return kind, (PinnedFile(filename=None, url=directory.required_text("path"), sha256=None),)
    archive = entry.table("archive")
    if archive is not None:
        kind = SourceKind.URL if archive.has("url") else SourceKind.PATH
        return kind, (_file(archive),)
    files = _distribution_files(entry)
    if not files:
        raise entry.error("names no source: one of vcs, directory, archive, sdist or wheels is required")
    # Files listed only by local path, with no index, come from a directory of archives.
    remote = any(f.url and "://" in f.url and not f.url.startswith("file:") for f in files)
    return (SourceKind.REGISTRY if remote or entry.has("index") else SourceKind.PATH), files


def _distribution_files(entry: Fields) -> tuple[PinnedFile, ...]:
    files = []
    sdist = entry.table("sdist")
    if sdist is not None:
        files.append(_file(sdist))
    files.extend(_file(wheel) for wheel in entry.tables("wheels", "wheel"))
    return tuple(files)


def _vcs_location(vcs: Fields) -> str:
    where = vcs.text("url") or vcs.text("path")
    if where is None:
        raise vcs.error("needs 'url' or 'path'")
    location = f"{vcs.required_text('type')}+{where}@{vcs.required_text('commit-id')}"
    subdirectory = vcs.text("subdirectory")
    return f"{location}#subdirectory={subdirectory}" if subdirectory else location


def _file(table: Fields) -> PinnedFile:
    location = table.text("url") or table.text("path")
    if location is None:
        raise table.error("needs 'url' or 'path'")
    hashes = table.table("hashes")
    if hashes is None:
        raise table.error("missing key 'hashes'")
    # Hash algorithm keys SHOULD be lower case, so another spelling is not an error.
    sha256 = next((v for k, v in hashes.data.items() if k.lower() == "sha256"), None)
    if sha256 is not None and not isinstance(sha256, str):
        raise hashes.error("'sha256' must be a string")
    return PinnedFile(
        filename=table.text("name") or filename_of(location),
        url=location,
        sha256=checked_sha256(sha256, hashes.where) if sha256 is not None else None,
        upload_time=upload_time_of(table.data.get("upload-time"), table.where),
    )
