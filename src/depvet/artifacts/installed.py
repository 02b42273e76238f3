"""Installed environments: each ``*.dist-info`` is one distribution whose files its RECORD lists.

RECORD format: https://packaging.python.org/en/latest/specifications/recording-installed-packages/
(CSV rows ``path,hash,size``; hash is ``sha256=`` + urlsafe base64 without padding; the RECORD
itself and generated ``.pyc`` files may carry no hash).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from depvet.artifacts.archive import ArchiveReader
from depvet.artifacts.directory import SKIP_DIRS, read_file_bytes
from depvet.model import FileEntry, IssueKind, ReadIssue

# Files in site-packages that Python itself runs at start-up when present.
STARTUP_FILE_SUFFIXES = (".pth",)
STARTUP_FILE_NAMES = frozenset({"sitecustomize.py", "usercustomize.py"})


@dataclass(frozen=True, slots=True)
class RecordRow:
    path: str
    sha256: str | None  # hex digest, or None when RECORD gives no (sha256) hash
    size: int | None = None


def find_site_packages(root: Path) -> list[Path]:
    """The site-packages directories of a venv, or ``root`` itself if it is one."""
    if any(root.glob("*.dist-info")):
        return [root]
    if (root / "pyvenv.cfg").is_file() or (root / "bin" / "python").exists() or (root / "lib").is_dir():
        found = sorted(
            {
                p
                for pattern in (
                    "lib/python*/site-packages",
                    "lib64/python*/site-packages",
                    "Lib/site-packages",
                    "lib/python*/dist-packages",
                )
                for p in root.glob(pattern)
                if p.is_dir()
            }
        )
        return found
    return []


def is_environment(root: Path) -> bool:
    return root.is_dir() and bool(find_site_packages(root))


def parse_record(text: str) -> list[RecordRow]:
    rows: list[RecordRow] = []
    for fields in csv.reader(io.StringIO(text)):
        if not fields or not fields[0]:
            continue
        digest: str | None = None
        if len(fields) > 1 and fields[1].startswith("sha256="):
            encoded = fields[1][len("sha256=") :]
            try:
                digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).hex()
            except (ValueError, TypeError):
                digest = "invalid"
        size = int(fields[2]) if len(fields) > 2 and fields[2].isdigit() else None
        rows.append(RecordRow(fields[0], digest, size))
    return rows


def read_distribution(site: Path, dist_info: str, reader: ArchiveReader) -> Iterator[FileEntry]:
    """The files RECORD lists (hash-checked), plus files in the distribution's folders it omits."""
    record_path = site / dist_info / "RECORD"
    issues = reader.budget.issues
    try:
        rows = parse_record(record_path.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        issues.append(
            ReadIssue(
                IssueKind.LISTED_BUT_ABSENT,
                f"{dist_info}/RECORD",
                "no RECORD: files of this distribution cannot be listed or verified",
            )
        )
        rows = []
    env_root = site.parents[2] if len(site.parents) > 2 and site.parent.name.startswith("python") else site
    listed: set[str] = set()
    for row in rows:
        rel = row.path.replace("\\", "/")
        target = Path(os.path.normpath(site / rel))
        listed.add(os.path.normpath(rel))
        if not target.is_relative_to(env_root):
            issues.append(
                ReadIssue(IssueKind.PATH_TRAVERSAL, rel, "RECORD lists a path outside the environment")
            )
            continue
        if "__pycache__" in Path(rel).parts:
            continue
        if not target.exists():
            issues.append(ReadIssue(IssueKind.LISTED_BUT_ABSENT, rel, "listed in RECORD but not on disk"))
            continue
        data = read_file_bytes(target, rel, reader)
        if data is None:
            continue
        if row.sha256 and row.sha256 != hashlib.sha256(data).hexdigest():
            issues.append(
                ReadIssue(
                    IssueKind.HASH_MISMATCH,
                    rel,
                    "file differs from the hash its RECORD gives (modified after install)",
                )
            )
        yield from reader.emit_file(rel, data, 0)
    yield from _unlisted_files(site, dist_info, rows, listed, reader)


def _unlisted_files(
    site: Path, dist_info: str, rows: list[RecordRow], listed: set[str], reader: ArchiveReader
) -> Iterator[FileEntry]:
    owned_dirs = sorted(
        {
            parts[0]
            for parts in (Path(r.path.replace("\\", "/")).parts for r in rows)
            if len(parts) > 1 and parts[0] != ".." and not parts[0].endswith((".dist-info", ".data"))
        }
        | {dist_info}
    )
    for top in owned_dirs:
        base = site / top
        if not base.is_dir() or base.is_symlink():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for filename in sorted(filenames):
                full = Path(dirpath) / filename
                rel = full.relative_to(site).as_posix()
                if os.path.normpath(rel) in listed or filename.endswith((".pyc", ".pyo")):
                    continue
                if top == dist_info and filename in ("INSTALLER", "REQUESTED", "direct_url.json"):
                    continue  # written by the installer after RECORD
                reader.budget.issues.append(
                    ReadIssue(
                        IssueKind.MISSING_FROM_RECORD,
                        rel,
                        "file in the distribution's folder that RECORD does not list",
                    )
                )
                yield from _read(full, rel, reader)


def unowned_startup_files(site: Path, listed_anywhere: set[str]) -> list[str]:
    """``.pth``/``sitecustomize`` files in site-packages that no distribution's RECORD lists."""
    found: list[str] = []
    for entry in sorted(os.scandir(site), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False) and not entry.is_symlink():
            continue
        if (
            entry.name.endswith(STARTUP_FILE_SUFFIXES) or entry.name in STARTUP_FILE_NAMES
        ) and entry.name not in listed_anywhere:
            found.append(entry.name)
    return found


def all_recorded_paths(site: Path) -> set[str]:
    paths: set[str] = set()
    for dist_info in site.glob("*.dist-info"):
        try:
            text = (dist_info / "RECORD").read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        paths.update(os.path.normpath(r.path) for r in parse_record(text))
    return paths


def read_unowned(site: Path, names: list[str], reader: ArchiveReader) -> Iterator[FileEntry]:
    for name in names:
        reader.budget.issues.append(
            ReadIssue(
                IssueKind.MISSING_FROM_RECORD,
                name,
                "start-up file that no installed distribution's RECORD lists",
            )
        )
        yield from _read(site / name, name, reader)


def _read(path: Path, rel: str, reader: ArchiveReader) -> Iterator[FileEntry]:
    data = read_file_bytes(path, rel, reader)
    if data is not None:
        yield from reader.emit_file(rel, data, 0)
