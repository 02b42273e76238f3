"""One release read into memory for comparison: its files keyed so both releases line up.

A wheel's ``name-1.0.dist-info/`` and an sdist's ``name-1.0/`` differ between any two releases;
keys drop the version so ``METADATA`` of 1.0 is compared with ``METADATA`` of 1.1.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from depvet.analysis.files import decode_text
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.artifacts.targets import ArtifactRef, open_artifact
from depvet.errors import ArtifactError
from depvet.model import ArtifactKind, FileEntry, ReadIssue

_WHEEL_META_DIR = re.compile(r"^[^/!]+-[^/!]+\.(dist-info|data)/")


@dataclass(frozen=True, slots=True)
class ReleaseFiles:
    ref: ArtifactRef
    name: str | None  # from the file name; the metadata may say better
    version: str | None
    sha256: str | None
    entries: dict[str, FileEntry]  # key -> entry
    names: tuple[str, ...]  # member paths as the archive lists them
    issues: tuple[ReadIssue, ...]
    decoded: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def path_of(self, key: str) -> str:
        return self.entries[key].path

    def without_texts(self) -> ReleaseFiles:
        """The release without its decoded texts, to send to another process."""
        return replace(self, decoded={})

    def text(self, key: str) -> str:
        """The file's text, decoded once: several parts of a diff read the same changed files."""
        text = self.decoded.get(key)
        if text is None:
            text = self.decoded[key] = decode_text(self.entries[key].data)
        return text

    @property
    def core_metadata(self) -> FileEntry | None:
        """The wheel's ``METADATA`` or the sdist's ``PKG-INFO``."""
        return self.entries.get(".dist-info/METADATA") or self.entries.get("PKG-INFO")


def read_release(ref: ArtifactRef, limits: Limits = DEFAULT_LIMITS) -> ReleaseFiles:
    """Every file of the artifact, in memory, keyed by :func:`file_key`. Raises ``ArtifactError``."""
    opened = open_artifact(ref, limits)
    entries = list(opened.entries)
    if not entries:
        raise ArtifactError(f"{ref.target}: holds no files to compare")
    root = _common_root(entries) if ref.kind is ArtifactKind.SDIST else None
    keyed: dict[str, FileEntry] = {}
    for entry in entries:
        keyed.setdefault(file_key(entry.path, ref.kind, root), entry)
    return ReleaseFiles(
        ref,
        opened.filename_name,
        opened.filename_version,
        opened.sha256,
        keyed,
        tuple(opened.names or (e.path for e in entries)),
        tuple(opened.reader.budget.issues),
    )


def file_key(path: str, kind: ArtifactKind, root: str | None) -> str:
    if root is not None and path.startswith(root):
        return path[len(root) :]
    if kind is ArtifactKind.WHEEL:
        return _WHEEL_META_DIR.sub(lambda m: f".{m.group(1)}/", path, count=1)
    return path


def _common_root(entries: list[FileEntry]) -> str | None:
    """``name-1.0/``, the folder every member of an sdist sits in, when there is one."""
    first = entries[0].path.split("/", 1)[0] + "/"
    return first if all(e.path.startswith(first) for e in entries) else None
