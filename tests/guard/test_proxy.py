"""depvet proxy end to end: a static upstream index on 127.0.0.1, the proxy in-process on an
ephemeral port with an injected clock, and the real pip and uv installing through it.

Every tainted package is built here as inert text (the LiteLLM-like ``.pth`` payload of the diff
tests) and must never be installed: the tests prove it is kept out. Only the benign releases are
installed, into throwaway ``--target`` folders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from demo.builders import write_sdist, write_wheel
from packaging.requirements import Requirement

from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.simpleindex import parse_html_page
from depvet.guard import proxy_cli
from depvet.guard.judge import Judge
from depvet.guard.proxy_app import STALE_HEADER, RunningServer, create_app, reason_slug, serve_in_thread
from depvet.guard.proxy_settings import ProxySettings
from depvet.guard.simplepages import PageFormat, negotiate
from depvet.policy import Policy
from tests.guard.upstream import StaticUpstream
from tests.payloads import tainted_files

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=90)
COOLDOWN = timedelta(days=7)
POLICY = Policy(min_release_age=COOLDOWN, deny=(Requirement("oldpkg<2"),))
UV = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))


class Clock:
    """ "Now" for the proxy's cooldown, moved by the tests."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _benign(package: str) -> dict[str, str]:
    return {f"{package}/__init__.py": "def greet(name):\n    return f'hello {name}'\n"}


def _tainted(package: str) -> dict[str, str]:
    # The LiteLLM 1.82.8 shape, inert: a start-up hook that decodes and runs a collector.
    return {
        **_benign(package),
        **tainted_files(package),
    }


@dataclass
class World:
    upstream: StaticUpstream
    server: RunningServer
    clock: Clock
    settings: ProxySettings
    sha: dict[str, str]  # filename -> sha256

    @property
    def index(self) -> str:
        return self.server.index_url

    def file_url(self, project: str, filename: str) -> str:
        return f"{self.server.url}/files/{project}/{self.sha[filename]}/{filename}"


def _publish(upstream: StaticUpstream, build: Path, sha: dict[str, str], spec: list[tuple[Any, ...]]) -> None:
    for project, version, files, uploaded, *kind in spec:
        writer = write_sdist if kind == ["sdist"] else write_wheel
        path = writer(build, project, version, files)
        sha[path.name] = upstream.add(project, path, uploaded)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("proxy")
    build = root / "build"
    build.mkdir()
    upstream = StaticUpstream(root / "upstream")
    sha: dict[str, str] = {}
    _publish(
        upstream,
        build,
        sha,
        [
            ("goodpkg", "1.0", _benign("goodpkg"), LONG_AGO),
            ("goodpkg", "1.0", _benign("goodpkg"), LONG_AGO, "sdist"),
            ("goodpkg", "1.1", _tainted("goodpkg"), LONG_AGO + timedelta(days=1)),
            ("freshpkg", "1.0", _benign("freshpkg"), LONG_AGO),
            ("freshpkg", "2.0", _benign("freshpkg"), NOW - timedelta(days=1)),
            ("litellm", "1.82.6", _benign("litellm"), LONG_AGO),
            ("litellm", "1.82.8", _benign("litellm"), LONG_AGO),  # curated as tainted: never fetched
            ("oldpkg", "1.0", _benign("oldpkg"), LONG_AGO),
            ("oldpkg", "2.0", _benign("oldpkg"), LONG_AGO),
            ("chainpkg", "1.0", _benign("chainpkg"), LONG_AGO),
            ("chainpkg", "1.1", _tainted("chainpkg"), LONG_AGO),
            ("chainpkg", "1.2", _tainted("chainpkg"), LONG_AGO),
            ("racepkg", "1.0", _benign("racepkg"), LONG_AGO),
            ("racebad", "1.0", _tainted("racebad"), LONG_AGO),
            ("tamperpkg", "0.9", _benign("tamperpkg"), LONG_AGO),
            ("tamperpkg", "1.0", _benign("tamperpkg"), LONG_AGO),
        ],
    )
    clock = Clock(NOW)
    # Module fixtures start before conftest's per-test ones: keep proxy variables away from the
    # proxy's own client here too.
    with pytest.MonkeyPatch.context() as patch, upstream.serve():
        for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            patch.delenv(name, raising=False)
        settings = ProxySettings(
            upstream=upstream.url,
            db_path=root / "proxy.sqlite3",
            cache_dir=root / "cache",
            jobs=2,
            policy=POLICY,
        )
        app = create_app(settings, judge=Judge(POLICY, None, clock))
        with serve_in_thread(app) as server:
            yield World(upstream, server, clock, settings, sha)


def _get(url: str, accept: str | None = JSON_TYPE, **kwargs: Any) -> httpx.Response:
    headers = {"Accept": accept} if accept else {}
    return httpx.get(url, headers=headers, timeout=60, **kwargs)


def _page(world: World, project: str) -> dict[str, Any]:
    response = _get(f"{world.index}{project}/")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_TYPE
    document: dict[str, Any] = response.json()
    return document


def _yanked(page: dict[str, Any], filename: str) -> str | bool:
    entry = next(f for f in page["files"] if f["filename"] == filename)
    value: str | bool = entry["yanked"]
    return value


def _installer_env() -> dict[str, str]:
    """No user or site configuration, no proxies, no find-links: only the index on the command line."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "UV_")) and not key.lower().endswith("_proxy")
    }
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", UV_PYTHON_DOWNLOADS="never")
    return env


def _pip(world: World, target: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--index-url",
            world.index,
            "--target",
            str(target),
            requirement,
        ],
        env=_installer_env(),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _uv(world: World, target: Path, requirement: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            UV,
            "pip",
            "install",
            "--no-cache",
            "--index-url",
            world.index,
            "--target",
            str(target),
            "--python",
            sys.executable,
            requirement,
        ],
        env=_installer_env(),
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _installed(target: Path) -> set[str]:
    # uv leaves its own .lock file in the target.
    return {p.name for p in target.iterdir() if not p.name.startswith(".")} if target.exists() else set()


# -- real installers ----------------------------------------------------------------------------------


def test_pip_installs_the_last_good_release_and_refuses_the_tainted_pin(world: World, tmp_path: Path) -> None:
    refused = world.server.state.firewall.stats.refused
    good = _pip(world, tmp_path / "good", "goodpkg")
    assert good.returncode == 0, good.stdout + good.stderr
    assert _installed(tmp_path / "good") == {"goodpkg", "goodpkg-1.0.dist-info"}
    # pip took 1.0 on its first try: it never asked for 1.1 (already scanned and yanked), nor the sdist.
    assert world.server.state.firewall.stats.refused == refused

    bad = _pip(world, tmp_path / "bad", "goodpkg==1.1")
    output = bad.stdout + bad.stderr
    assert bad.returncode != 0
    assert "Reason for being yanked: blocked by depvet: scan verdict malicious: DV101" in output
    assert "blocked-by-depvet/goodpkg-1.1-py3-none-any.whl/scan-verdict-malicious-DV101" in output
    assert _installed(tmp_path / "bad") == set()


@pytest.mark.skipif(not Path(UV).exists(), reason="uv is not installed (it is in the dev requirements)")
def test_uv_installs_the_last_good_release_and_refuses_the_tainted_pin(world: World, tmp_path: Path) -> None:
    good = _uv(world, tmp_path / "good", "goodpkg")
    assert good.returncode == 0, good.stdout + good.stderr
    assert _installed(tmp_path / "good") == {"goodpkg", "goodpkg-1.0.dist-info"}

    bad = _uv(world, tmp_path / "bad", "goodpkg==1.1")
    assert bad.returncode != 0
    # uv shows neither yank reasons before installing nor response bodies, but the URL that failed.
    assert "blocked-by-depvet/goodpkg-1.1-py3-none-any.whl/scan-verdict-malicious-DV101" in bad.stderr
    assert "403 Forbidden" in bad.stderr
    assert not any("1.1" in name or name.endswith(".pth") for name in _installed(tmp_path / "bad"))


def test_a_release_younger_than_the_cooldown_is_hidden_until_it_is_old_enough(
    world: World, tmp_path: Path
) -> None:
    young, old = "freshpkg-2.0-py3-none-any.whl", "freshpkg-1.0-py3-none-any.whl"
    page = _page(world, "freshpkg")
    reason = _yanked(page, young)
    assert isinstance(reason, str)
    assert reason.startswith("blocked by depvet: uploaded ")
    assert "the cooldown is 7 days" in reason
    assert _yanked(page, old) is False
    refused = _get(world.file_url("freshpkg", young), follow_redirects=True)
    assert refused.status_code == 403
    assert "the cooldown is 7 days" in refused.text
    first = _pip(world, tmp_path / "before", "freshpkg")
    assert first.returncode == 0, first.stderr
    assert "freshpkg-1.0.dist-info" in _installed(tmp_path / "before")

    world.clock.now = NOW + COOLDOWN
    try:
        assert _yanked(_page(world, "freshpkg"), young) is False
        later = _pip(world, tmp_path / "after", "freshpkg")
        assert later.returncode == 0, later.stderr
        assert "freshpkg-2.0.dist-info" in _installed(tmp_path / "after")
    finally:
        world.clock.now = NOW


# -- what is kept out, and what is not ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project", "blocked", "allowed", "reason"),
    [
        # A curated tainted release is kept out on its name and version alone: never even downloaded.
        (
            "litellm",
            "litellm-1.82.8-py3-none-any.whl",
            "litellm-1.82.6-py3-none-any.whl",
            "recorded as malicious: DEPVET-litellm-2026-03-teampcp",
        ),
        (
            "oldpkg",
            "oldpkg-1.0-py3-none-any.whl",
            "oldpkg-2.0-py3-none-any.whl",
            "on the deny list (oldpkg<2)",
        ),
        (
            "goodpkg",
            "goodpkg-1.0.tar.gz",
            "goodpkg-1.0-py3-none-any.whl",
            "is a source distribution (allow-sdists is off)",
        ),
    ],
)
def test_blocked_files_are_yanked_with_the_reason_and_refused(
    world: World, project: str, blocked: str, allowed: str, reason: str
) -> None:
    page = _page(world, project)
    yanked = _yanked(page, blocked)
    assert isinstance(yanked, str)
    assert yanked.startswith("blocked by depvet: ")
    assert reason in yanked
    assert _yanked(page, allowed) is False

    refused = _get(world.file_url(project, blocked), follow_redirects=True)
    assert refused.status_code == 403
    assert refused.text.count("\n") == 1
    assert reason in refused.text
    served = _get(world.file_url(project, allowed))
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == world.sha[allowed]
    if project == "litellm":
        assert f"/files/{blocked}" not in world.upstream.server.paths()


def test_the_first_page_request_already_yanks_the_tainted_newest_releases(world: World) -> None:
    """chainpkg 1.2 and 1.1 are tainted: both are scanned before the first answer, and 1.0 is left."""
    assert world.upstream.page_requests("chainpkg") == 0
    page = _page(world, "chainpkg")
    for version in ("1.2", "1.1"):
        reason = _yanked(page, f"chainpkg-{version}-py3-none-any.whl")
        assert isinstance(reason, str)
        assert "scan verdict malicious" in reason
    assert _yanked(page, "chainpkg-1.0-py3-none-any.whl") is False
    assert sorted(page["versions"]) == ["1.0", "1.1", "1.2"]


def test_concurrent_requests_for_an_unseen_file_download_and_scan_it_once(world: World) -> None:
    state = world.server.state

    def hammer(project: str, filename: str) -> tuple[list[httpx.Response], int]:
        scans = state.scanner.scans
        fetches = world.upstream.server.paths().count(f"/files/{filename}")
        barrier = threading.Barrier(8)

        def one(_: int) -> httpx.Response:
            barrier.wait()
            return _get(world.file_url(project, filename))

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(one, range(8)))
        assert world.upstream.server.paths().count(f"/files/{filename}") - fetches == 1
        return responses, state.scanner.scans - scans

    good, good_scans = hammer("racepkg", "racepkg-1.0-py3-none-any.whl")
    assert good_scans == 1
    assert [r.status_code for r in good] == [200] * 8
    assert {hashlib.sha256(r.content).hexdigest() for r in good} == {
        world.sha["racepkg-1.0-py3-none-any.whl"]
    }

    bad, bad_scans = hammer("racebad", "racebad-1.0-py3-none-any.whl")
    assert bad_scans == 1
    assert [r.status_code for r in bad] == [303] * 8
    assert all("scan verdict malicious" in r.text for r in bad)


def test_a_file_whose_bytes_differ_from_the_listing_is_never_served(world: World) -> None:
    tampered, intact = "tamperpkg-1.0-py3-none-any.whl", "tamperpkg-0.9-py3-none-any.whl"
    world.upstream.replace(tampered, b"PK\x03\x04 not the bytes the page lists")
    for _ in range(2):  # and nothing was kept that a second request could serve
        response = _get(world.file_url("tamperpkg", tampered))
        assert response.status_code == 502
        assert f"but its page lists {world.sha[tampered]}: not served" in response.text
    cache = ArtifactCache(world.settings.cache_dir)
    assert cache.get(world.sha[tampered], tampered) is None
    assert not list(cache.staging_dir.glob("*"))
    served = _get(world.file_url("tamperpkg", intact))
    assert served.status_code == 200
    assert hashlib.sha256(served.content).hexdigest() == world.sha[intact]


def test_metadata_is_served_for_wheels_even_blocked_ones_so_installers_reach_the_yank_reason(
    world: World,
) -> None:
    page = _page(world, "goodpkg")
    wheel = next(f for f in page["files"] if f["filename"] == "goodpkg-1.1-py3-none-any.whl")
    sdist = next(f for f in page["files"] if f["filename"] == "goodpkg-1.0.tar.gz")
    assert wheel["core-metadata"] is True
    assert "core-metadata" not in sdist
    metadata = _get(world.file_url("goodpkg", "goodpkg-1.1-py3-none-any.whl") + ".metadata")
    assert metadata.status_code == 200
    assert "Name: goodpkg\nVersion: 1.1" in metadata.text
    assert _get(world.file_url("goodpkg", "goodpkg-1.0.tar.gz") + ".metadata").status_code == 404


def test_unknown_files_and_projects_are_404(world: World) -> None:
    assert _get(f"{world.index}no-such-project/").status_code == 404
    listed = world.file_url("goodpkg", "goodpkg-1.0-py3-none-any.whl")
    assert _get(listed.replace(world.sha["goodpkg-1.0-py3-none-any.whl"], "0" * 64)).status_code == 404
    assert _get(listed.replace("/files/goodpkg/", "/files/GoodPkg/")).status_code == 404


# -- the simple API ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        ("*/*", "text/html"),
        ("text/html", "text/html"),
        (JSON_TYPE, JSON_TYPE),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        # pip's header: JSON first.
        (f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01", JSON_TYPE),
        (f"{JSON_TYPE};q=0.2, text/html", "text/html"),
        ("application/vnd.pypi.simple.latest+json", JSON_TYPE),
    ],
)
def test_content_negotiation(world: World, accept: str | None, expected: str) -> None:
    response = _get(f"{world.index}goodpkg/", accept=accept)
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == expected
    assert response.headers["vary"] == "Accept"


def test_a_format_query_parameter_overrides_accept(world: World) -> None:
    response = _get(f"{world.index}goodpkg/?format={JSON_TYPE}", accept="text/html")
    assert response.headers["content-type"] == JSON_TYPE
    assert _get(f"{world.index}goodpkg/?format=image/png").status_code == 406


def test_an_unacceptable_media_type_is_406(world: World) -> None:
    response = _get(f"{world.index}goodpkg/", accept="application/xml")
    assert response.status_code == 406
    assert JSON_TYPE in response.text


def test_negotiate_weighs_q_values_and_specificity() -> None:
    assert negotiate("text/*;q=0.5, application/*;q=0.9") is PageFormat.HTML
    assert negotiate(f"{JSON_TYPE};q=0, */*") is PageFormat.LEGACY_HTML
    assert negotiate(f"{JSON_TYPE};q=bogus, text/html;q=0.1") is PageFormat.LEGACY_HTML
    assert negotiate("image/png") is None


def test_the_html_page_carries_hashes_yank_reasons_and_links_back_to_the_proxy(world: World) -> None:
    response = _get(f"{world.index}goodpkg/", accept="text/html")
    page_url = f"{world.index}goodpkg/"
    files = {f.filename: f for f in parse_html_page(response.text, page_url)}
    assert '<meta name="pypi:repository-version" content="1.1">' in response.text
    tainted = files["goodpkg-1.1-py3-none-any.whl"]
    assert isinstance(tainted.yanked, str)
    assert tainted.yanked.startswith("blocked by depvet: scan verdict malicious")
    assert files["goodpkg-1.0-py3-none-any.whl"].yanked is False
    for name, file in files.items():
        assert file.sha256 == world.sha[name]
        assert file.url == world.file_url("goodpkg", name)  # the proxy, never the upstream


def test_the_json_page_has_pep_700_fields(world: World) -> None:
    page = _page(world, "goodpkg")
    assert page["meta"] == {"api-version": "1.1"}
    assert page["name"] == "goodpkg"
    assert sorted(page["versions"]) == ["1.0", "1.1"]
    first = next(f for f in page["files"] if f["filename"] == "goodpkg-1.0-py3-none-any.whl")
    assert first["upload-time"] == LONG_AGO.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert first["hashes"] == {"sha256": world.sha["goodpkg-1.0-py3-none-any.whl"]}
    assert isinstance(first["size"], int)


def test_names_that_are_not_normalised_redirect_like_pypi(world: World) -> None:
    response = _get(f"{world.index}GoodPkg/", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"] == "../goodpkg/"
    no_slash = _get(f"{world.index}goodpkg", follow_redirects=False)
    assert no_slash.status_code == 301
    assert no_slash.headers["location"] == "goodpkg/"
    assert _get(f"{world.index}GOODPKG", follow_redirects=True).url == f"{world.index}goodpkg/"
    assert _get(f"{world.index}goodpkg/", follow_redirects=False).status_code == 200


def test_the_root_page_lists_projects_seen(world: World) -> None:
    _page(world, "goodpkg")
    root = _get(world.index)
    assert root.status_code == 200
    assert {"name": "goodpkg"} in root.json()["projects"]


# -- status, health, block log ----------------------------------------------------------------------------


def test_the_status_page_lists_what_was_blocked_and_why(world: World) -> None:
    _page(world, "goodpkg")
    status = _get(world.server.url + "/", accept="text/html")
    assert status.status_code == 200
    rows = [line for line in status.text.splitlines() if line.startswith("<tr><td>")]
    tainted = [row for row in rows if "goodpkg-1.1-py3-none-any.whl" in row]
    assert len(tainted) == 1
    assert "scan verdict malicious: DV101 .pth file runs code at every Python start-up" in tainted[0]
    assert not [row for row in rows if "goodpkg-1.0-py3-none-any.whl" in row]
    assert world.upstream.url in status.text


def test_health(world: World) -> None:
    response = _get(world.server.url + "/-/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_blocks_are_logged_once_each(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("INFO", logger="depvet.proxy"):
        _page(world, "oldpkg")
        _page(world, "oldpkg")
        _get(world.file_url("oldpkg", "oldpkg-1.0-py3-none-any.whl"))
    lines = [
        r.getMessage() for r in caplog.records if r.name == "depvet.proxy" and "oldpkg-1.0" in r.getMessage()
    ]
    assert len(lines) == 1
    assert lines[0].startswith("refused oldpkg-1.0-py3-none-any.whl to 127.0.0.1: on the deny list")


def test_reason_slug_reads_as_the_reason() -> None:
    message = "blocked by depvet: goodpkg 1.1 (goodpkg-1.1-py3-none-any.whl): scan verdict malicious: DV101 x"
    assert reason_slug(message) == "scan-verdict-malicious-DV101-x"


# -- verdicts survive a restart; a new analysis rescans ----------------------------------------------------


def test_verdicts_are_kept_in_sqlite_and_a_new_depvet_rescans(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _page(world, "goodpkg")  # the world proxy has scanned goodpkg's newest releases

    def restarted_scans() -> tuple[int, dict[str, Any]]:
        app = create_app(world.settings, judge=Judge(POLICY, None, world.clock))
        with serve_in_thread(app) as server:
            response = _get(f"{server.index_url}goodpkg/")
            return server.state.scanner.scans, response.json()

    scans, page = restarted_scans()
    assert scans == 0
    assert "scan verdict malicious" in str(_yanked(page, "goodpkg-1.1-py3-none-any.whl"))

    monkeypatch.setattr("depvet.resultcache.ruleset_version", lambda: "the-next-depvet")
    scans, page = restarted_scans()
    assert scans >= 1
    assert "scan verdict malicious" in str(_yanked(page, "goodpkg-1.1-py3-none-any.whl"))


# -- upstream down, HTML-only upstreams -----------------------------------------------------------------------


def test_when_the_upstream_is_down_kept_pages_are_served_and_others_are_502(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    upstream = StaticUpstream(tmp_path / "upstream")
    _publish(upstream, tmp_path, {}, [("downpkg", "1.0", _benign("downpkg"), LONG_AGO)])
    judge = Judge(POLICY, None, Clock(NOW))
    with ExitStack() as live:
        live.enter_context(upstream.serve())
        settings = ProxySettings(
            upstream=upstream.url, db_path=tmp_path / "db.sqlite3", cache_dir=tmp_path / "cache", page_ttl=0
        )
        with serve_in_thread(create_app(settings, judge=judge)) as server, caplog.at_level("INFO"):
            fresh = _get(f"{server.index_url}downpkg/")
            assert fresh.status_code == 200
            assert STALE_HEADER not in fresh.headers
            live.close()  # the upstream goes away

            stale = _get(f"{server.index_url}downpkg/")
            assert stale.status_code == 200
            assert int(stale.headers[STALE_HEADER]) >= 0
            assert stale.json()["files"][0]["filename"] == "downpkg-1.0-py3-none-any.whl"
            # The wheel was scanned (so downloaded) with the first page: it is still served.
            wheel = stale.json()["files"][0]
            assert _get(f"{server.index_url}downpkg/{wheel['url']}").status_code == 200

            missing = _get(f"{server.index_url}otherpkg/")
            assert missing.status_code == 502
            assert missing.text.count("\n") == 1
            assert f"cannot reach upstream {upstream.url}: connection refused" in missing.text
            assert _get(server.url + "/-/health").json()["upstream"] == "down"
        down = f"upstream down: cannot reach upstream {upstream.url}: connection refused; serving kept pages"
        assert any(r.getMessage().startswith(down) for r in caplog.records)

        # A restarted proxy still has the page, from SQLite.
        with serve_in_thread(create_app(settings, judge=judge)) as server:
            again = _get(f"{server.index_url}downpkg/")
            assert again.status_code == 200
            assert STALE_HEADER in again.headers


def test_an_html_only_upstream_works_and_without_upload_times_a_cooldown_keeps_everything_out(
    tmp_path: Path,
) -> None:
    upstream = StaticUpstream(tmp_path / "upstream", json_pages=False)
    sha: dict[str, str] = {}
    _publish(
        upstream,
        tmp_path,
        sha,
        [("htmlpkg", "1.0", _benign("htmlpkg"), None), ("htmlpkg", "1.1", _tainted("htmlpkg"), None)],
    )
    with upstream.serve():
        for policy, expect_allowed in ((Policy(min_release_age=timedelta(0)), True), (Policy(), False)):
            settings = ProxySettings(
                upstream=upstream.url,
                db_path=tmp_path / "db.sqlite3",
                cache_dir=tmp_path / "cache",
                policy=policy,
            )
            with serve_in_thread(create_app(settings, judge=Judge(policy, None, Clock(NOW)))) as server:
                page = _get(f"{server.index_url}htmlpkg/").json()
            tainted = _yanked(page, "htmlpkg-1.1-py3-none-any.whl")
            benign = _yanked(page, "htmlpkg-1.0-py3-none-any.whl")
            if expect_allowed:
                assert benign is False
                assert "scan verdict malicious" in str(tainted)
            else:
                assert "the index gives no upload time" in str(benign)
                assert "the index gives no upload time" in str(tainted)
    assert all(
        seen.accept and seen.accept.startswith(JSON_TYPE)
        for seen in upstream.server.seen
        if "simple" in seen.path
    )


# -- the command ----------------------------------------------------------------------------------------------


def _parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="depvet")
    proxy_cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["proxy", *argv])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_bad_policy_file_is_one_line_and_exit_2(
    tmp_path: Path, dead_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "depvet.toml"
    policy.write_text('min-release-age = "soon"\n')
    args = _parse(
        "--upstream",
        dead_url + "/simple/",
        "--policy",
        str(policy),
        "--port",
        "0",
        "--db",
        str(tmp_path / "db"),
    )
    assert proxy_cli.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"depvet: error: {policy}: min-release-age must be")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--upstream", "ftp://example.org/simple/"], "--upstream must be an http(s) URL"),
        (
            ["--upstream", "http://127.0.0.1:9/simple/", "--jobs", "-1"],
            "--jobs must be 0 (automatic) or more",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert proxy_cli.run(_parse(*argv, "--db", str(tmp_path / "db"), "--port", "0")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err


def test_a_port_in_use_is_one_line_and_exit_2(
    tmp_path: Path, dead_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = _parse("--upstream", dead_url + "/simple/", "--port", str(port), "--db", str(tmp_path / "db"))
        assert proxy_cli.run(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in err


def test_without_the_proxy_extra_the_command_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "starlette" else real(name, *a)
    )
    assert proxy_cli.run(_parse("--upstream", "https://pypi.org/simple/", "--db", str(tmp_path / "db"))) == 2
    assert capsys.readouterr().err == (
        "depvet: error: depvet proxy needs starlette: install them with pip install 'depvet[proxy]'\n"
    )


def test_the_command_serves_even_with_the_upstream_down_and_stops_cleanly_on_sigterm(
    tmp_path: Path, dead_url: str
) -> None:
    port = _free_port()
    code = (
        "import argparse, sys\n"
        "from depvet.guard import proxy_cli\n"
        "parser = argparse.ArgumentParser()\n"
        "proxy_cli.add_parser(parser.add_subparsers(dest='command'))\n"
        "sys.exit(proxy_cli.run(parser.parse_args(sys.argv[1:])))\n"
    )
    argv = ["proxy", "--upstream", dead_url + "/simple/", "--port", str(port), "--jobs", "1"]
    argv += ["--db", str(tmp_path / "db.sqlite3"), "--cache-dir", str(tmp_path / "cache")]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env={k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, process.communicate()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/-/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the proxy did not come up"
                time.sleep(0.1)
        assert health.json()["status"] == "ok"
        down = httpx.get(f"http://127.0.0.1:{port}/simple/goodpkg/", timeout=30)
        assert down.status_code == 502
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "listening on http://127.0.0.1" in err


def test_files_not_scanned_by_page_time_are_listed_and_scanned_on_first_download(
    world: World, tmp_path: Path
) -> None:
    build = tmp_path / "build"
    build.mkdir()
    _publish(world.upstream, build, world.sha, [("latepkg", "1.0", _tainted("latepkg"), LONG_AGO)])
    settings = ProxySettings(
        upstream=world.upstream.url,
        db_path=tmp_path / "db.sqlite3",
        cache_dir=tmp_path / "cache",
        policy=POLICY,
        prescan_timeout=0,
    )
    with serve_in_thread(create_app(settings, judge=Judge(POLICY, None, world.clock))) as server:
        page = _get(f"{server.index_url}latepkg/").json()
        assert _yanked(page, "latepkg-1.0-py3-none-any.whl") is False
        url = f"{server.url}/files/latepkg/{world.sha['latepkg-1.0-py3-none-any.whl']}/latepkg-1.0-py3-none-any.whl"
        refused = _get(url, follow_redirects=True)
        assert refused.status_code == 403
        assert "scan verdict malicious" in refused.text
        # Known now: the next page says so.
        assert "scan verdict malicious" in str(
            _yanked(_get(f"{server.index_url}latepkg/").json(), "latepkg-1.0-py3-none-any.whl")
        )


# -- the upstream client, against canned answers ------------------------------------------------------


def _json_page(files: list[dict[str, Any]]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "pkg", "files": files}).encode()


def _upstream(tmp_path: Path, handler: Any, **kwargs: Any) -> Any:
    from depvet.guard.upstream import PageStore, Upstream

    return Upstream(
        "https://user:secret@index.example/simple/",
        ArtifactCache(tmp_path / "cache"),
        pages=PageStore(tmp_path / "db.sqlite3"),
        transport=httpx.MockTransport(handler),
        **kwargs,
    )


def test_the_upstream_client_revalidates_with_etags_and_keeps_pages_for_when_it_fails(tmp_path: Path) -> None:
    import asyncio

    from depvet.guard.upstream import UpstreamNotFound

    body = _json_page(
        [{"filename": "pkg-1.0-py3-none-any.whl", "url": "pkg-1.0-py3-none-any.whl", "hashes": {}}]
    )
    answers = iter(["page", "not-modified", "boom", "gone"])
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = next(answers)
        if answer == "page":
            return httpx.Response(200, content=body, headers={"Content-Type": JSON_TYPE, "ETag": '"v1"'})
        if answer == "not-modified":
            return httpx.Response(304)
        if answer == "boom":
            return httpx.Response(503)
        return httpx.Response(404)

    async def scenario() -> None:
        upstream = _upstream(tmp_path, handler, page_ttl=0, retry_after=0)
        try:
            first = await upstream.page("pkg")
            assert [f.filename for f in first.files] == ["pkg-1.0-py3-none-any.whl"]
            assert first.stale is None
            again = await upstream.page("pkg")
            assert again.stale is None
            assert seen[1].headers["If-None-Match"] == '"v1"'
            failed = await upstream.page("pkg")
            assert failed.stale is not None
            assert upstream.down_since is not None
            with pytest.raises(UpstreamNotFound):
                await upstream.page("pkg")
            assert upstream.known_projects() == []  # a project the upstream dropped is forgotten
        finally:
            await upstream.aclose()
            assert upstream.pages is not None
            upstream.pages.close()

    asyncio.run(scenario())
    assert seen[0].headers["Authorization"] == "Basic dXNlcjpzZWNyZXQ="  # user:secret, as pip sends it
    assert seen[0].headers["Accept"].startswith(JSON_TYPE)


def test_the_upstream_client_checks_metadata_hashes_and_refuses_https_downgrades(tmp_path: Path) -> None:
    import asyncio

    from depvet.artifacts.simpleindex import IndexFile
    from depvet.guard.upstream import HashMismatch, UpstreamRefused

    metadata = b"Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\n"

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "files.example":
            assert "Authorization" not in request.headers  # credentials stay with the index's origin
        if request.url.path.endswith("/good.whl.metadata") or request.url.path.endswith("/bad.whl.metadata"):
            return httpx.Response(200, content=metadata)
        if request.url.scheme == "https" and request.url.path.endswith("/moved.whl.metadata"):
            return httpx.Response(302, headers={"Location": "http://index.example/moved.whl.metadata"})
        return httpx.Response(200, content=metadata)

    def file(name: str, host: str, core: str | bool) -> IndexFile:
        return IndexFile(name, f"https://{host}/{name}", None, None, False, None, None, core)

    async def scenario() -> None:
        upstream = _upstream(tmp_path, handler)
        try:
            digest = hashlib.sha256(metadata).hexdigest()
            assert await upstream.metadata(file("good.whl", "files.example", digest)) == metadata
            with pytest.raises(HashMismatch, match="not served"):
                await upstream.metadata(file("bad.whl", "files.example", "0" * 64))
            with pytest.raises(UpstreamRefused, match="from https to http"):
                await upstream.metadata(file("moved.whl", "index.example", True))
        finally:
            await upstream.aclose()
            assert upstream.pages is not None
            upstream.pages.close()

    asyncio.run(scenario())
