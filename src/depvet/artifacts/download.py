"""Fetch artifacts into the cache, verifying each against the hash the user locked.

Every request ends as one ``DownloadResult`` whose status says what happened; nothing is raised for a
failed download and nothing is printed. Bytes are hashed while they stream to a staging file in the
cache, and that file becomes an artifact only when the hash is the one expected (or, when no hash was
locked, under the hash computed).
"""

from __future__ import annotations

import enum
import hashlib
import socket
import ssl
import time
import urllib.error
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException, IncompleteRead
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import urlsplit

from depvet.artifacts.cache import ArtifactCache, normalize_sha256
from depvet.artifacts.simpleindex import (
    HTTP_SCHEMES,
    READ_CHUNK,
    RefusedRedirect,
    Response,
    build_opener,
    content_length,
    is_timeout,
    network_reason,
    open_url,
    redact_url,
)

_T = TypeVar("_T")

DEFAULT_MAX_BYTES = 2 * 1024**3
# What a failing connection raises once urllib has handed over the response (and, for URLError, before).
_NETWORK_ERRORS = (
    urllib.error.URLError,
    ConnectionError,
    TimeoutError,
    IncompleteRead,
    socket.gaierror,
    ssl.SSLError,
)


class DownloadStatus(enum.StrEnum):
    OK = "ok"
    CACHED = "cached"
    HASH_MISMATCH = "hash-mismatch"
    NOT_FOUND = "not-found"
    UNREACHABLE = "unreachable"
    TOO_LARGE = "too-large"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class DownloadRequest:
    url: str
    filename: str
    expected_sha256: str | None
    label: str  # "name==version", for the caller's messages


@dataclass(frozen=True, slots=True)
class DownloadResult:
    request: DownloadRequest
    status: DownloadStatus
    path: Path | None  # the cached artifact, for ok and cached
    sha256: str | None  # of the bytes received (or of the cached file)
    bytes_downloaded: int
    seconds: float
    message: str | None  # one line without the label, for every status but ok and cached


class _Failed(Exception):
    """Ends one download with a status other than ok; internal to this module."""

    def __init__(
        self,
        status: DownloadStatus,
        message: str,
        received: int = 0,
        sha256: str | None = None,
        path: Path | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.received = received
        self.sha256 = sha256
        self.path = path


def download_all(
    requests: Sequence[DownloadRequest],
    cache: ArtifactCache,
    *,
    jobs: int = 8,
    timeout: float = 60.0,
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_done: Callable[[DownloadResult], None] | None = None,
    user_agent: str = "depvet",
) -> list[DownloadResult]:
    """One result per request, in input order. ``on_done`` runs in the calling thread as each finishes.

    ``timeout`` bounds each connect and each read, not the whole transfer: a large wheel on a slow
    link may take longer than ``timeout`` and still succeed.
    """
    if not requests:
        return []
    fetcher = _Fetcher(cache, timeout, max_bytes, user_agent)
    results: dict[int, DownloadResult] = {}
    # Threads, not processes: the work is waiting on sockets and hashing releases the GIL.
    with ThreadPoolExecutor(
        max_workers=max(1, min(jobs, len(requests))), thread_name_prefix="depvet-dl"
    ) as pool:
        futures: dict[Future[DownloadResult], int] = {
            pool.submit(fetcher.fetch, request): i for i, request in enumerate(requests)
        }
        try:
            for future in as_completed(futures):
                result = future.result()
                results[futures[future]] = result
                if on_done is not None:
                    on_done(result)
        except BaseException:
            # Ctrl-C or a failing callback: start nothing new; running transfers end at their timeout.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return [results[i] for i in range(len(requests))]


class _Fetcher:
    def __init__(self, cache: ArtifactCache, timeout: float, max_bytes: int, user_agent: str) -> None:
        self.cache = cache
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.user_agent = user_agent
        self.opener = build_opener()

    def fetch(self, request: DownloadRequest) -> DownloadResult:
        start = time.monotonic()

        def result(
            status: DownloadStatus,
            path: Path | None = None,
            sha256: str | None = None,
            received: int = 0,
            message: str | None = None,
        ) -> DownloadResult:
            return DownloadResult(request, status, path, sha256, received, time.monotonic() - start, message)

        expected: str | None = None
        if request.expected_sha256:
            try:
                expected = normalize_sha256(request.expected_sha256)
            except ValueError:
                return result(
                    DownloadStatus.ERROR, message=f"the locked hash is {_short(request.expected_sha256)}"
                )
            hit = self.cache.get(expected, request.filename)
            if hit is not None:
                return result(DownloadStatus.CACHED, hit, expected)
        shown = redact_url(request.url)
        scheme = urlsplit(request.url).scheme.lower()
        if scheme not in HTTP_SCHEMES and scheme != "file":
            return result(
                DownloadStatus.ERROR, message=f"cannot download {shown}: only http, https and file URLs"
            )
        try:
            path, sha256, received = self._transfer(request, expected, shown)
        except _Failed as failed:
            return result(failed.status, failed.path, failed.sha256, failed.received, failed.message)
        except urllib.error.HTTPError as exc:
            exc.close()
            status = DownloadStatus.NOT_FOUND if exc.code in (404, 410) else DownloadStatus.ERROR
            return result(status, message=f"{shown} answered HTTP {exc.code}")
        except RefusedRedirect as exc:
            return result(DownloadStatus.ERROR, message=str(exc))
        except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
            status, message = self._classify(exc, shown)
            return result(status, message=message)
        return result(DownloadStatus.OK, path, sha256, received)

    def _transfer(self, request: DownloadRequest, expected: str | None, shown: str) -> tuple[Path, str, int]:
        temp = self._disk(self.cache.temp_path)
        try:
            response = open_url(self.opener, request.url, timeout=self.timeout, user_agent=self.user_agent)
            try:
                declared = content_length(response)
                if declared is not None and declared > self.max_bytes:
                    raise _Failed(
                        DownloadStatus.TOO_LARGE,
                        f"{shown} is {_size(declared)}, over the {_size(self.max_bytes)} download limit",
                    )
                with self._disk(lambda: temp.open("wb")) as out:
                    actual, received = self._copy(response, out, shown)
            finally:
                response.close()
            if declared is not None and received < declared:
                # http.client ends a short body quietly; without a locked hash it would be stored as ok.
                raise _Failed(
                    DownloadStatus.UNREACHABLE,
                    f"connection closed after {received} of {declared} bytes of {shown}",
                    received,
                )
            if expected is not None and actual != expected:
                # Kept under its own hash (never the locked one) so the scan can show what it is.
                stored = self._disk(lambda: self.cache.store(temp, actual, request.filename))
                raise _Failed(
                    DownloadStatus.HASH_MISMATCH,
                    f"artifact differs from the one you locked: expected sha256 {expected}, got {actual}",
                    received,
                    actual,
                    stored,
                )
            return self._disk(lambda: self.cache.store(temp, actual, request.filename)), actual, received
        finally:
            temp.unlink(missing_ok=True)

    def _copy(self, response: Response, out: BinaryIO, shown: str) -> tuple[str, int]:
        """Stream the body to ``out``: its sha256 and length."""
        digest = hashlib.sha256()
        received = 0
        while chunk := response.read(READ_CHUNK):
            received += len(chunk)
            if received > self.max_bytes:
                raise _Failed(
                    DownloadStatus.TOO_LARGE,
                    f"{shown} is over the {_size(self.max_bytes)} download limit",
                    received,
                )
            digest.update(chunk)
            self._disk(partial(out.write, chunk))
        return digest.hexdigest(), received

    def _disk(self, operation: Callable[[], _T]) -> _T:
        """Run a cache file operation; a failure there is the disk's, not the network's."""
        try:
            return operation()
        except OSError as exc:
            raise _Failed(
                DownloadStatus.ERROR, f"cannot write to the cache at {self.cache.root}: {network_reason(exc)}"
            ) from exc

    def _classify(self, exc: BaseException, shown: str) -> tuple[DownloadStatus, str]:
        if is_timeout(exc):
            return DownloadStatus.UNREACHABLE, f"timed out after {self.timeout:g} s downloading {shown}"
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        if isinstance(reason, FileNotFoundError):
            return DownloadStatus.NOT_FOUND, f"{shown}: no such file"
        if isinstance(exc, _NETWORK_ERRORS):
            return DownloadStatus.UNREACHABLE, f"cannot download {shown}: {network_reason(exc)}"
        if isinstance(exc, HTTPException):
            return DownloadStatus.ERROR, f"{shown} did not answer in HTTP ({type(exc).__name__})"
        if isinstance(exc, OSError):
            return DownloadStatus.ERROR, f"cannot download {shown}: {network_reason(exc)}"
        return DownloadStatus.ERROR, f"cannot download {shown}: not a valid URL"


def _short(value: str) -> str:
    return f"{value[:80]!r}, not a sha256 digest"


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
