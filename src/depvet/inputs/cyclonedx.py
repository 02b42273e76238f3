"""CycloneDX JSON SBOMs (spec 1.2-1.6): the PyPI components, their hashes and dependency graph."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from depvet.inputs._common import (
    Fields,
    ParentIndex,
    checked_sha256,
    display_name,
    filename_of,
    load_json_object,
    shorten,
    unique,
)
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind, Unpinned

# JSON CycloneDX starts at 1.2; 1.0 and 1.1 were XML only.
KNOWN_SPEC_VERSIONS = ("1.2", "1.3", "1.4", "1.5", "1.6")
_DISTRIBUTION_REFS = ("distribution", "distribution-intake")


@dataclass(frozen=True, slots=True)
class Purl:
    name: str
    version: str | None
    qualifiers: dict[str, str]


def parse_cyclonedx(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = Fields(load_json_object(text, display), display)
    _check_format(top)
    components = list(_components(top.tables("components", "component")))
    parents = _graph(top, components)
    packages: list[LockedPackage] = []
    unpinned: list[Unpinned] = []
    skipped = 0
    for component in components:
        purl_text = component.text("purl")
        if purl_text is None or not _is_pypi(purl_text):
            skipped += 1
            continue
        purl = parse_purl(purl_text, component.where)
        version = purl.version or component.text("version")
        if version is None:
            unpinned.append(Unpinned(text=shorten(purl_text), reason="no version", line=None))
            continue
        packages.append(_package(component, purl, version, parents))
    notes = [f"{display}: skipped {skipped} component(s) that are not PyPI packages"] if skipped else []
    return ParsedInput(
        path=str(path),
        kind=InputKind.CYCLONEDX,
        packages=tuple(packages),
        unpinned=tuple(unpinned),
        index_urls=unique(p.index_url for p in packages if p.index_url),
        extra_index_urls=(),
        notes=tuple(notes),
    )


def _check_format(top: Fields) -> None:
    bom_format = top.text("bomFormat")
    if bom_format != "CycloneDX":
        problem = "missing key 'bomFormat'" if bom_format is None else f"bomFormat is '{shorten(bom_format)}'"
        raise top.error(f"not a CycloneDX BOM ({problem})")
    spec = top.required_text("specVersion")
    if spec not in KNOWN_SPEC_VERSIONS:
        known = f"{KNOWN_SPEC_VERSIONS[0]}-{KNOWN_SPEC_VERSIONS[-1]}"
        raise top.error(f"spec version {shorten(spec)} is not supported (known: {known})")


def _components(level: list[Fields]) -> Iterator[Fields]:
    """Every component, nested ones (an assembly's parts) after their parent."""
    for component in level:
        yield component
        yield from _components(component.tables("components", "component"))


def _is_pypi(purl: str) -> bool:
    # The purl scheme and type are case-insensitive; "pkg:/pypi" (slashes after the scheme) is allowed.
    scheme, _, rest = purl.partition(":")
    return scheme.lower() == "pkg" and rest.lstrip("/").lower().startswith("pypi/")


def parse_purl(purl: str, where: str) -> Purl:
    """Name, version and qualifiers of a ``pkg:pypi/name@version?key=value#subpath`` purl."""
    rest = purl.partition(":")[2].lstrip("/").partition("#")[0]
    rest, _, query = rest.partition("?")
    path = rest.partition("/")[2].strip("/")
    name, _, version = path.rpartition("@") if "@" in path else (path, "", "")
    name = urllib.parse.unquote(name.rsplit("/", 1)[-1])
    if not name:
        raise Fields({}, where).error(f"purl '{shorten(purl)}' has no package name")
    qualifiers = {}
    for pair in filter(None, query.split("&")):
        key, _, value = pair.partition("=")
        qualifiers[key.lower()] = urllib.parse.unquote(value)
    return Purl(name, urllib.parse.unquote(version) or None, qualifiers)


def _package(component: Fields, purl: Purl, version: str, parents: ParentIndex) -> LockedPackage:
    name = component.text("name") or purl.name
    vcs_url = purl.qualifiers.get("vcs_url")
    download_url = purl.qualifiers.get("download_url")
    files = _files(component, purl)
    if vcs_url:
        kind, index_url = SourceKind.VCS, None
        files = files or (PinnedFile(filename=None, url=vcs_url, sha256=None),)
    elif download_url:
        kind, index_url = SourceKind.URL, None
    else:
        kind, index_url = SourceKind.REGISTRY, purl.qualifiers.get("repository_url")
    return LockedPackage(
        name=name,
        version=version,
        files=files,
        index_url=index_url,
        source=kind,
        parents=parents.of(name),
        line=None,
        markers=None,
    )


def _files(component: Fields, purl: Purl) -> tuple[PinnedFile, ...]:
    files = []
    # Component-level hashes are of the file the purl's qualifiers name, when they name one.
    download_url = purl.qualifiers.get("download_url")
    filename = purl.qualifiers.get("file_name") or (filename_of(download_url) if download_url else None)
    for sha in _sha256s(component):
        files.append(PinnedFile(filename=filename, url=download_url, sha256=sha))
    if not files and download_url:
        files.append(PinnedFile(filename=filename, url=download_url, sha256=None))
    # cyclonedx-py lists each wheel and sdist as a "distribution" reference with its hashes.
    for reference in component.tables("externalReferences", "external reference"):
        url = reference.text("url")
        if reference.text("type") not in _DISTRIBUTION_REFS or not url:
            continue
        shas = _sha256s(reference) or [None]
        files.extend(PinnedFile(filename=filename_of(url), url=url, sha256=sha) for sha in shas)
    return tuple(files)


def _sha256s(table: Fields) -> list[str | None]:
    return [
        checked_sha256(entry.required_text("content"), entry.where)
        for entry in table.tables("hashes", "hash")
        if entry.required_text("alg").upper() == "SHA-256"
    ]


def _graph(top: Fields, components: list[Fields]) -> ParentIndex:
    names: dict[str, str] = {}
    metadata = top.table("metadata")
    root = metadata.table("component") if metadata else None
    for component in [root, *components] if root else components:
        ref = component.text("bom-ref")
        name = component.text("name")
        if ref and name:
            names[ref] = name
    parents = ParentIndex()
    for dependency in top.tables("dependencies", "dependency"):
        parent = names.get(dependency.required_text("ref"))
        for child_ref in dependency.texts("dependsOn"):
            child = names.get(child_ref)
            if parent and child:
                parents.add(child, parent)
    return parents
