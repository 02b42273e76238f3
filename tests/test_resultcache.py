"""Scan results are reused for the same bytes and the same analysis code, and only then."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from depvet import resultcache
from depvet.artifacts.targets import expand_target
from depvet.model import InputOrigin, Verdict
from depvet.resultcache import CacheError, ResultCache
from depvet.scanning import scan_all
from tests.conftest import ScanFiles

_PTH = "import base64; exec(base64.b64decode('cHJpbnQoMSk='))\n"


def test_a_second_scan_of_the_same_wheel_comes_from_the_cache(tmp_path: Path, scan_files: ScanFiles) -> None:
    first_result = scan_files({"evil_init.pth": _PTH, "evil/__init__.py": ""}, artifact="wheel")
    wheel = first_result.target
    with ResultCache(tmp_path / "results.sqlite3") as cache:
        (first,) = scan_all(expand_target(wheel), cache=cache)
        (second,) = scan_all(expand_target(wheel), cache=cache)
    assert not first.cached
    assert second.cached
    assert second.verdict is first.verdict is Verdict.MALICIOUS
    assert second.findings == first.findings
    assert second.target == wheel


def test_a_new_version_of_the_analysis_code_scans_again(
    tmp_path: Path, scan_files: ScanFiles, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = scan_files({"ok/__init__.py": "x = 1\n"}, artifact="wheel").target
    with ResultCache(tmp_path / "results.sqlite3") as cache:
        scan_all(expand_target(wheel), cache=cache)
        monkeypatch.setattr(resultcache, "ruleset_version", lambda: "a-newer-ruleset")
        (again,) = scan_all(expand_target(wheel), cache=cache)
        assert not again.cached
        assert cache.count() == (1, 2)


def test_the_origin_is_the_callers_not_the_stored_one(tmp_path: Path, scan_files: ScanFiles) -> None:
    wheel = scan_files({"ok/__init__.py": "x = 1\n"}, artifact="wheel").target
    (ref,) = expand_target(wheel)
    origin = InputOrigin("uv.lock", "ok", "1.0", ("app",))
    with ResultCache(tmp_path / "results.sqlite3") as cache:
        scan_all([ref], cache=cache)
        from dataclasses import replace

        (hit,) = scan_all([replace(ref, origin=origin, target="ok==1.0")], cache=cache)
    assert hit.cached
    assert hit.origin == origin
    assert hit.target == "ok==1.0"


def test_errors_are_not_remembered(tmp_path: Path) -> None:
    broken = tmp_path / "broken-1.0-py3-none-any.whl"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with ResultCache(tmp_path / "results.sqlite3") as cache:
        (result,) = scan_all(expand_target(str(broken)), cache=cache)
        assert result.verdict is Verdict.ERROR
        assert cache.count() == (0, 0)


def test_a_damaged_row_is_a_miss_not_a_wrong_answer(tmp_path: Path, scan_files: ScanFiles) -> None:
    wheel = scan_files({"ok/__init__.py": "x = 1\n"}, artifact="wheel").target
    database = tmp_path / "results.sqlite3"
    with ResultCache(database) as cache:
        scan_all(expand_target(wheel), cache=cache)
    with sqlite3.connect(database) as raw:
        raw.execute('UPDATE results SET result = \'{"verdict": "clean"\'')
    with ResultCache(database) as cache:
        (again,) = scan_all(expand_target(wheel), cache=cache)
    assert not again.cached


def test_an_unusable_database_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "results.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="cannot open the results cache"):
        ResultCache(tmp_path / "results.sqlite3")
