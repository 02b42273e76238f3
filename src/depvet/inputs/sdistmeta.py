"""What an sdist says about itself, read from its PKG-INFO without building it.

Building an sdist runs its ``setup.py``; its PKG-INFO is plain text. From Metadata-Version 2.2
(PEP 643) a field not listed under ``Dynamic`` is the same in every wheel built from it, so
its ``Requires-Dist`` can stand in for the resolution a build would give. An older or dynamic
PKG-INFO is reported as such and its dependencies are not guessed.
"""

from __future__ import annotations

from email.parser import HeaderParser

from packaging.markers import UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.download import DownloadRequest, DownloadStatus, download_all
from depvet.artifacts.indexconfig import DEFAULT_INDEX_URL
from depvet.artifacts.simpleindex import IndexFile, SimpleIndexClient, release_of
from depvet.artifacts.targets import ArtifactRef, open_artifact
from depvet.errors import DepvetError, InputError
from depvet.inputs.model import LockedPackage, PinnedFile, SourceKind
from depvet.model import ArtifactKind
from depvet.userdirs import user_cache_dir

STATIC_FROM = Version("2.2")


def read_sdist_statically(
    requirement: Requirement, index_url: str | None, where: str
) -> tuple[LockedPackage, list[str], str]:
    """The newest sdist that satisfies ``requirement``: as a package to scan, the requirements
    its PKG-INFO declares statically, and a note saying what was done."""
    name = requirement.name
    try:
        files = SimpleIndexClient().project_files(index_url or DEFAULT_INDEX_URL, name)
    except DepvetError as exc:
        raise InputError(f"{where}: {name} has no wheel, and its sdist cannot be looked up: {exc}") from None
    chosen = _newest_sdist(files, requirement)
    if chosen is None:
        raise InputError(f"{where}: {requirement} has neither a wheel nor an sdist on the index")
    version, found = chosen
    (download,) = download_all(
        [DownloadRequest(found.url, found.filename, found.sha256, f"{name}=={version}")],
        ArtifactCache(user_cache_dir()),
    )
    if download.status not in (DownloadStatus.OK, DownloadStatus.CACHED) or download.path is None:
        raise InputError(
            f"{where}: {name} has no wheel, and its sdist could not be fetched: {download.message}"
        )
    metadata = _pkg_info(str(download.path))
    package = LockedPackage(
        name=name,
        version=str(version),
        files=(PinnedFile(found.filename, found.url, download.sha256),),
        index_url=index_url,
        source=SourceKind.REGISTRY,
        parents=(),
        line=None,
        markers=None,
    )
    requires, how = _static_requirements(metadata)
    note = f"{where}: {name} {version} has only an sdist (scanned, not built); {how}"
    return package, requires, note


def _newest_sdist(files: list[IndexFile], requirement: Requirement) -> tuple[Version, IndexFile] | None:
    best: tuple[Version, IndexFile] | None = None
    wanted = canonicalize_name(requirement.name)
    for found in files:
        release = (
            None if found.yanked or found.filename.lower().endswith(".whl") else release_of(found.filename)
        )
        if release is None or release[0] != wanted:
            continue
        version = release[1]
        if requirement.specifier.contains(version, prereleases=None) and (best is None or version > best[0]):
            best = (version, found)
    return best


def _pkg_info(path: str) -> dict[str, list[str]]:
    opened = open_artifact(ArtifactRef(path, path, ArtifactKind.SDIST))
    for entry in opened.entries:
        parts = entry.path.split("/")
        if len(parts) == 2 and parts[1] == "PKG-INFO":
            headers = HeaderParser().parsestr(entry.data.decode("utf-8", "replace"))
            return {key.lower(): [str(v) for v in headers.get_all(key, [])] for key in set(headers.keys())}
    return {}


def _static_requirements(metadata: dict[str, list[str]]) -> tuple[list[str], str]:
    if not metadata:
        return [], "it has no PKG-INFO: its dependencies are unknown and not resolved"
    version_text = (metadata.get("metadata-version") or ["0"])[0]
    try:
        version = Version(version_text)
    except ValueError:
        version = Version("0")
    dynamic = {field.lower() for field in metadata.get("dynamic", [])}
    if version < STATIC_FROM or "requires-dist" in dynamic:
        return [], (
            f"its PKG-INFO (Metadata-Version {version_text}) does not declare its dependencies "
            "statically: they are not resolved; a lock made where building is acceptable is better"
        )
    requires = [r for r in metadata.get("requires-dist", []) if _applies(r)]
    listed = ", ".join(requires) or "none"
    return requires, f"its PKG-INFO declares its dependencies statically ({listed}): resolved from that"


def _applies(text: str) -> bool:
    """A dependency for a plain install here: not behind an extra, markers true for this Python."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return False
    if requirement.marker is None:
        return True
    try:
        return requirement.marker.evaluate({"extra": ""})
    except UndefinedEnvironmentName:
        return False
