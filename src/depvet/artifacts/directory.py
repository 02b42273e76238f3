"""Read an unpacked package directory without following links or opening special files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from depvet.artifacts.archive import ArchiveReader, describe_binary
from depvet.errors import ArtifactError
from depvet.model import FileEntry, IssueKind, ReadIssue

# Never part of a distribution; reading them only costs time.
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        "node_modules",
        ".venv",
    }
)


def read_directory(root: Path, reader: ArchiveReader) -> Iterator[FileEntry]:
    """Every regular file under ``root``; links and special files become issues."""
    stack = [root]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            reader.budget.issues.append(
                ReadIssue(
                    IssueKind.UNREADABLE_NESTED, _rel(root, Path(current)), f"cannot list: {exc.strerror}"
                )
            )
            continue
        subdirs: list[Path] = []
        for entry in entries:
            path = Path(entry.path)
            rel = _rel(root, path)
            if entry.is_symlink():
                reader.budget.issues.append(
                    ReadIssue(
                        IssueKind.SYMLINK, rel, f"symbolic link to {str(path.readlink())!r} (not followed)"
                    )
                )
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIP_DIRS:
                    subdirs.append(path)
                continue
            data = read_file_bytes(path, rel, reader)
            if data is not None:
                yield from reader.emit_file(rel, data, 0)
        stack.extend(reversed(subdirs))


def list_directory(root: Path) -> list[str]:
    """Relative paths of the regular files under ``root`` (links not followed)."""
    names: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
        base = Path(dirpath)
        names.extend(_rel(root, base / name) for name in filenames)
    return names


def read_file_bytes(path: Path, rel: str, reader: ArchiveReader) -> bytes | None:
    """One file from disk under the same limits as an archive member; None if not read."""
    try:
        info = path.lstat()
    except OSError as exc:
        reader.budget.issues.append(
            ReadIssue(IssueKind.LISTED_BUT_ABSENT, rel, f"cannot stat: {exc.strerror}")
        )
        return None
    if not stat.S_ISREG(info.st_mode):
        if stat.S_ISLNK(info.st_mode):
            reader.budget.issues.append(ReadIssue(IssueKind.SYMLINK, rel, "symbolic link (not followed)"))
        elif not stat.S_ISDIR(info.st_mode):
            reader.budget.issues.append(ReadIssue(IssueKind.DEVICE, rel, "device, socket or fifo (not read)"))
        return None
    reader.budget.count_member(rel)
    try:
        with path.open("rb") as handle:
            if info.st_size > reader.limits.max_member_bytes:
                head = handle.read(reader.limits.head_bytes)
                kind = describe_binary(head) or "data"
                reader.budget.issues.append(
                    ReadIssue(
                        IssueKind.SKIPPED_LARGE,
                        rel,
                        f"{info.st_size} bytes ({kind}), over the per-file limit: not analysed",
                    )
                )
                return None
            data = handle.read(reader.limits.max_member_bytes + 1)
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror}") from exc
    reader.budget.spend(len(data), rel)
    return data


def _rel(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
