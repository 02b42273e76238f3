"""What a lockfile or requirements file pins: plain data, the same for every input format."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from packaging.utils import NormalizedName, canonicalize_name


class InputKind(enum.StrEnum):
    """The formats depvet reads; the values are what ``--input-type`` accepts."""

    REQUIREMENTS = "requirements"
    PYLOCK = "pylock"
    UV_LOCK = "uv-lock"
    POETRY_LOCK = "poetry-lock"
    PIPFILE_LOCK = "pipfile-lock"
    CYCLONEDX = "cyclonedx"
    PYPROJECT = "pyproject"  # no lock: resolved with pip, wheels only


class SourceKind(enum.StrEnum):
    """Where a locked package's code comes from; only ``registry`` is fetched from an index."""

    REGISTRY = "registry"
    URL = "url"  # a direct link to one archive
    VCS = "vcs"
    DIRECTORY = "directory"  # a local source tree, installed as a copy
    EDITABLE = "editable"  # a local source tree, installed in development mode
    PATH = "path"  # a local archive file


@dataclass(frozen=True, slots=True)
class PinnedFile:
    """One artifact (wheel or sdist) the input names, or the one location of a non-registry source.

    ``url`` is an http(s) or ``file:`` URL, a VCS URL (``git+https://…@<commit>``) or a local
    path exactly as the input writes it. ``sha256`` is lower-case hex, or None when the input
    gives no SHA-256 for it (other algorithms are not kept). ``upload_time`` is when the index
    received the file, where the lock records it (uv.lock, pylock.toml), timezone-aware.
    """

    filename: str | None
    url: str | None
    sha256: str | None
    upload_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class LockedPackage:
    """One release the input pins.

    ``index_url`` is None when the input does not say (the default index). ``parents`` are the
    names, as written, of packages that depend on this one where the input records the graph.
    ``line`` is 1-based in the top-level input, None when unknown or when the entry comes from
    an included file.
    """

    name: str
    version: str | None
    files: tuple[PinnedFile, ...]
    index_url: str | None
    source: SourceKind
    parents: tuple[str, ...]
    line: int | None
    markers: str | None

    @property
    def normalized_name(self) -> NormalizedName:
        return canonicalize_name(self.name)


@dataclass(frozen=True, slots=True)
class Unpinned:
    """A requirement that does not name one release; reported to the user, never dropped.

    ``text`` is the requirement as written, with any password in a URL replaced by ``***``.
    """

    text: str
    reason: str
    line: int | None


@dataclass(frozen=True, slots=True)
class ParsedInput:
    path: str
    kind: InputKind
    packages: tuple[LockedPackage, ...]
    unpinned: tuple[Unpinned, ...]
    index_urls: tuple[str, ...]
    extra_index_urls: tuple[str, ...]
    notes: tuple[str, ...]
