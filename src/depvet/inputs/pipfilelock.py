"""Pipfile.lock (pipenv's JSON lockfile): pinned packages per category, with hashes and indexes."""

from __future__ import annotations

from pathlib import Path

from packaging.utils import canonicalize_name

from depvet.inputs._common import (
    Fields,
    as_fields,
    display_name,
    filename_of,
    load_json_object,
    sha256_of,
    shorten,
    unique,
)
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind, Unpinned

KNOWN_SPECS = (6,)
_VCS_KEYS = ("git", "hg", "svn", "bzr")
_ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip", ".tar")


def parse_pipfile_lock(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = Fields(load_json_object(text, display), display)
    meta = top.table("_meta", f"{display}: _meta")
    if meta is None:
        raise top.error("missing key '_meta'")
    _check_spec(meta)
    sources = {
        source.required_text("name"): source.required_text("url")
        for source in meta.tables("sources", "_meta.sources entry")
    }
    packages: dict[tuple[str, str | None, SourceKind], LockedPackage] = {}
    unpinned: list[Unpinned] = []
    # Besides "default" and "develop", pipenv writes one section per custom package category.
    for section in (key for key in top.data if key != "_meta"):
        table = top.table(section, f"{display}: section '{shorten(section)}'")
        for name, value in table.data.items() if table else ():
            entry = as_fields(value, f"{display}: {section} package '{shorten(name)}'")
            result = _entry(name, entry, sources)
            if isinstance(result, Unpinned):
                unpinned.append(result)
            else:
                # The same pin is often listed in both default and develop.
                packages.setdefault((canonicalize_name(name), result.version, result.source), result)
    return ParsedInput(
        path=str(path),
        kind=InputKind.PIPFILE_LOCK,
        packages=tuple(packages.values()),
        unpinned=tuple(unpinned),
        index_urls=unique(sources.values()),
        extra_index_urls=(),
        notes=(),
    )


def _check_spec(meta: Fields) -> None:
    if not meta.has("pipfile-spec"):
        raise meta.error("missing key 'pipfile-spec'")
    spec = meta.data["pipfile-spec"]
    if type(spec) is not int or spec not in KNOWN_SPECS:
        shown = spec if isinstance(spec, int) else repr(spec)
        known = ", ".join(map(str, KNOWN_SPECS))
        raise meta.error(f"pipfile-spec {shown} is not supported (known: {known})")


def _entry(name: str, entry: Fields, sources: dict[str, str]) -> LockedPackage | Unpinned:
    shas = [sha for sha in (sha256_of(h, entry.where) for h in entry.texts("hashes")) if sha]
    located = _located(entry, shas)
    version = entry.text("version")
    if located is not None:
        kind, files = located
        return _package(name, _exact(version), kind, files, None, entry)
    if version is None:
        return Unpinned(text=name, reason="no version", line=None)
    exact = _exact(version)
    if exact is None:
        return Unpinned(text=f"{name}{version}", reason=f"version range {version}, not a pin", line=None)
    index = entry.text("index")
    if index is not None and index not in sources:
        raise entry.error(f"index '{shorten(index)}' is not one of _meta.sources")
    # Without an "index" key pipenv installs from the first source.
    index_url = sources[index] if index else next(iter(sources.values()), None)
    files = tuple(PinnedFile(filename=None, url=None, sha256=sha) for sha in shas)
    return _package(name, exact, SourceKind.REGISTRY, files, index_url, entry)


def _package(
    name: str,
    version: str | None,
    kind: SourceKind,
    files: tuple[PinnedFile, ...],
    index_url: str | None,
    entry: Fields,
) -> LockedPackage:
    return LockedPackage(
        name=name,
        version=version,
        files=files,
        index_url=index_url,
        source=kind,
        parents=(),  # Pipfile.lock records no dependency graph
        line=None,
        markers=entry.text("markers"),
    )


def _located(entry: Fields, shas: list[str]) -> tuple[SourceKind, tuple[PinnedFile, ...]] | None:
    """Source kind and files of a VCS, path or file entry; None for a registry entry."""
    for vcs in _VCS_KEYS:
        url = entry.text(vcs)
        if url is not None:
            location = url if url.startswith(f"{vcs}+") else f"{vcs}+{url}"
            ref = entry.text("ref")
            location = f"{location}@{ref}" if ref else location
            return SourceKind.VCS, (PinnedFile(filename=None, url=location, sha256=None),)
    local = entry.text("path")
    if local is not None:
        if local.lower().endswith(_ARCHIVE_SUFFIXES):
            return SourceKind.PATH, _archive_files(local, shas)
        kind = SourceKind.EDITABLE if entry.boolean("editable") else SourceKind.DIRECTORY
        return kind, (PinnedFile(filename=None, url=local, sha256=None),)
    link = entry.text("file")
    if link is not None:
        remote = "://" in link and not link.startswith("file:")
        return (SourceKind.URL if remote else SourceKind.PATH), _archive_files(link, shas)
    return None


def _archive_files(location: str, shas: list[str]) -> tuple[PinnedFile, ...]:
    filename = filename_of(location)
    digests: list[str | None] = [*shas] or [None]
    return tuple(PinnedFile(filename, location, sha) for sha in digests)


def _exact(version: str | None) -> str | None:
    for operator in ("===", "=="):
        if version is not None and version.startswith(operator) and "*" not in version:
            return version[len(operator) :].strip() or None
    return None
