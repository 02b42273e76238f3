"""Downloaded artifacts, stored by sha256 so a verified file is fetched once.

Layout: ``<root>/artifacts/<sha256[:2]>/<sha256>/<filename>``. A file reaches that place only by an
atomic rename after its hash was computed, so whatever ``get`` finds is complete and has that hash.
Staging files live in ``<root>/tmp``. The filename comes from an index and is untrusted: it is cleaned
into a single harmless path component before it touches the file system.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from depvet.errors import ArtifactError

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# Path separators, control characters and what Windows forbids in a name.
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)
# Room for the name in a 255-byte file system limit.
_MAX_NAME_BYTES = 200
_STAGING_PREFIX = ".staging-"


def normalize_sha256(value: str) -> str:
    """``value`` as 64 lowercase hex digits (a ``sha256:`` or ``sha256=`` prefix is dropped)."""
    digest = value.strip().lower()
    for prefix in ("sha256:", "sha256="):
        digest = digest.removeprefix(prefix)
    if not _SHA256_HEX.fullmatch(digest):
        raise ValueError(f"not a sha256 digest: {value[:80]!r}")
    return digest


def safe_filename(name: str) -> str:
    """``name`` as one harmless path component: no separators, no ``..``, no leading dot, no device name."""
    cleaned = _UNSAFE_CHARS.sub("_", name).strip().rstrip(". ")
    if cleaned.startswith("."):
        cleaned = "_" + cleaned[1:]
    if not cleaned:
        cleaned = "artifact"
    if cleaned.split(".")[0].upper() in _WINDOWS_DEVICES:
        cleaned = "_" + cleaned
    encoded = cleaned.encode("utf-8")
    if len(encoded) > _MAX_NAME_BYTES:
        # Keep the end, whose suffix says wheel or sdist; "ignore" drops a character cut in half.
        half = _MAX_NAME_BYTES // 2
        cleaned = (
            f"{encoded[: half - 1].decode('utf-8', 'ignore')}_{encoded[-half:].decode('utf-8', 'ignore')}"
        )
    return cleaned


class ArtifactCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def artifacts_dir(self) -> Path:
        return self.root / "artifacts"

    @property
    def staging_dir(self) -> Path:
        return self.root / "tmp"

    def path_for(self, sha256: str, filename: str) -> Path:
        """Where an artifact with this hash and name is (or would be) stored."""
        digest = normalize_sha256(sha256)
        directory = self.artifacts_dir / digest[:2] / digest
        path = directory / safe_filename(filename)
        if path.parent != directory:  # safe_filename makes this impossible; the check keeps it so
            raise ArtifactError(f"unsafe artifact file name {filename[:80]!r}")
        return path

    def get(self, sha256: str, filename: str) -> Path | None:
        """The stored artifact, or None. Not re-verified: files are stored only after verification."""
        path = self.path_for(sha256, filename)
        return path if path.is_file() else None

    def temp_path(self) -> Path:
        """A new empty file in the staging directory, on the cache's file system; the caller owns it."""
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.staging_dir, prefix="partial-")
        os.close(fd)
        return Path(name)

    def store(self, temp_path: Path, sha256: str, filename: str) -> Path:
        """Move the complete, verified ``temp_path`` into place atomically; returns the stored path."""
        final = self.path_for(sha256, filename)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            temp_path.replace(final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self._copy_in(temp_path, final)
        return final

    def size_bytes(self) -> int:
        return sum(size for _, size in self._artifact_files())

    def count(self) -> int:
        return sum(1 for _ in self._artifact_files())

    def clear(self) -> None:
        """Remove every stored and staged artifact; nothing else under ``root`` is touched."""
        for directory in (self.artifacts_dir, self.staging_dir):
            if directory.is_dir() and not directory.is_symlink():
                shutil.rmtree(directory)

    def _artifact_files(self) -> Iterator[tuple[Path, int]]:
        for path in self.artifacts_dir.glob("*/*/*"):
            if path.name.startswith(_STAGING_PREFIX):
                continue
            try:
                info = path.lstat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                yield path, info.st_size

    def _copy_in(self, temp_path: Path, final: Path) -> None:
        # ``temp_path`` is on another file system: copy next to the target so the last step is a rename.
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=_STAGING_PREFIX)
        os.close(fd)
        staged = Path(name)
        try:
            shutil.copyfile(temp_path, staged)
            staged.replace(final)
        finally:
            staged.unlink(missing_ok=True)
        temp_path.unlink(missing_ok=True)
