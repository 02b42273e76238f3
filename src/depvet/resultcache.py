"""Scan results remembered in SQLite, keyed by artifact sha256 and the analysis code's version.

A scan is a pure function of the artifact's bytes and depvet's analysis code, so a result is
reused exactly when both are the same. The "ruleset version" is a digest of the analysis and
artifact-reading sources themselves: any change to a detector, a limit or the reader makes
every earlier result stale, with no number for anyone to forget to bump.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import asdict, replace
from functools import cache
from pathlib import Path
from typing import Any

from depvet import __version__
from depvet.errors import DepvetError
from depvet.model import Category, Finding, RunContext, ScanResult, Severity, Verdict

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
    sha256 TEXT NOT NULL,
    ruleset TEXT NOT NULL,
    result TEXT NOT NULL,
    stored_at REAL NOT NULL,
    PRIMARY KEY (sha256, ruleset)
);
"""


class CacheError(DepvetError):
    """The results database cannot be opened or written."""


@cache
def ruleset_version() -> str:
    """A digest of depvet's version and the source of everything that decides a result."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(__version__.encode())
    for folder in ("analysis", "artifacts"):
        for source in sorted((root / folder).rglob("*.py")):
            digest.update(source.relative_to(root).as_posix().encode())
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


class ResultCache:
    """``get``/``put`` of results by artifact sha256; safe to share between processes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30.0, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)
            self._check_schema()
        except sqlite3.Error as exc:
            raise CacheError(f"cannot open the results cache {path}: {exc}") from exc

    def _check_schema(self) -> None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            # Results are reproducible: an unknown layout is dropped, not migrated.
            self._db.executescript("DROP TABLE results;" + _SCHEMA)
            self._db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, sha256: str, target: str) -> ScanResult | None:
        """The stored result for these bytes, reported under ``target``; None when not stored."""
        with self._errors("read"):
            row = self._db.execute(
                "SELECT result FROM results WHERE sha256 = ? AND ruleset = ?", (sha256, ruleset_version())
            ).fetchone()
        if row is None:
            return None
        try:
            return replace(_result_from_json(json.loads(row[0])), target=target)
        except (ValueError, KeyError, TypeError):
            return None  # a damaged row is a cache miss, never a wrong answer

    def put(self, result: ScanResult) -> None:
        # An error may be the machine's (out of memory, a timeout) rather than the artifact's.
        if result.sha256 is None or result.verdict is Verdict.ERROR:
            return
        with self._errors("write"):
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?)",
                (result.sha256, ruleset_version(), json.dumps(asdict(result)), time.time()),
            )

    def count(self) -> tuple[int, int]:
        """(results for the current analysis code, all results)."""
        with self._errors("read"):
            current = self._db.execute(
                "SELECT COUNT(*) FROM results WHERE ruleset = ?", (ruleset_version(),)
            ).fetchone()[0]
            total = self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        return int(current), int(total)

    def clear(self) -> int:
        with self._errors("clear"):
            removed = self._db.execute("DELETE FROM results").rowcount
            self._db.execute("VACUUM")
        return int(removed)

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise CacheError(f"cannot {action} the results cache {self.path}: {exc}") from exc


def _result_from_json(data: dict[str, Any]) -> ScanResult:
    findings = tuple(
        Finding(
            rule_id=f["rule_id"],
            severity=Severity(f["severity"]),
            category=Category(f["category"]),
            title=f["title"],
            path=f["path"],
            line=f["line"],
            evidence=f["evidence"],
            context=RunContext(f["context"]),
            decoded=f["decoded"],
            base_severity=Severity(f["base_severity"]) if f["base_severity"] else None,
        )
        for f in data["findings"]
    )
    return ScanResult(
        target=data["target"],
        name=data["name"],
        version=data["version"],
        sha256=data["sha256"],
        verdict=Verdict(data["verdict"]),
        score=float(data["score"]),
        findings=findings,
        error=data["error"],
        reasons=tuple(data["reasons"]),
        files_scanned=int(data["files_scanned"]),
        seconds=float(data["seconds"]),
    )  # the origin is the caller's: the same bytes may be pinned by several inputs
