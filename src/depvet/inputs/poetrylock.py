"""poetry.lock: packages Poetry resolved, their file hashes, sources and dependency graph.

Two layouts are in use: lock-version 1.x keeps hashes in ``[metadata.files]`` (or, oldest, bare
digests in ``[metadata.hashes]``) keyed by package name; 2.x keeps ``files`` in each package.
"""

from __future__ import annotations

import re
from pathlib import Path

from packaging.utils import canonicalize_name

from depvet.inputs._common import (
    Fields,
    ParentIndex,
    as_fields,
    display_name,
    filename_of,
    load_toml,
    sha256_of,
    shorten,
    unique,
)
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind

# Poetry itself reads lock versions >=1,<3 and treats a missing lock-version as "1.0".
KNOWN_MAJORS = ("1", "2")
_VERSION = re.compile(r"(\d+)(\.\d+)*")
_BARE_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_REGISTRY_TYPES = ("legacy", "pypi")


def parse_poetry_lock(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = Fields(load_toml(text, display), display)
    metadata = top.table("metadata", f"{display}: [metadata]")
    if metadata is None:
        raise top.error("missing [metadata] table")
    _check_version(metadata, display)
    if not top.has("package"):
        raise top.error("missing key 'package'")
    entries = [_named(entry, display) for entry in top.tables("package", "package")]
    parents = ParentIndex()
    for name, entry in entries:
        dependencies = entry.table("dependencies")
        for child in dependencies.data if dependencies else ():
            parents.add(child, name)
    legacy = _legacy_files(metadata)
    packages = tuple(_package(name, entry, parents, legacy) for name, entry in entries)
    return ParsedInput(
        path=str(path),
        kind=InputKind.POETRY_LOCK,
        packages=packages,
        unpinned=(),
        index_urls=unique(p.index_url for p in packages if p.index_url),
        extra_index_urls=(),
        notes=(),
    )


def _check_version(metadata: Fields, display: str) -> None:
    version = metadata.text("lock-version") or "1.0"
    match = _VERSION.fullmatch(version)
    if match is None or match.group(1) not in KNOWN_MAJORS:
        known = ", ".join(f"{major}.x" for major in KNOWN_MAJORS)
        raise Fields(metadata.data, display).error(
            f"lock version {shorten(version)} is not supported (known: {known})"
        )


def _named(entry: Fields, display: str) -> tuple[str, Fields]:
    name = entry.required_text("name")
    return name, Fields(entry.data, f"{display}: package '{shorten(name)}'")


def _package(name: str, entry: Fields, parents: ParentIndex, legacy: dict[str, object]) -> LockedPackage:
    kind, location, index_url = _source(entry)
    files = _files(entry, name, legacy, location if kind is not SourceKind.REGISTRY else None)
    if not files and location is not None:
        files = (PinnedFile(filename=None, url=location, sha256=None),)
    return LockedPackage(
        name=name,
        version=entry.required_text("version"),
        files=files,
        index_url=index_url,
        source=kind,
        parents=parents.of(name),
        line=None,
        markers=_markers(entry),
    )


def _source(entry: Fields) -> tuple[SourceKind, str | None, str | None]:
    """(kind, location of a non-registry source, index URL of a registry one)."""
    source = entry.table("source")
    if source is None:
        return SourceKind.REGISTRY, None, None  # the default index, PyPI unless configured
    kind = source.required_text("type")
    url = source.required_text("url")
    if kind in _REGISTRY_TYPES:
        return SourceKind.REGISTRY, None, url
    if kind == "git":
        commit = source.text("resolved_reference") or source.text("reference")
        location = f"git+{url}@{commit}" if commit else f"git+{url}"
        subdirectory = source.text("subdirectory")
        return SourceKind.VCS, (f"{location}#subdirectory={subdirectory}" if subdirectory else location), None
    if kind == "url":
        return SourceKind.URL, url, None
    if kind == "file":
        return SourceKind.PATH, url, None
    if kind == "directory":
        return (SourceKind.EDITABLE if entry.boolean("develop") else SourceKind.DIRECTORY), url, None
    raise source.error(f"unknown source type '{shorten(kind)}'")


def _files(entry: Fields, name: str, legacy: dict[str, object], url: str | None) -> tuple[PinnedFile, ...]:
    if entry.has("files"):
        items: object = entry.data["files"]
        where = f"{entry.where}: 'files'"
    else:
        items = legacy.get(canonicalize_name(name), [])
        where = f"{entry.where}: [metadata] files"
    if not isinstance(items, list):
        raise Fields({}, where).error("must be an array")
    single_url = url if len(items) == 1 else None  # a url/file source is exactly one archive
    return tuple(_file(item, f"{where} #{i}", single_url) for i, item in enumerate(items, 1))


def _file(item: object, where: str, url: str | None) -> PinnedFile:
    if isinstance(item, str):  # [metadata.hashes]: a digest with no file name
        digest = f"sha256:{item}" if _BARE_SHA256.fullmatch(item) else item
        return PinnedFile(filename=None, url=url, sha256=sha256_of(digest, where))
    table = as_fields(item, where)
    filename = table.required_text("file")
    return PinnedFile(
        filename=filename or (filename_of(url) if url else None),
        url=url,
        sha256=sha256_of(table.required_text("hash"), where),
    )


def _legacy_files(metadata: Fields) -> dict[str, object]:
    """Lock 1.x hashes by normalised package name: file tables, or (oldest) bare digests."""
    found: dict[str, object] = {}
    for key in ("files", "hashes"):
        table = metadata.table(key, f"{metadata.where}.{key}")
        for name, value in table.data.items() if table else ():
            found.setdefault(canonicalize_name(name), value)
    return found


def _markers(entry: Fields) -> str | None:
    # Poetry 2 writes ``markers`` as one string, or as a table of group -> marker when the
    # package is needed under different conditions per dependency group.
    value = entry.data.get("markers", entry.data.get("marker"))
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise entry.error("'markers' must be a string or a table of strings")
    markers = unique(str(v) for v in value.values())
    return markers[0] if len(markers) == 1 else " or ".join(f"({m})" for m in markers)
