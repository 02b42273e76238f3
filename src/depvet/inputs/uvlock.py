"""uv.lock: every package uv resolved for a project, with its files, source and dependency graph."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from pathlib import Path

from depvet.inputs._common import (
    Fields,
    ParentIndex,
    display_name,
    filename_of,
    load_toml,
    sha256_of,
    shorten,
    unique,
    upload_time_of,
)
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind

# uv's docs: the schema version only changes on a breaking change; backwards-compatible
# additions bump ``revision`` instead, which is why revision is not checked.
KNOWN_VERSIONS = (1,)

# ``virtual`` maps to None: a virtual project (a workspace root) is never built or installed.
_SOURCE_KEYS: tuple[tuple[str, SourceKind | None], ...] = (
    ("registry", SourceKind.REGISTRY),
    ("git", SourceKind.VCS),
    ("url", SourceKind.URL),
    ("path", SourceKind.PATH),
    ("directory", SourceKind.DIRECTORY),
    ("editable", SourceKind.EDITABLE),
    ("virtual", None),
)


def parse_uv_lock(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = Fields(load_toml(text, display), display)
    _check_version(top)
    entries = [_named(entry, display) for entry in top.tables("package", "package")]
    parents = _graph(entries)
    packages: list[LockedPackage] = []
    virtual: list[str] = []
    for name, entry in entries:
        kind, location = _source(entry)
        if kind is None:
            virtual.append(name)
            continue
        packages.append(
            LockedPackage(
                name=name,
                version=entry.text("version"),
                files=_files(entry, kind, location),
                index_url=location if kind is SourceKind.REGISTRY else None,
                source=kind,
                parents=parents.of(name),
                line=None,
                markers=_markers(entry),
            )
        )
    notes = []
    if virtual:
        notes.append(
            f"{display}: skipped {len(virtual)} virtual package(s) ({shorten(', '.join(virtual))}): "
            "a virtual project installs only its dependencies"
        )
    return ParsedInput(
        path=str(path),
        kind=InputKind.UV_LOCK,
        packages=tuple(packages),
        unpinned=(),
        index_urls=unique(p.index_url for p in packages if p.index_url),
        extra_index_urls=(),
        notes=tuple(notes),
    )


def _check_version(top: Fields) -> None:
    if not top.has("version"):
        raise top.error("missing key 'version' (the lock schema version)")
    version = top.data["version"]
    if type(version) is not int or version not in KNOWN_VERSIONS:
        shown = version if isinstance(version, int) else repr(version)
        known = ", ".join(map(str, KNOWN_VERSIONS))
        raise top.error(f"lock version {shown} is not supported (known: {known})")


def _named(entry: Fields, display: str) -> tuple[str, Fields]:
    name = entry.required_text("name")
    return name, Fields(entry.data, f"{display}: package '{shorten(name)}'")


def _source(entry: Fields) -> tuple[SourceKind | None, str]:
    source = entry.table("source")
    if source is None:
        raise entry.error("missing key 'source'")
    for key, kind in _SOURCE_KEYS:
        location = source.text(key)
        if location is not None:
            if kind is SourceKind.VCS:
                # uv writes the repository URL, the requested ref as ``?rev=``/``?tag=`` and the
                # resolved commit as the fragment; prefixing ``git+`` makes it a pip-style VCS URL.
                location = "git+" + location
            return kind, location
    known = ", ".join(key for key, _ in _SOURCE_KEYS)
    raise source.error(f"no known source kind (one of {known})")


def _files(entry: Fields, kind: SourceKind, location: str) -> tuple[PinnedFile, ...]:
    # A url/path package names its archive in ``source``; its sdist/wheel tables may carry
    # only the hash, so the source location stands in for a missing url.
    fallback = location if kind in (SourceKind.URL, SourceKind.PATH) else None
    # A registry that is a local folder (--find-links) gives file paths relative to itself;
    # joined, they are relative to the lockfile like every other local path in it.
    folder = location if kind is SourceKind.REGISTRY and "://" not in location else None
    files = []
    sdist = entry.table("sdist")
    if sdist is not None:
        files.append(_file(sdist, fallback, folder))
    files.extend(_file(wheel, fallback, folder) for wheel in entry.tables("wheels", "wheel"))
    if not files and kind is not SourceKind.REGISTRY:
        files.append(PinnedFile(filename=None, url=location, sha256=None))
    return tuple(files)


def _file(table: Fields, fallback: str | None, folder: str | None) -> PinnedFile:
    path = table.text("path")
    if path is not None and folder is not None:
        path = posixpath.join(folder, path)
    location = table.text("url") or path or fallback
    digest = table.text("hash")
    filename = table.text("filename") or (filename_of(location) if location else None)
    return PinnedFile(
        filename=filename,
        url=location,
        sha256=sha256_of(digest, table.where) if digest else None,
        upload_time=upload_time_of(table.data.get("upload-time"), table.where),
    )


def _markers(entry: Fields) -> str | None:
    # A package locked once per fork of the resolution lists the environments it is for.
    markers = entry.texts("resolution-markers")
    if not markers:
        return None
    if len(markers) == 1:
        return markers[0]
    return " or ".join(f"({marker})" for marker in markers)


def _graph(entries: list[tuple[str, Fields]]) -> ParentIndex:
    parents = ParentIndex()
    for name, entry in entries:
        for dependency in _dependency_tables(entry):
            parents.add(dependency.required_text("name"), name)
    return parents


def _dependency_tables(entry: Fields) -> Iterator[Fields]:
    yield from entry.tables("dependencies", "dependency")
    for key in ("optional-dependencies", "dev-dependencies"):
        groups = entry.table(key)
        if groups is None:
            continue
        for group in groups.data:
            yield from groups.tables(group, f"'{key}.{group}' dependency")
