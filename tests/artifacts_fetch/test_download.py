from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.download import DownloadRequest, DownloadResult, DownloadStatus, download_all

from .conftest import IndexServer, Route

WHEEL = "goodpkg-1.0-py3-none-any.whl"
DATA = b"PK\x03\x04 any bytes will do for a download" * 50
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def cache(tmp_path: Path) -> ArtifactCache:
    return ArtifactCache(tmp_path / "cache")


def serve(server: IndexServer, name: str, data: bytes) -> str:
    path = server.root / "files" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return f"{server.url}/files/{name}"


def request(url: str, sha256: str | None = SHA, filename: str = WHEEL) -> DownloadRequest:
    return DownloadRequest(url=url, filename=filename, expected_sha256=sha256, label="goodpkg==1.0")


def one(
    req: DownloadRequest, cache: ArtifactCache, *, timeout: float = 10.0, max_bytes: int = 2**20
) -> DownloadResult:
    [result] = download_all([req], cache, timeout=timeout, max_bytes=max_bytes)
    assert result.request == req
    return result


def test_download_verifies_and_stores(index_server: IndexServer, cache: ArtifactCache) -> None:
    result = one(request(serve(index_server, WHEEL, DATA)), cache)

    assert (result.status, result.sha256, result.bytes_downloaded, result.message) == (
        DownloadStatus.OK,
        SHA,
        len(DATA),
        None,
    )
    assert result.path == cache.get(SHA, WHEEL)
    assert result.path is not None
    assert result.path.read_bytes() == DATA


def test_second_download_comes_from_the_cache_without_the_network(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    url = serve(index_server, WHEEL, DATA)
    first = one(request(url), cache)
    requests_so_far = len(index_server.seen)

    second = one(request(url, sha256=SHA.upper()), cache)

    assert first.status is DownloadStatus.OK
    assert (second.status, second.path, second.sha256, second.bytes_downloaded) == (
        DownloadStatus.CACHED,
        first.path,
        SHA,
        0,
    )
    assert len(index_server.seen) == requests_so_far == 1


def test_without_a_locked_hash_the_artifact_is_stored_under_its_own(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    url = serve(index_server, WHEEL, DATA)

    first = one(request(url, sha256=None), cache)
    second = one(request(url, sha256=None), cache)

    assert (first.status, first.sha256, first.path) == (DownloadStatus.OK, SHA, cache.get(SHA, WHEEL))
    assert second.status is DownloadStatus.OK  # nothing to look the cache up by: fetched again
    assert len(index_server.seen) == 2


def test_hash_mismatch_is_reported_and_kept_under_its_own_hash(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    locked = hashlib.sha256(b"the release you locked").hexdigest()

    result = one(request(serve(index_server, WHEEL, DATA), sha256=locked), cache)

    assert result.status is DownloadStatus.HASH_MISMATCH
    assert result.message == f"artifact differs from the one you locked: expected sha256 {locked}, got {SHA}"
    assert (result.sha256, result.bytes_downloaded) == (SHA, len(DATA))
    # Stored for the scan under the hash of its bytes: a later lookup by the locked hash misses.
    assert result.path is not None
    assert result.path.read_bytes() == DATA
    assert cache.get(locked, WHEEL) is None
    assert list(cache.staging_dir.iterdir()) == []


@pytest.mark.parametrize("status", [404, 410])
def test_gone_is_not_found(index_server: IndexServer, cache: ArtifactCache, status: int) -> None:
    index_server.routes["/files/gone.whl"] = Route(status=status)

    result = one(request(f"{index_server.url}/files/gone.whl"), cache)

    assert result.status is DownloadStatus.NOT_FOUND
    assert result.message == f"{index_server.url}/files/gone.whl answered HTTP {status}"


def test_server_error_is_an_error(index_server: IndexServer, cache: ArtifactCache) -> None:
    index_server.routes["/files/x.whl"] = Route(status=503)

    assert one(request(f"{index_server.url}/files/x.whl"), cache).status is DownloadStatus.ERROR


def test_nothing_listening_is_unreachable(dead_url: str, cache: ArtifactCache) -> None:
    result = one(request(f"{dead_url}/files/{WHEEL}"), cache)

    assert result.status is DownloadStatus.UNREACHABLE
    assert result.message == f"cannot download {dead_url}/files/{WHEEL}: connection refused"


def test_silent_server_is_unreachable_after_the_timeout(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    index_server.routes["/files/slow.whl"] = Route(body=DATA, delay=5)

    result = one(request(f"{index_server.url}/files/slow.whl"), cache, timeout=0.3)

    assert result.status is DownloadStatus.UNREACHABLE
    assert result.message == f"timed out after 0.3 s downloading {index_server.url}/files/slow.whl"
    assert result.seconds < 3


def test_stall_mid_body_is_unreachable(index_server: IndexServer, cache: ArtifactCache) -> None:
    index_server.routes["/files/stall.whl"] = Route(body=DATA, stall_after=100)

    result = one(request(f"{index_server.url}/files/stall.whl"), cache, timeout=0.3)

    assert result.status is DownloadStatus.UNREACHABLE
    assert "timed out" in (result.message or "")
    assert cache.count() == 0


def test_short_body_is_unreachable_even_without_a_locked_hash(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    index_server.routes["/files/short.whl"] = Route(body=DATA[:100], declared_length=len(DATA))

    result = one(request(f"{index_server.url}/files/short.whl", sha256=None), cache)

    assert result.status is DownloadStatus.UNREACHABLE
    assert result.message == (
        f"connection closed after 100 of {len(DATA)} bytes of {index_server.url}/files/short.whl"
    )
    assert cache.count() == 0


def test_declared_size_over_the_limit_is_too_large(index_server: IndexServer, cache: ArtifactCache) -> None:
    url = serve(index_server, WHEEL, DATA)

    result = one(request(url), cache, max_bytes=1024)

    assert result.status is DownloadStatus.TOO_LARGE
    assert result.message == f"{url} is 1.8 KiB, over the 1.0 KiB download limit"
    assert result.bytes_downloaded == 0


def test_streamed_size_over_the_limit_is_too_large(index_server: IndexServer, cache: ArtifactCache) -> None:
    # No Content-Length: the limit can only be enforced while reading.
    index_server.routes["/files/big.whl"] = Route(body=DATA, send_length=False)

    result = one(request(f"{index_server.url}/files/big.whl", sha256=None), cache, max_bytes=1024)

    assert result.status is DownloadStatus.TOO_LARGE
    assert result.bytes_downloaded > 1024
    assert cache.count() == 0
    assert list(cache.staging_dir.iterdir()) == []


def test_file_urls(tmp_path: Path, cache: ArtifactCache) -> None:
    local = tmp_path / WHEEL
    local.write_bytes(DATA)

    found = one(request(local.as_uri()), cache)
    missing = one(request((tmp_path / "missing.whl").as_uri(), sha256=None), cache)

    assert (found.status, found.sha256) == (DownloadStatus.OK, SHA)
    assert missing.status is DownloadStatus.NOT_FOUND


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x.whl", "data:,hello", "/just/a/path.whl"])
def test_only_http_https_and_file(cache: ArtifactCache, url: str) -> None:
    result = one(request(url, sha256=None), cache)

    assert result.status is DownloadStatus.ERROR
    assert "only http, https and file URLs" in (result.message or "")


def test_invalid_locked_hash_is_an_error(cache: ArtifactCache) -> None:
    result = one(request("https://files.example/x.whl", sha256="md5:abc"), cache)

    assert result.status is DownloadStatus.ERROR
    assert result.message == "the locked hash is 'md5:abc', not a sha256 digest"


def test_filename_from_the_index_cannot_escape_the_cache(
    index_server: IndexServer, cache: ArtifactCache, tmp_path: Path
) -> None:
    result = one(request(serve(index_server, WHEEL, DATA), filename="../../../escaped.whl"), cache)

    assert result.status is DownloadStatus.OK
    assert result.path is not None
    assert result.path.parent == cache.root / "artifacts" / SHA[:2] / SHA
    assert not list(tmp_path.rglob("escaped.whl"))


def test_results_keep_input_order_and_report_each_once(
    index_server: IndexServer, cache: ArtifactCache
) -> None:
    # The first request is the slowest, so completion order differs from input order.
    index_server.routes["/files/slow.whl"] = Route(body=b"slow", delay=0.3)
    urls = [f"{index_server.url}/files/slow.whl"] + [
        serve(index_server, f"p{i}-1.0.tar.gz", b"x" * i) for i in range(5)
    ]
    requests = [request(url, sha256=None, filename=url.rpartition("/")[2]) for url in urls]
    seen: list[DownloadResult] = []
    callers: set[threading.Thread] = set()

    def on_done(result: DownloadResult) -> None:
        seen.append(result)
        callers.add(threading.current_thread())

    results = download_all(requests, cache, jobs=4, on_done=on_done)

    assert [r.request for r in results] == requests
    assert all(r.status is DownloadStatus.OK for r in results)
    assert sorted(id(r) for r in seen) == sorted(id(r) for r in results)
    assert seen[-1].request == requests[0]
    assert callers == {threading.current_thread()}


def test_no_requests_no_work(cache: ArtifactCache) -> None:
    assert download_all([], cache) == []
