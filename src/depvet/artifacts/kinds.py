"""Which file names are artifacts: kept apart from the readers so that telling costs no imports."""

from __future__ import annotations

from depvet.model import ArtifactKind

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".zip", ".tar")


def artifact_kind_of(name: str) -> ArtifactKind | None:
    """WHEEL or SDIST for a file name that is one (eggs are read like sdists); None otherwise."""
    lower = name.lower()
    if lower.endswith(".whl"):
        return ArtifactKind.WHEEL
    if lower.endswith((*SDIST_SUFFIXES, ".egg")):
        return ArtifactKind.SDIST
    return None
