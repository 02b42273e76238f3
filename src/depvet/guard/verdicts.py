"""What the index firewall remembers in SQLite: scan verdicts and what it kept out.

Scan results go through ``ResultCache`` (keyed by artifact sha256 and the analysis code's
version, so an upgraded depvet rescans), in the same database file as the block log; the
upstream page cache (``upstream.py``) lives there too, in its own table. One file per proxy
makes ``--db PATH`` the only thing to back up or delete.

Used from the event loop's thread only; every statement is a short indexed lookup or write.
"""

from __future__ import annotations

import sqlite3
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from depvet.errors import DepvetError
from depvet.model import ScanResult, Verdict
from depvet.resultcache import CacheError, ResultCache

# Lookups remembered in memory: every file of every page listed asks, so this is bounded; a
# forgotten entry costs one indexed SQLite read.
MEMORY_ENTRIES = 200_000
# A failed scan is not stored (it may be the machine's fault), but it is not retried on every
# request either: a file that breaks the scanner would otherwise be rescanned by each client.
ERROR_RETRY_SECONDS = 300.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS proxy_blocks (
    project TEXT NOT NULL,
    version TEXT NOT NULL,
    filename TEXT NOT NULL,          -- '' when the whole release is kept out
    reasons TEXT NOT NULL,           -- BlockReason values, comma-separated
    sha256 TEXT,
    detail TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_seen REAL NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,  -- downloads answered 403
    PRIMARY KEY (project, version, filename, reasons)
);
CREATE INDEX IF NOT EXISTS proxy_blocks_last_seen ON proxy_blocks (last_seen);
"""


class ProxyDbError(DepvetError):
    """The proxy's database cannot be opened or written."""


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the proxy database in WAL mode (readers never wait for the writer)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        # A lost last write after a power cut costs a rescan, not a wrong answer.
        conn.execute("PRAGMA synchronous=NORMAL")
    except (sqlite3.Error, OSError) as exc:
        raise ProxyDbError(f"cannot open the proxy database {path}: {exc}") from None
    return conn


@dataclass(frozen=True, slots=True)
class BlockEntry:
    """One thing kept out: a whole release (``filename`` empty) or one file."""

    project: str
    version: str
    filename: str
    reasons: tuple[str, ...]
    detail: str
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class BlockRecord:
    entry: BlockEntry
    first_seen: float  # epoch seconds
    last_seen: float
    refused: int


@dataclass(frozen=True, slots=True)
class StoreCounts:
    verdicts: int  # scan results stored for the current analysis code
    blocked: int  # rows of the block log


class VerdictStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._results = ResultCache(path)
        except CacheError as exc:
            raise ProxyDbError(str(exc)) from None
        self._db = connect(path)
        with self._errors("create"):
            self._db.executescript(_SCHEMA)
        # sha256 -> result, or None for "not in the database when last asked" (only this process
        # scans into it, so a miss stays a miss until ``put``).
        self._memory: OrderedDict[str, ScanResult | None] = OrderedDict()
        self._failed: dict[str, tuple[ScanResult, float]] = {}

    def close(self) -> None:
        self._results.close()
        self._db.close()

    # -- verdicts ------------------------------------------------------------------------------

    def get(self, sha256: str) -> ScanResult | None:
        """The scan of these bytes, if any: stored, or a recent failure."""
        failed = self._failed.get(sha256)
        if failed is not None:
            if time.monotonic() - failed[1] < ERROR_RETRY_SECONDS:
                return failed[0]
            del self._failed[sha256]
        if sha256 in self._memory:
            self._memory.move_to_end(sha256)
            return self._memory[sha256]
        try:
            found = self._results.get(sha256, sha256)
        except CacheError as exc:
            raise ProxyDbError(str(exc)) from None
        self._remember(sha256, found)
        return found

    def _remember(self, sha256: str, result: ScanResult | None) -> None:
        self._memory[sha256] = result
        self._memory.move_to_end(sha256)
        if len(self._memory) > MEMORY_ENTRIES:
            self._memory.popitem(last=False)

    def put(self, sha256: str, result: ScanResult) -> None:
        if result.verdict is Verdict.ERROR:
            self._failed[sha256] = (result, time.monotonic())
            return
        try:
            self._results.put(result)
        except CacheError as exc:
            raise ProxyDbError(str(exc)) from None
        self._remember(sha256, result)

    # -- the block log -------------------------------------------------------------------------

    def record_block(self, entry: BlockEntry, *, refused: bool, when: float) -> None:
        with self._errors("write"):
            self._db.execute(
                """INSERT INTO proxy_blocks
                   (project, version, filename, reasons, sha256, detail, first_seen, last_seen, refused)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (project, version, filename, reasons) DO UPDATE SET
                   detail = excluded.detail, last_seen = excluded.last_seen,
                   sha256 = COALESCE(excluded.sha256, sha256), refused = refused + excluded.refused""",
                (
                    entry.project,
                    entry.version,
                    entry.filename,
                    ",".join(entry.reasons),
                    entry.sha256,
                    entry.detail,
                    when,
                    when,
                    1 if refused else 0,
                ),
            )

    def blocks(self, limit: int = 200) -> list[BlockRecord]:
        """The newest first (by when last seen)."""
        return self._select("1", (), limit)

    def latest_block(self, project: str, version: str, filename: str) -> BlockRecord | None:
        """The block last recorded for this file, or for its whole release."""
        found = self._select(
            "project = ? AND version = ? AND filename IN (?, '')", (project, version, filename), 1
        )
        return found[0] if found else None

    def _select(self, where: str, values: tuple[str, ...], limit: int) -> list[BlockRecord]:
        with self._errors("read"):
            rows = self._db.execute(
                f"""SELECT project, version, filename, reasons, sha256, detail, first_seen, last_seen, refused
                    FROM proxy_blocks WHERE {where} ORDER BY last_seen DESC, rowid DESC LIMIT ?""",  # noqa: S608 - fixed clauses
                (*values, limit),
            ).fetchall()
        return [
            BlockRecord(
                BlockEntry(
                    row[0], row[1], row[2], tuple(row[3].split(",")) if row[3] else (), row[5], row[4]
                ),
                float(row[6]),
                float(row[7]),
                int(row[8]),
            )
            for row in rows
        ]

    def counts(self) -> StoreCounts:
        try:
            current, _ = self._results.count()
        except CacheError as exc:
            raise ProxyDbError(str(exc)) from None
        with self._errors("read"):
            blocked = self._db.execute("SELECT COUNT(*) FROM proxy_blocks").fetchone()[0]
        return StoreCounts(current, int(blocked))

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise ProxyDbError(f"cannot {action} the proxy database {self.path}: {exc}") from None
