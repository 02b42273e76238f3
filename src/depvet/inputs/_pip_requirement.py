"""One requirement of a requirements file: a pin of one release, or the reason it is not one."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

from depvet.errors import InputError
from depvet.inputs._common import checked_sha256, filename_of, redact, shorten
from depvet.inputs.model import LockedPackage, PinnedFile, SourceKind, Unpinned

VCS_PREFIXES = ("git+", "hg+", "svn+", "bzr+")
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")

URL_REASON = "not pinned to a release: URL requirement"
VCS_REASON = "VCS requirement"
PATH_REASON = "local path"
EDITABLE_REASON = "editable install"
NO_VERSION_REASON = "no version"


@dataclass(frozen=True, slots=True)
class RequirementLine:
    text: str  # the requirement, per-requirement options (--hash …) already taken off
    sha256s: tuple[str, ...]  # from --hash options
    where: str  # "file:line", for messages
    line: int | None  # what LockedPackage/Unpinned report
    parents: tuple[str, ...]


def classify(req: RequirementLine) -> LockedPackage | Unpinned:
    """What one requirement pins; a line pip would reject raises InputError."""
    text = req.text
    before_marker, semicolon, marker = text.partition(";")
    if semicolon and not marker.strip():
        text = before_marker.strip()  # pip drops an empty marker ("foo==1.0 ;")
    if is_url(text):
        # pip: after a URL, markers need whitespace before the ';' (a URL may contain ';').
        location, _, url_markers = text.partition("; ")
        return _url_requirement(None, location.strip(), url_markers.strip() or None, req)
    # pip: "name @ url" is a PEP 508 URL requirement unless the part before '@' is a path.
    before_at = text.split("@", 1)[0] if "@" in text else None
    if (before_at is None or looks_like_path(before_at.strip())) and looks_like_path(
        text.split(";", 1)[0].strip()
    ):
        return unpinned(req, PATH_REASON)
    try:
        parsed = Requirement(text)
    except InvalidRequirement:
        raise InputError(f"{req.where}: cannot parse '{shorten(text)}'") from None
    markers = str(parsed.marker) if parsed.marker else None
    if parsed.url:
        return _url_requirement(parsed.name, parsed.url, markers, req)
    return _specified(parsed, markers, req)


def is_url(text: str) -> bool:
    return bool(_URL.match(text)) or text.startswith(VCS_PREFIXES) or text.startswith("file:")


def looks_like_path(text: str) -> bool:
    """pip's test: a path separator, a leading dot, or an archive file name."""
    return "/" in text or "\\" in text or text.startswith(".") or text.lower().endswith(ARCHIVE_SUFFIXES)


def unpinned(req: RequirementLine, reason: str) -> Unpinned:
    return Unpinned(text=redact(req.text), reason=reason, line=req.line)


def _specified(parsed: Requirement, markers: str | None, req: RequirementLine) -> LockedPackage | Unpinned:
    if not parsed.specifier:
        return unpinned(req, NO_VERSION_REASON)
    if any(not spec.version for spec in parsed.specifier):
        # packaging's grammar lets "===" take an empty version; no release can match it.
        raise InputError(f"{req.where}: cannot parse '{shorten(req.text)}'")
    pins = [
        spec
        for spec in parsed.specifier
        if spec.operator in ("==", "===") and not spec.version.endswith(".*")
    ]
    if len(pins) != 1:
        return unpinned(req, f"version range {parsed.specifier}, not a pin")
    return LockedPackage(
        name=parsed.name,
        version=pins[0].version,
        files=tuple(PinnedFile(filename=None, url=None, sha256=sha) for sha in req.sha256s),
        index_url=None,
        source=SourceKind.REGISTRY,
        parents=req.parents,
        line=req.line,
        markers=markers,
    )


def _url_requirement(
    name: str | None, url: str, markers: str | None, req: RequirementLine
) -> LockedPackage | Unpinned:
    if url.startswith(VCS_PREFIXES):
        return unpinned(req, VCS_REASON)
    if not is_url(url) or url.startswith("file:"):  # "name @ ./dir" is a local path too
        return unpinned(req, PATH_REASON)
    base, _, fragment = url.partition("#")
    fields = urllib.parse.parse_qs(fragment)
    shas = [checked_sha256(value, req.where) for value in fields.get("sha256", [])]
    shas = list(dict.fromkeys([*shas, *req.sha256s]))
    filename = filename_of(base)
    from_file, version = _name_version(filename)
    name = name or from_file or next(iter(fields.get("egg", [])), None)
    # Without a hash the bytes behind a URL can change at any time: that is not a pin.
    if not shas or name is None:
        return unpinned(req, URL_REASON)
    return LockedPackage(
        name=name,
        version=version,
        files=tuple(PinnedFile(filename=filename, url=base, sha256=sha) for sha in shas),
        index_url=None,
        source=SourceKind.URL,
        parents=req.parents,
        line=req.line,
        markers=markers,
    )


def _name_version(filename: str | None) -> tuple[str | None, str | None]:
    """Project name and version from a wheel or sdist file name, when it is one."""
    if filename is None:
        return None, None
    try:
        if filename.endswith(".whl"):
            wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
            return wheel_name, str(wheel_version)
        sdist_name, sdist_version = parse_sdist_filename(filename)
        return sdist_name, str(sdist_version)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None, None
