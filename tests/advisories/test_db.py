"""``depvet db update`` / ``db info``: incremental, atomic imports into a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from depvet.advisories import importer
from depvet.advisories.importer import import_osv
from depvet.advisories.match import match_releases
from depvet.advisories.store import (
    SCHEMA_VERSION,
    AdvisoryDbError,
    AdvisoryStore,
    default_db_path,
)
from depvet.userdirs import user_data_dir
from tests.advisories.osvdata import record, write_dir, write_zip
from tests.conftest import run_cli
from tests.localindex import IndexServer, Route, running

RECORDS = [
    record("MAL-2026-100", "evilpkg", versions=["1.0", "1.1"]),
    record("MAL-2026-101", "Typo_Squat", events=[{"introduced": "0"}]),
    record("PYSEC-2026-5", "somelib", events=[{"introduced": "1.0"}, {"fixed": "1.4"}], severity="HIGH"),
    record("MAL-2026-102", "left-pad", versions=["1.0"], ecosystem="npm"),
]


def _malicious(*releases: tuple[str, str], vulnerabilities: bool = False) -> dict[tuple[str, str], list[str]]:
    with AdvisoryStore(default_db_path(), readonly=True) as store:
        found = match_releases(
            releases, store if store.exists else None, vulnerabilities=vulnerabilities, curated=[]
        )
    return {release: [m.advisory.id for m in matches] for release, matches in found.items()}


def test_import_from_a_directory_then_again_is_incremental(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_dir(tmp_path / "malicious-packages", RECORDS)
    code, out, _ = run_cli(["db", "update", "--from", str(source), "-q"], capsys)
    assert code == 0
    assert "4 records" in out
    assert "3 added" in out
    assert "1 not about PyPI" in out
    assert "new malicious: MAL-2026-100 evilpkg" in out
    assert _malicious(("evilpkg", "1.1"), ("typo-squat", "9.9"), ("evilpkg", "2.0")) == {
        ("evilpkg", "1.1"): ["MAL-2026-100"],
        ("typo-squat", "9.9"): ["MAL-2026-101"],
    }
    assert _malicious(("somelib", "1.3"), vulnerabilities=True) == {("somelib", "1.3"): ["PYSEC-2026-5"]}
    assert _malicious(("somelib", "1.3")) == {}  # vulnerabilities only when asked

    code, out, _ = run_cli(["db", "update", "--from", str(source), "-q"], capsys)
    assert "0 added, 0 updated, 3 unchanged, 1 not about PyPI" in out

    changed = [
        *RECORDS[:2],
        record(
            "PYSEC-2026-5",
            "somelib",
            events=[{"introduced": "1.0"}, {"fixed": "1.3"}],
            modified="2026-04-01T00:00:00Z",
        ),
    ]
    write_dir(source, changed)
    code, out, _ = run_cli(["db", "update", "--from", str(source), "-q"], capsys)
    assert "0 added, 1 updated" in out
    assert _malicious(("somelib", "1.3"), vulnerabilities=True) == {}

    # A record whose version list shrinks: the version it dropped stops matching.
    write_dir(source, [record("MAL-2026-100", "evilpkg", versions=["1.0"], modified="2026-05-01T00:00:00Z")])
    run_cli(["db", "update", "--from", str(source), "-q"], capsys)
    assert _malicious(("evilpkg", "1.0"), ("evilpkg", "1.1")) == {("evilpkg", "1.0"): ["MAL-2026-100"]}


def test_withdrawn_records_stop_matching(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(["db", "update", "--from", str(write_zip(tmp_path / "a.zip", RECORDS[:1])), "-q"], capsys)
    assert _malicious(("evilpkg", "1.0"))
    withdrawn = record(
        "MAL-2026-100",
        "evilpkg",
        versions=["1.0"],
        withdrawn="2026-03-25T00:00:00Z",
        modified="2026-03-25T00:00:00Z",
    )
    code, out, _ = run_cli(
        ["db", "update", "--from", str(write_zip(tmp_path / "b.zip", [withdrawn])), "-q"], capsys
    )
    assert code == 0
    assert "1 withdrawn" in out
    assert _malicious(("evilpkg", "1.0")) == {}
    code, out, _ = run_cli(["db", "info", "--format", "json"], capsys)
    info = json.loads(out)
    assert (info["malicious"], info["withdrawn"], info["exists"]) == (0, 1, True)


def test_zip_export_and_single_json_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(
        ["db", "update", "--from", str(write_zip(tmp_path / "all.zip", RECORDS)), "-q"], capsys
    )
    assert code == 0
    assert "3 added" in out
    single = tmp_path / "MAL-2026-200.json"
    single.write_text(json.dumps(record("MAL-2026-200", "another", versions=["0.1"])))
    code, out, _ = run_cli(["db", "update", "--from", str(single), "-q"], capsys)
    assert code == 0
    assert "1 added" in out
    assert _malicious(("another", "0.1")) == {("another", "0.1"): ["MAL-2026-200"]}


def test_invalid_records_are_reported_and_the_rest_imported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_dir(tmp_path / "src", RECORDS[:1])
    (source / "broken.json").write_text("{ not json")
    (source / "noid.json").write_text(json.dumps({"modified": "2026-01-01T00:00:00Z"}))
    code, out, _ = run_cli(["db", "update", "--from", str(source), "-q"], capsys)
    assert code == 0
    assert "skipped 2 records that are not valid OSV" in out
    assert "broken.json: not JSON" in out
    assert _malicious(("evilpkg", "1.0"))


def test_corrupt_zip_leaves_the_old_database_working(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_cli(["db", "update", "--from", str(write_dir(tmp_path / "src", RECORDS)), "-q"], capsys)
    good = write_zip(tmp_path / "good.zip", [*RECORDS, record("MAL-2026-300", "newbad", versions=["1"])])
    data = good.read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(data[: len(data) // 2])
    code, _, err = run_cli(["db", "update", "--from", str(truncated), "-q"], capsys)
    assert code == 2
    assert "not a readable zip archive" in err
    assert "nothing changed" in err
    assert "Traceback" not in err

    # A member whose compressed bytes are damaged: the central directory is intact, the data is not.
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(good) as archive:
        offset = archive.getinfo("MAL-2026-300.json").header_offset
    blob = bytearray(data)
    for i in range(offset + 60, offset + 80):
        blob[i] ^= 0xFF
    damaged.write_bytes(bytes(blob))
    code, _, err = run_cli(["db", "update", "--from", str(damaged), "-q"], capsys)
    assert code == 2
    assert "nothing changed" in err
    assert _malicious(("newbad", "1")) == {}
    assert _malicious(("evilpkg", "1.0")) == {("evilpkg", "1.0"): ["MAL-2026-100"]}


def test_an_interrupted_import_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with AdvisoryStore(default_db_path()) as store:
        import_osv(store, str(write_zip(tmp_path / "first.zip", RECORDS[:1])))
    new = [record(f"MAL-2026-{400 + i}", f"bad{i}", versions=["1"]) for i in range(10)]
    source = write_zip(tmp_path / "second.zip", new)
    calls = 0

    def interrupted(*args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 6:
            raise KeyboardInterrupt  # half of the records are written inside the transaction
        real(*args)

    real = importer._import_one
    monkeypatch.setattr(importer, "_import_one", interrupted)
    with AdvisoryStore(default_db_path()) as store, pytest.raises(KeyboardInterrupt):
        import_osv(store, str(source))
    assert _malicious(("bad0", "1")) == {}
    assert _malicious(("evilpkg", "1.0")) == {("evilpkg", "1.0"): ["MAL-2026-100"]}
    with AdvisoryStore(default_db_path(), readonly=True) as store:
        assert store.info().malicious == 1


def test_import_from_a_url_and_an_unreachable_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dead_url: str
) -> None:
    export = write_zip(tmp_path / "all.zip", RECORDS)
    server = IndexServer(
        tmp_path, routes={"/PyPI/all.zip": Route(export.read_bytes(), content_type="application/zip")}
    )
    with running(server):
        code, out, _ = run_cli(["db", "update", "--from", f"{server.url}/PyPI/all.zip", "-q"], capsys)
        assert code == 0
        assert "3 added" in out
        code, _, err = run_cli(["db", "update", "--from", f"{server.url}/missing.zip", "-q"], capsys)
        assert code == 2
        assert "HTTP 404" in err
    code, _, err = run_cli(["db", "update", "--from", f"{dead_url}/all.zip", "-q"], capsys)
    assert code == 2
    assert "connection refused" in err
    assert "nothing changed" in err
    assert _malicious(("evilpkg", "1.0"))


def test_missing_source_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["db", "update", "--from", str(tmp_path / "nope"), "-q"], capsys)
    assert code == 2
    assert "no such file or directory" in err


def test_info_before_any_update(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["db", "info"], capsys)
    assert code == 0
    assert "no advisory database" in out
    assert "curated tainted releases shipped with depvet" in out
    assert not default_db_path().exists()  # reading never creates the file


def test_a_database_from_a_newer_depvet_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    path = default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(AdvisoryDbError, match="newer depvet"):
        AdvisoryStore(path, readonly=True).__enter__()
    code, _, err = run_cli(["db", "info"], capsys)
    assert code == 2
    assert "newer depvet" in err


def test_a_file_that_is_not_sqlite_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    path = default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"this is not a database" * 100)
    code, _, err = run_cli(["check", "--env", "-q"], capsys)
    assert code == 2
    assert "not a usable advisory database" in err


def test_migrations_bring_an_empty_file_to_the_current_schema(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    sqlite3.connect(path).close()
    with AdvisoryStore(path) as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert store.info().exists


@pytest.mark.parametrize(
    ("env", "platform", "expected"),
    [
        ({"DEPVET_DATA_DIR": "/data/dv"}, "linux", "/data/dv"),
        ({"XDG_DATA_HOME": "/xdg"}, "linux", "/xdg/depvet"),
        ({"XDG_DATA_HOME": "relative"}, "linux", "/home/u/.local/share/depvet"),
        ({}, "darwin", "/home/u/Library/Application Support/depvet"),
        ({"LOCALAPPDATA": "/appdata"}, "win32", "/appdata/depvet/Data"),
    ],
)
def test_user_data_dir(env: dict[str, str], platform: str, expected: str) -> None:
    assert user_data_dir(env, Path("/home/u"), platform) == Path(expected)
