"""The index behind the firewall: project pages (cached, kept for when it is down) and verified files.

Pages are asked for as PEP 691 JSON first and HTML second (``simpleindex.ACCEPT``) and parsed by
``simpleindex``. A page is reused for ``page_ttl`` seconds, then revalidated (``If-None-Match``);
every page fetched is also kept in SQLite, so a restarted proxy can still answer while the
upstream is down. Files are streamed into the ``ArtifactCache`` while hashed, and kept only when
the hash is the one the page listed.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from depvet import __version__
from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.download import DEFAULT_MAX_BYTES
from depvet.artifacts.simpleindex import (
    ACCEPT,
    HTML_CONTENT_TYPES,
    JSON_CONTENT_TYPE,
    MAX_PAGE_BYTES,
    IndexFile,
    SimpleIndexError,
    network_reason,
    parse_html_page,
    parse_json_page,
    redact_url,
    split_credentials,
)
from depvet.errors import DepvetError
from depvet.guard.singleflight import SingleFlight
from depvet.guard.verdicts import ProxyDbError, connect

log = logging.getLogger("depvet.proxy")

# Parsed pages kept in memory; the rest are a SQLite read away.
MEMORY_PAGES = 2048
# A METADATA file is a few kB to a few hundred (long descriptions); past this something is wrong.
MAX_METADATA_BYTES = 16 * 1024 * 1024


class UpstreamError(DepvetError):
    """The upstream could not give what was asked; ``str()`` is one line fit for a client."""


class UpstreamDown(UpstreamError):
    """Unreachable, timed out, or answering 5xx."""


class UpstreamNotFound(UpstreamError):
    """404 or 410: no such project or file."""


class UpstreamRefused(UpstreamError):
    """It answered, but not with something usable (401/403, not a simple page, too large)."""


class HashMismatch(UpstreamError):
    """The bytes of a file are not the ones its page listed."""


@dataclass(frozen=True, slots=True)
class UpstreamPage:
    project: str
    files: tuple[IndexFile, ...]
    fetched_at: float  # epoch seconds when the upstream last confirmed it
    stale: float | None = None  # seconds since then, when served because the upstream failed


@dataclass(slots=True)
class _Entry:
    files: tuple[IndexFile, ...]
    etag: str | None
    fetched_at: float
    failed_at: float | None = None  # monotonic time of the last failed refresh


class PageStore:
    """Upstream pages as they came (body, type, URL, ETag), in the proxy database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = connect(path)
        try:
            self._db.execute(
                """CREATE TABLE IF NOT EXISTS proxy_pages (
                       project TEXT PRIMARY KEY, url TEXT NOT NULL, content_type TEXT NOT NULL,
                       etag TEXT, body BLOB NOT NULL, fetched_at REAL NOT NULL)"""
            )
        except sqlite3.Error as exc:
            raise ProxyDbError(f"cannot create the page cache in {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    def load(self, project: str) -> tuple[str, str, str | None, bytes, float] | None:
        """(url, content type, etag, body, fetched_at) of the page kept for ``project``."""
        try:
            row = self._db.execute(
                "SELECT url, content_type, etag, body, fetched_at FROM proxy_pages WHERE project = ?",
                (project,),
            ).fetchone()
        except sqlite3.Error as exc:
            log.warning("cannot read the page cache %s: %s", self.path, exc)
            return None
        return None if row is None else (row[0], row[1], row[2], bytes(row[3]), float(row[4]))

    def save(
        self, project: str, url: str, content_type: str, etag: str | None, body: bytes, when: float
    ) -> None:
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO proxy_pages VALUES (?, ?, ?, ?, ?, ?)",
                (project, url, content_type, etag, body, when),
            )
        except sqlite3.Error as exc:
            log.warning("cannot write the page cache %s: %s", self.path, exc)

    def touch(self, project: str, when: float) -> None:
        try:
            self._db.execute("UPDATE proxy_pages SET fetched_at = ? WHERE project = ?", (when, project))
        except sqlite3.Error as exc:
            log.warning("cannot write the page cache %s: %s", self.path, exc)

    def forget(self, project: str) -> None:
        try:
            self._db.execute("DELETE FROM proxy_pages WHERE project = ?", (project,))
        except sqlite3.Error as exc:
            log.warning("cannot write the page cache %s: %s", self.path, exc)

    def projects(self) -> list[str]:
        try:
            return [row[0] for row in self._db.execute("SELECT project FROM proxy_pages ORDER BY project")]
        except sqlite3.Error:
            return []

    def count(self) -> int:
        try:
            return int(self._db.execute("SELECT COUNT(*) FROM proxy_pages").fetchone()[0])
        except sqlite3.Error:
            return 0


class Upstream:
    """``await upstream.page(project)`` and ``await upstream.download(file)``; close with ``aclose``."""

    def __init__(
        self,
        index_url: str,
        artifacts: ArtifactCache,
        *,
        pages: PageStore | None = None,
        page_ttl: float = 60.0,
        timeout: float = 15.0,
        retry_after: float = 10.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        clean, authorization = split_credentials(index_url)
        self.index_url = clean if clean.endswith("/") else clean + "/"
        self.shown = redact_url(index_url)
        self.artifacts = artifacts
        self.pages = pages
        self.page_ttl = page_ttl
        self.timeout = timeout
        self.retry_after = retry_after
        self.clock = clock
        self._authorization = authorization
        origin = urlsplit(self.index_url)
        self._origin = (origin.scheme, origin.netloc)
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": f"depvet-proxy/{__version__}"},
            transport=transport,
        )
        self._memory: OrderedDict[str, _Entry] = OrderedDict()
        self._flights: SingleFlight[str, _Entry] = SingleFlight()
        self.down_since: float | None = None  # epoch; None while the upstream answers
        self.down_reason = ""

    async def aclose(self) -> None:
        await self._flights.cancel_all()
        await self._client.aclose()

    def known_projects(self) -> list[str]:
        if self.pages is not None:
            return self.pages.projects()
        return sorted(self._memory)

    # -- pages ---------------------------------------------------------------------------------

    async def page(self, project: str) -> UpstreamPage:
        """The upstream's files for ``project`` (normalised); a kept copy when the upstream fails.

        Raises ``UpstreamNotFound`` (the upstream says no such project), and ``UpstreamDown`` or
        ``UpstreamRefused`` when it fails and no copy is kept.
        """
        entry = self._entry(project)
        now = self.clock()
        if entry is not None:
            if now - entry.fetched_at < self.page_ttl:
                return UpstreamPage(project, entry.files, entry.fetched_at)
            if entry.failed_at is not None and time.monotonic() - entry.failed_at < self.retry_after:
                # Failed a moment ago: answer from the copy now instead of waiting on a dead host again.
                return UpstreamPage(project, entry.files, entry.fetched_at, max(now - entry.fetched_at, 0.0))
        try:
            fresh = await self._flights.run(project, lambda: self._refresh(project, entry))
        except (UpstreamDown, UpstreamRefused) as exc:
            self._went_down(str(exc))
            if entry is None:
                raise
            entry.failed_at = time.monotonic()
            age = max(self.clock() - entry.fetched_at, 0.0)
            log.info("serving %s from a page fetched %.0f s ago (upstream failed: %s)", project, age, exc)
            return UpstreamPage(project, entry.files, entry.fetched_at, age)
        except UpstreamNotFound:
            self._came_back()
            self._memory.pop(project, None)
            if self.pages is not None:
                self.pages.forget(project)
            raise
        self._came_back()
        return UpstreamPage(project, fresh.files, fresh.fetched_at)

    def _entry(self, project: str) -> _Entry | None:
        entry = self._memory.get(project)
        if entry is not None:
            self._memory.move_to_end(project)
            return entry
        if self.pages is None:
            return None
        row = self.pages.load(project)
        if row is None:
            return None
        url, content_type, etag, body, fetched_at = row
        try:
            files = _parse(body, content_type, url)
        except UpstreamError:
            return None
        entry = _Entry(files, etag, fetched_at)
        self._remember(project, entry)
        return entry

    def _remember(self, project: str, entry: _Entry) -> None:
        self._memory[project] = entry
        self._memory.move_to_end(project)
        while len(self._memory) > MEMORY_PAGES:
            self._memory.popitem(last=False)

    async def _refresh(self, project: str, entry: _Entry | None) -> _Entry:
        url = f"{self.index_url}{project}/"
        headers = {"Accept": ACCEPT, **self._auth_for(url)}
        if entry is not None and entry.etag:
            headers["If-None-Match"] = entry.etag
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                self._check_redirects(response)
                if response.status_code == 304 and entry is not None:
                    fresh = _Entry(entry.files, entry.etag, self.clock())
                    if self.pages is not None:
                        self.pages.touch(project, fresh.fetched_at)
                    self._remember(project, fresh)
                    return fresh
                self._check_status(response, f"{project} is not on the upstream index {self.shown}")
                body = await _read_bounded(response, MAX_PAGE_BYTES)
                final_url = str(response.url)
                content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
                etag = response.headers.get("ETag")
        except httpx.TimeoutException as exc:
            raise UpstreamDown(f"upstream {self.shown} timed out after {self.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise UpstreamDown(f"cannot reach upstream {self.shown}: {_reason(exc)}") from exc
        files = _parse(body, content_type, final_url)
        fresh = _Entry(files, etag, self.clock())
        if self.pages is not None:
            self.pages.save(project, final_url, content_type, etag, body, fresh.fetched_at)
        self._remember(project, fresh)
        return fresh

    def _went_down(self, reason: str) -> None:
        if self.down_since is None:
            self.down_since = self.clock()
            log.warning("upstream down: %s; serving kept pages where there are some", reason)
        self.down_reason = reason

    def _came_back(self) -> None:
        if self.down_since is not None:
            log.warning("upstream %s answers again after %.0f s", self.shown, self.clock() - self.down_since)
            self.down_since = None
            self.down_reason = ""

    # -- files ---------------------------------------------------------------------------------

    async def download(self, file: IndexFile) -> Path:
        """The file in the artifact cache, fetched now unless it is there already.

        With a listed sha256, bytes that do not match raise ``HashMismatch`` and are never kept.
        """
        if file.sha256 is None:
            raise UpstreamRefused(f"{file.filename}: the upstream lists no sha256 to verify it against")
        cached = self.artifacts.get(file.sha256, file.filename)
        if cached is not None:
            return cached
        temp = self.artifacts.temp_path()
        try:
            got = await self._stream_to(file, temp)
            if got != file.sha256:
                raise HashMismatch(
                    f"upstream served {file.filename} with sha256 {got}, but its page lists "
                    f"{file.sha256}: not served"
                )
            return self.artifacts.store(temp, got, file.filename)
        finally:
            temp.unlink(missing_ok=True)

    async def metadata(self, file: IndexFile) -> bytes:
        """The file's core metadata as the upstream offers it (PEP 658), checked against the page's
        hash for it when the page gives one."""
        url = file.url + ".metadata"
        shown = redact_url(url)
        try:
            async with self._client.stream("GET", url, headers=self._auth_for(url)) as response:
                self._check_redirects(response)
                self._check_status(response, f"upstream has no metadata at {shown}")
                body = await _read_bounded(response, MAX_METADATA_BYTES)
        except httpx.TimeoutException as exc:
            raise UpstreamDown(f"timed out after {self.timeout:g} s downloading {shown}") from exc
        except httpx.HTTPError as exc:
            raise UpstreamDown(f"cannot download {shown}: {_reason(exc)}") from exc
        expected = file.core_metadata if isinstance(file.core_metadata, str) else None
        got = hashlib.sha256(body).hexdigest()
        if expected is not None and got != expected:
            raise HashMismatch(
                f"upstream served the metadata of {file.filename} with sha256 {got}, but its page "
                f"lists {expected}: not served"
            )
        return body

    async def _stream_to(self, file: IndexFile, temp: Path) -> str:
        shown = redact_url(file.url)
        digest = hashlib.sha256()
        size = 0
        try:
            async with self._client.stream("GET", file.url, headers=self._auth_for(file.url)) as response:
                self._check_redirects(response)
                self._check_status(response, f"upstream has no {file.filename} at {shown}")
                with temp.open("wb") as out:
                    async for chunk in response.aiter_bytes(1 << 20):
                        size += len(chunk)
                        if size > DEFAULT_MAX_BYTES:
                            raise UpstreamRefused(
                                f"{file.filename} is over the {DEFAULT_MAX_BYTES} byte limit"
                            )
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.TimeoutException as exc:
            raise UpstreamDown(f"timed out after {self.timeout:g} s downloading {shown}") from exc
        except httpx.HTTPError as exc:
            raise UpstreamDown(f"cannot download {shown}: {_reason(exc)}") from exc
        return digest.hexdigest()

    # -- shared --------------------------------------------------------------------------------

    def _auth_for(self, url: str) -> dict[str, str]:
        """The index URL's credentials, for requests to the index's own origin only (as pip does)."""
        if self._authorization is None:
            return {}
        target = urlsplit(url)
        return (
            {"Authorization": self._authorization} if (target.scheme, target.netloc) == self._origin else {}
        )

    def _check_redirects(self, response: httpx.Response) -> None:
        # A redirect from https down to http would drop TLS without anyone noticing.
        schemes = [r.url.scheme for r in response.history] + [response.url.scheme]
        if any(a == "https" and b == "http" for a, b in itertools.pairwise(schemes)):
            raise UpstreamRefused(
                f"refused a redirect from https to http for {redact_url(str(response.url))}"
            )

    def _check_status(self, response: httpx.Response, not_found: str) -> None:
        code = response.status_code
        if code == 200:
            return
        if code in (404, 410):
            raise UpstreamNotFound(not_found)
        shown = redact_url(str(response.url))
        if code >= 500:
            raise UpstreamDown(f"upstream {self.shown} answered HTTP {code} for {shown}")
        raise UpstreamRefused(f"upstream {self.shown} answered HTTP {code} for {shown}")


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise UpstreamRefused(f"{redact_url(str(response.url))} is over the {limit} byte page limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse(body: bytes, content_type: str, url: str) -> tuple[IndexFile, ...]:
    try:
        if content_type == JSON_CONTENT_TYPE:
            return tuple(parse_json_page(body, url))
        if content_type in HTML_CONTENT_TYPES:
            return tuple(parse_html_page(body.decode("utf-8", "replace"), url))
    except SimpleIndexError as exc:
        raise UpstreamRefused(str(exc)) from None
    raise UpstreamRefused(f"{redact_url(url)} answered {content_type!r}, not a simple index page")


def _reason(exc: BaseException) -> str:
    """A few words for a failed connection, from the OS error underneath httpx's when there is one.

    anyio wraps the errors of every address it tried in one "All connection attempts failed"
    OSError; the first error with an errno under it says what happened.
    """
    found = _os_error(exc, depth=0)
    if found is not None:
        return network_reason(found)
    return str(exc) or type(exc).__name__


def _os_error(exc: BaseException, depth: int) -> OSError | None:
    if depth > 8:
        return None
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    inner: list[BaseException] = []
    if isinstance(exc, BaseExceptionGroup):
        inner += exc.exceptions
    inner += [e for e in (exc.__cause__, exc.__context__) if e is not None]
    for candidate in inner:
        found = _os_error(candidate, depth + 1)
        if found is not None:
            return found
    return exc if isinstance(exc, OSError) and depth > 0 else None


async def wait_closed(upstream: Upstream) -> None:
    """Close the client, bounded: a shutdown must not hang on a stuck upstream."""
    try:
        await asyncio.wait_for(upstream.aclose(), timeout=5.0)
    except TimeoutError:
        log.warning("closing the upstream connections took too long; leaving them")
