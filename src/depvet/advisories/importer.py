"""``depvet db update``: OSV records from an export zip, a directory or a URL into the database.

Incremental: a record whose bytes hash as they did at the last import is not even parsed.
Atomic: the whole import is one transaction, so a corrupt archive, a dropped download or an
interrupt leaves the previous database exactly as it was. A record that is not valid OSV is
skipped and reported by name; it never aborts the others, and never passes unnoticed.
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import urllib.error
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from depvet.advisories.osv import Advisory, AdvisoryKind, OsvRecordError, parse_record
from depvet.advisories.store import AdvisoryStore
from depvet.errors import DepvetError, InputError

# Where OSV publishes every PyPI record as one zip (https://google.github.io/osv.dev/data/).
OSV_PYPI_EXPORT = "https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"

# An OSV record is a few kilobytes; the largest PyPI ones list thousands of versions.
MAX_RECORD_BYTES = 8 * 2**20
MAX_RECORDS = 2_000_000
MAX_DOWNLOAD_BYTES = 2 * 2**30
MAX_REPORTED_NEW = 20


class ImportFailed(DepvetError):
    """The source could not be read to the end; nothing was changed."""


@dataclass
class ImportReport:
    source: str
    records: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    newly_withdrawn: int = 0
    other_ecosystems: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (member, reason)
    new_malicious: list[Advisory] = field(default_factory=list)  # added or re-published MAL records


Records = Iterator[tuple[str, bytes]]  # (name within the source, the record's bytes)


def import_osv(
    store: AdvisoryStore,
    source: str,
    *,
    on_record: Callable[[int, int | None], None] | None = None,
) -> ImportReport:
    """Import every OSV record of ``source`` (a zip, a directory, a .json file or a URL)."""
    report = ImportReport(source)
    with _records(source) as (records, total):
        known = store.digests()
        seen = set(known.values())
        withdrawn_before = store.withdrawn_ids()
        with store.transaction():
            for member, data in records:
                report.records += 1
                if on_record is not None:
                    on_record(report.records, total)
                digest = hashlib.sha256(data).hexdigest()
                if digest in seen:
                    report.unchanged += 1  # the very bytes imported before: not even parsed
                    continue
                seen.add(digest)
                _import_one(store, member, data, digest, known, withdrawn_before, report)
            store.record_update(source)
    return report


def _import_one(
    store: AdvisoryStore,
    member: str,
    data: bytes,
    digest: str,
    known: dict[str, str],
    withdrawn_before: set[str],
    report: ImportReport,
) -> None:
    try:
        advisory = parse_record(data)
    except OsvRecordError as exc:
        report.unreadable.append((member, str(exc)))
        return
    if advisory is None:
        report.other_ecosystems += 1
        return
    previous = known.get(advisory.id)
    store.put(advisory, digest)
    known[advisory.id] = digest
    if previous is None:
        report.added += 1
    else:
        report.updated += 1
    if advisory.withdrawn and advisory.id not in withdrawn_before:
        report.newly_withdrawn += 1
    elif (
        advisory.kind is AdvisoryKind.MALICIOUS
        and not advisory.withdrawn
        and previous is None
        and len(report.new_malicious) < MAX_REPORTED_NEW
    ):
        report.new_malicious.append(advisory)


@contextlib.contextmanager
def _records(source: str) -> Iterator[tuple[Records, int | None]]:
    scheme = urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        with _downloaded(source) as path, _zip_records(path, source) as found:
            yield found
        return
    path = Path(source[len("file://") :] if scheme == "file" else source).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        yield _file_records(files, path), len(files)
    elif path.is_file() and path.suffix.lower() == ".json":
        yield _file_records([path], path.parent), 1
    elif path.is_file():
        with _zip_records(path, source) as found:
            yield found
    else:
        raise InputError(f"{source}: no such file or directory")


def _file_records(files: list[Path], root: Path) -> Records:
    for file in files:
        name = file.relative_to(root).as_posix()
        try:
            if file.stat().st_size > MAX_RECORD_BYTES:
                raise ImportFailed(f"{file}: larger than {MAX_RECORD_BYTES // 2**20} MiB: not an OSV record")
            yield name, file.read_bytes()
        except OSError as exc:
            raise ImportFailed(f"{file}: cannot read: {exc.strerror}") from None


@contextlib.contextmanager
def _zip_records(path: Path, shown: str) -> Iterator[tuple[Records, int | None]]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ImportFailed(f"{shown}: not a readable zip archive ({exc}): nothing changed") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and m.filename.endswith(".json")]
        if len(members) > MAX_RECORDS:
            raise ImportFailed(f"{shown}: {len(members)} members, more than {MAX_RECORDS}: refused")
        yield _members(archive, members, shown), len(members)


def _members(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], shown: str) -> Records:
    for member in members:
        if member.file_size > MAX_RECORD_BYTES:
            raise ImportFailed(f"{shown}: {member.filename} claims {member.file_size} bytes: refused")
        try:
            with archive.open(member) as handle:
                # Read one byte past the limit: a member that lies about its size is caught.
                data = handle.read(MAX_RECORD_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise ImportFailed(f"{shown}: {member.filename}: {exc}: nothing changed") from None
        except Exception as exc:  # zlib.error and friends from a corrupt member
            raise ImportFailed(f"{shown}: {member.filename}: corrupt ({exc}): nothing changed") from None
        if len(data) > MAX_RECORD_BYTES:
            raise ImportFailed(f"{shown}: {member.filename} inflates past its size: refused")
        yield member.filename, data


@contextlib.contextmanager
def _downloaded(url: str) -> Iterator[Path]:
    from depvet.artifacts.simpleindex import build_opener, network_reason, open_url, redact_url

    shown = redact_url(url)
    with tempfile.TemporaryDirectory(prefix="depvet-osv-") as tmp:
        target = Path(tmp) / "export.zip"
        try:
            response = open_url(build_opener(), url, timeout=60.0, user_agent="depvet")
            try:
                with target.open("wb") as out:
                    copied = _copy_limited(response.read, out.write)
            finally:
                response.close()
        except urllib.error.HTTPError as exc:
            raise ImportFailed(f"{shown}: HTTP {exc.code}: nothing changed") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ImportFailed(f"{shown}: {network_reason(exc)}: nothing changed") from None
        if copied == 0:
            raise ImportFailed(f"{shown}: empty response: nothing changed")
        yield target


def _copy_limited(read: Callable[[int], bytes], write: Callable[[bytes], object]) -> int:
    copied = 0
    while chunk := read(1 << 20):
        copied += len(chunk)
        if copied > MAX_DOWNLOAD_BYTES:
            raise ImportFailed(f"download larger than {MAX_DOWNLOAD_BYTES // 2**30} GiB: refused")
        write(chunk)
    return copied
