"""The advisory database: one SQLite file under the user data directory.

The schema version is SQLite's ``user_version``; :data:`MIGRATIONS` takes a file from any
older version to the current one, inside the transaction that opens it. A database written
by a newer depvet is refused rather than guessed at. Writers hold one transaction for a whole
import, so a reader sees the old data or the new, never half of an import.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from depvet.advisories.osv import Advisory, AdvisoryKind, Affected, RangeEvent
from depvet.advisories.versions import canonical
from depvet.errors import DepvetError
from depvet.model import Severity
from depvet.userdirs import user_data_dir

DB_NAME = "advisories.sqlite3"

MIGRATIONS: tuple[str, ...] = (
    # 0 -> 1
    """
    CREATE TABLE advisory (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        modified TEXT NOT NULL,
        published TEXT,
        withdrawn TEXT,
        aliases TEXT NOT NULL,
        summary TEXT NOT NULL,
        url TEXT NOT NULL,
        severity TEXT,
        digest TEXT NOT NULL
    );
    CREATE TABLE affected (
        id INTEGER PRIMARY KEY,
        advisory_id TEXT NOT NULL REFERENCES advisory(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        ranges TEXT NOT NULL
    );
    CREATE INDEX affected_name ON affected(name);
    CREATE INDEX affected_advisory ON affected(advisory_id);
    -- Explicit versions, canonical: records list hundreds, a lookup wants one. The key is
    -- the lookup itself (no rowid, no second index), which keeps the file small.
    CREATE TABLE affected_version (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        affected_id INTEGER NOT NULL,
        PRIMARY KEY (name, version, affected_id)
    ) WITHOUT ROWID;
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class AdvisoryDbError(DepvetError):
    """The database cannot be opened or read."""


def default_db_path() -> Path:
    return user_data_dir() / DB_NAME


STALE_AFTER = timedelta(days=7)


@contextlib.contextmanager
def readonly_store(note: Callable[[str], None] | None = None) -> Iterator[AdvisoryStore | None]:
    """The database, read-only; None (curated releases only) until the first ``db update``.

    ``note`` hears when there is no database yet or it is more than a week old.
    """
    with AdvisoryStore(default_db_path(), readonly=True) as store:
        if note is not None:
            last_update, _ = store.last_update()
            if not store.exists:
                note(
                    "no advisory database yet: only the curated tainted releases were matched "
                    "(run 'depvet db update' for the OSV records)"
                )
            elif last_update and datetime.now(UTC) - last_update > STALE_AFTER:
                note(f"the advisory database was last updated {last_update:%Y-%m-%d}: run 'depvet db update'")
        yield store if store.exists else None


@dataclass(frozen=True, slots=True)
class StoredAffected:
    """A row of ``affected`` with its advisory: what matching reads."""

    advisory: Advisory
    affected: Affected
    canonical_versions: frozenset[str]


@dataclass(frozen=True, slots=True)
class DbInfo:
    path: Path
    exists: bool
    malicious: int
    vulnerabilities: int
    withdrawn: int
    packages: int
    last_update: datetime | None
    last_source: str | None
    newest_record: str | None


class AdvisoryStore:
    """Open with ``with AdvisoryStore(path) as store:``; ``readonly`` never creates the file."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self._conn: sqlite3.Connection | None = None

    def __enter__(self) -> AdvisoryStore:
        self._conn = self._open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def exists(self) -> bool:
        return self._conn is not None

    def _open(self) -> sqlite3.Connection | None:
        if self.readonly and not self.path.is_file():
            return None
        try:
            if self.readonly:
                conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path)
            conn.isolation_level = None  # transactions are explicit: one per import
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.close()
                raise AdvisoryDbError(
                    f"{self.path}: written by a newer depvet (schema {version}, this one reads "
                    f"{SCHEMA_VERSION}): upgrade depvet or remove the file"
                )
            if version < SCHEMA_VERSION:
                if self.readonly:
                    conn.close()
                    return None if version == 0 else self._reopen_migrated()
                self._migrate(conn, version)
            conn.execute("PRAGMA foreign_keys = ON")
            return conn
        except sqlite3.DatabaseError as exc:
            raise AdvisoryDbError(f"{self.path}: not a usable advisory database ({exc})") from None

    def _reopen_migrated(self) -> sqlite3.Connection | None:
        with AdvisoryStore(self.path):
            pass
        return AdvisoryStore(self.path, readonly=True)._open()

    @staticmethod
    def _migrate(conn: sqlite3.Connection, version: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while this one waited for the lock.
            current = conn.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[max(version, current) :]:
                for statement in step.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise AdvisoryDbError(f"{self.path}: not open")
        return self._conn

    # -- reading -------------------------------------------------------------------------

    def affecting(
        self, releases: Iterable[tuple[str, str]], *, vulnerabilities: bool
    ) -> dict[str, list[StoredAffected]]:
        """The non-withdrawn advisory rows that may affect these (normalised name, version) pairs.

        A row comes back when it has ranges (evaluated by the caller) or lists one of the
        versions asked about; its ``canonical_versions`` are only the listed versions asked about.
        """
        wanted = sorted({(name, key) for name, version in releases for key in _lookup_keys(version)})
        found: dict[str, list[StoredAffected]] = {}
        if self._conn is None or not wanted:
            return found
        conn = self._conn
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted (name TEXT, version TEXT)")
        conn.execute("DELETE FROM temp.wanted")
        conn.executemany("INSERT INTO temp.wanted VALUES (?, ?)", wanted)
        listed: dict[int, set[str]] = {}
        for affected_id, version in conn.execute(
            """
            SELECT v.affected_id, v.version FROM temp.wanted w
            JOIN affected_version v ON v.name = w.name AND v.version = w.version
            """
        ):
            listed.setdefault(affected_id, set()).add(version)
        # NULL never equals a kind: without vulnerabilities the second slot matches nothing.
        kinds = (AdvisoryKind.MALICIOUS.value, AdvisoryKind.VULNERABILITY.value if vulnerabilities else None)
        rows = conn.execute(
            """
            SELECT f.id, f.name, f.ranges, a.id, a.kind, a.modified, a.published,
                   a.aliases, a.summary, a.url, a.severity
            FROM (SELECT DISTINCT name FROM temp.wanted) w JOIN affected f ON f.name = w.name
            JOIN advisory a ON a.id = f.advisory_id
            WHERE a.withdrawn IS NULL AND a.kind IN (?, ?)
            """,
            kinds,
        )
        for affected_id, name, ranges, *head in rows:
            versions = listed.get(affected_id, set())
            if ranges == "[]" and not versions:
                continue
            affected = Affected(name, tuple(sorted(versions)), _ranges_from_json(ranges))
            found.setdefault(name, []).append(
                StoredAffected(_advisory_from_row(head), affected, frozenset(versions))
            )
        return found

    def info(self) -> DbInfo:
        if self._conn is None:
            return DbInfo(self.path, False, 0, 0, 0, 0, None, None, None)
        counts = dict(
            self._conn.execute(
                "SELECT kind, count(*) FROM advisory WHERE withdrawn IS NULL GROUP BY kind"
            ).fetchall()
        )
        withdrawn = self._conn.execute(
            "SELECT count(*) FROM advisory WHERE withdrawn IS NOT NULL"
        ).fetchone()[0]
        packages = self._conn.execute("SELECT count(DISTINCT name) FROM affected").fetchone()[0]
        newest = self._conn.execute("SELECT max(modified) FROM advisory").fetchone()[0]
        last_update, last_source = self.last_update()
        return DbInfo(
            path=self.path,
            exists=True,
            malicious=counts.get(AdvisoryKind.MALICIOUS.value, 0),
            vulnerabilities=counts.get(AdvisoryKind.VULNERABILITY.value, 0),
            withdrawn=withdrawn,
            packages=packages,
            last_update=last_update,
            last_source=last_source,
            newest_record=newest,
        )

    def last_update(self) -> tuple[datetime | None, str | None]:
        """When the last import finished, and from where; one small read, for every check."""
        if self._conn is None:
            return None, None
        meta = dict(self._conn.execute("SELECT key, value FROM meta").fetchall())
        updated = meta.get("last_update")
        return (datetime.fromisoformat(updated) if updated else None), meta.get("last_source")

    def withdrawn_ids(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT id FROM advisory WHERE withdrawn IS NOT NULL")}

    def digests(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT id, digest FROM advisory").fetchall())

    # -- writing (inside :meth:`transaction`) ----------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def put(self, advisory: Advisory, digest: str) -> None:
        conn = self.conn
        # affected_version has no index by owner: delete through each old row's name (its key prefix).
        conn.execute(
            """
            DELETE FROM affected_version
            WHERE (name, affected_id) IN (SELECT name, id FROM affected WHERE advisory_id = ?)
            """,
            (advisory.id,),
        )
        conn.execute("DELETE FROM affected WHERE advisory_id = ?", (advisory.id,))
        conn.execute(
            """
            INSERT OR REPLACE INTO advisory
                (id, kind, modified, published, withdrawn, aliases, summary, url, severity, digest)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            (
                advisory.id,
                advisory.kind.value,
                advisory.modified,
                advisory.published,
                advisory.withdrawn,
                json.dumps(advisory.aliases),
                advisory.summary,
                advisory.url,
                advisory.severity.value if advisory.severity else None,
                digest,
            ),
        )
        for affected in advisory.affected:
            cursor = conn.execute(
                "INSERT INTO affected (advisory_id, name, ranges) VALUES (?, ?, ?)",
                (
                    advisory.id,
                    affected.name,
                    json.dumps([[[kind.value, value] for kind, value in r] for r in affected.ranges]),
                ),
            )
            conn.executemany(
                "INSERT INTO affected_version (affected_id, name, version) VALUES (?, ?, ?)",
                (
                    (cursor.lastrowid, affected.name, v)
                    for v in sorted({canonical(v) for v in affected.versions})
                ),
            )

    def record_update(self, source: str, when: datetime | None = None) -> None:
        stamp = (when or datetime.now(UTC)).isoformat(timespec="seconds")
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            (("last_update", stamp), ("last_source", source)),
        )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; any exception, KeyboardInterrupt included, rolls back."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")


def _advisory_from_row(row: list[str | None]) -> Advisory:
    record_id, kind, modified, published, aliases, summary, url, severity = row
    if record_id is None or kind is None or modified is None:
        raise AdvisoryDbError("an advisory row lacks its id, kind or time")
    return Advisory(
        id=record_id,
        kind=AdvisoryKind(kind),
        modified=modified,
        published=published,
        withdrawn=None,
        aliases=tuple(json.loads(aliases or "[]")),
        summary=summary or "",
        url=url or "",
        severity=Severity(severity) if severity else None,
        affected=(),
    )


def _lookup_keys(version: str) -> tuple[str, ...]:
    """The canonical forms a listed version may have to match: the version, and for a local
    version (a rebuild) its public version too."""
    key = canonical(version)
    public = key.split("+", 1)[0]
    return (key, public) if public != key else (key,)


def _ranges_from_json(text: str) -> tuple[tuple[tuple[RangeEvent, str], ...], ...]:
    return tuple(tuple((RangeEvent(kind), value) for kind, value in r) for r in json.loads(text))
