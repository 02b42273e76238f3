"""``depvet check``: lockfiles, environments and artifact names against known-bad releases,
vulnerabilities, a cooldown and the name check; and ``scan`` running the same check first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from demo.builders import write_site_packages, write_wheel

from depvet.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from tests.advisories.osvdata import record, write_dir
from tests.conftest import run_cli
from tests.localindex import JSON_TYPE, IndexServer, Route, running
from tests.report.test_sarif import SCHEMA_PATH, validate

UV_LOCK = """\
version = 1
revision = 2
requires-python = ">=3.11"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "litellm" }, { name = "requests" }]

[[package]]
name = "litellm"
version = "1.82.8"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.pythonhosted.org/packages/litellm-1.82.8-py3-none-any.whl", hash = "sha256:{h}", upload-time = "2026-03-24T10:52:19.000Z" }]

[[package]]
name = "requests"
version = "2.32.3"
source = { registry = "https://pypi.org/simple" }
wheels = [{ url = "https://files.pythonhosted.org/packages/requests-2.32.3-py3-none-any.whl", hash = "sha256:{h}", upload-time = "2024-05-29T15:37:47.000Z" }]
""".replace("{h}", "0" * 64)


def _check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run_cli(["check", "--format", "json", *args], capsys)
    return code, json.loads(out) if out.startswith("{") else {}, err


def _by_name(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in document["results"]}


def test_uv_lock_with_a_tainted_release_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    code, document, err = _check(capsys, str(lock))
    assert code == EXIT_FINDINGS
    results = _by_name(document)
    assert set(results) == {"litellm", "requests"}
    bad = results["litellm"]
    assert bad["verdict"] == "malicious"
    finding = bad["findings"][0]
    assert finding["rule_id"] == "DV010"
    assert finding["severity"] == "critical"
    assert "MAL-2026-2144" in finding["evidence"]
    assert "https://" in finding["evidence"]
    assert finding["path"] == str(lock)
    assert bad["input"]["pulled_in_by"] == ["app"]
    assert results["requests"]["verdict"] == "clean"
    assert results["requests"]["findings"] == []
    assert document["not_scanned"][0]["requirement"] == "app"  # the editable project itself
    assert "only the curated tainted releases" in err  # before the first db update, said once


def test_the_terminal_report_lists_only_what_was_found(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    code, out, _ = run_cli(["check", str(lock), "-q"], capsys)
    assert code == EXIT_FINDINGS
    assert "MALICIOUS" in out
    assert "litellm 1.82.8" in out
    assert "requests" not in out
    assert "2 packages checked: 1 malicious, 1 clean" in out


def test_project_directory_means_its_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "uv.lock").write_text(UV_LOCK)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "0.1.0"\n')
    code, document, _ = _check(capsys, str(tmp_path), "-q")
    assert code == EXIT_FINDINGS
    assert _by_name(document)["litellm"]["verdict"] == "malicious"


def test_a_pyproject_is_refused_rather_than_resolved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "app"\nversion = "0"\ndependencies = ["litellm==1.82.8"]\n')
    code, _, err = _check(capsys, str(pyproject))
    assert code == EXIT_ERROR
    assert "check the project's lockfile" in err
    assert "Traceback" not in err


def test_environment_and_artifact_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = tmp_path / "venv"
    write_site_packages(venv, "litellm", "1.82.8", {"litellm/__init__.py": ""})
    write_site_packages(venv, "requests", "2.32.3", {"requests/__init__.py": ""})
    wheel = tmp_path / "ultralytics-8.3.41-py3-none-any.whl"
    wheel.write_bytes(b"")  # check reads the name only, never the file
    code, document, _ = _check(capsys, str(venv), str(wheel), "-q")
    assert code == EXIT_FINDINGS
    results = _by_name(document)
    assert results["litellm"]["verdict"] == "malicious"
    assert results["litellm"]["findings"][0]["path"].endswith("litellm-1.82.8.dist-info")
    assert results["requests"]["verdict"] == "clean"
    assert results["ultralytics"]["verdict"] == "malicious"


def test_a_clean_lock_exits_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("litellm==1.82.6\nrequests==2.32.3 --hash=sha256:" + "0" * 64 + "\n")
    code, document, _ = _check(capsys, str(requirements), "-q")
    assert code == EXIT_OK
    assert [r["verdict"] for r in document["results"]] == ["clean", "clean"]


def test_osv_records_and_vulnerabilities(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_dir(
        tmp_path / "osv",
        [
            record("MAL-2026-900", "Evil_Pkg", versions=["0.3"]),
            record(
                "GHSA-2222-3333-4444",
                "somelib",
                events=[{"introduced": "0"}, {"fixed": "2.0"}],
                severity="MODERATE",
            ),
            record(
                "PYSEC-2026-77",
                "somelib",
                events=[{"introduced": "0"}, {"fixed": "2.0"}],
                aliases=["GHSA-2222-3333-4444"],
            ),
            record("GHSA-5555-6666-7777", "critlib", versions=["1.0"], severity="CRITICAL"),
        ],
    )
    assert run_cli(["db", "update", "--from", str(source), "-q"], capsys)[0] == EXIT_OK
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("evil-pkg==0.3\nsomelib==1.9\ncritlib==1.0\n")

    code, document, _ = _check(capsys, str(requirements), "-q")
    assert code == EXIT_FINDINGS
    results = _by_name(document)
    assert [f["rule_id"] for f in results["evil-pkg"]["findings"]] == ["DV010"]
    assert results["somelib"]["findings"] == []  # vulnerabilities only with --vulns

    code, document, _ = _check(capsys, str(requirements), "-q", "--vulns")
    results = _by_name(document)
    somelib = results["somelib"]["findings"]
    assert [(f["rule_id"], f["severity"]) for f in somelib] == [("DV011", "medium")]  # one, not two
    assert "GHSA-2222-3333-4444 (PYSEC-2026-77)" in somelib[0]["evidence"]
    # Critical in its record, capped at high: critical means malware in the release.
    assert [(f["rule_id"], f["severity"]) for f in results["critlib"]["findings"]] == [("DV011", "high")]

    requirements.write_text("somelib==1.9\n")
    assert _check(capsys, str(requirements), "-q", "--vulns")[0] == EXIT_OK
    assert _check(capsys, str(requirements), "-q", "--vulns", "--fail-on", "medium")[0] == EXIT_FINDINGS


def test_sarif_output_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK)
    code, out, _ = run_cli(["check", str(lock), "--format", "sarif", "-q"], capsys)
    assert code == EXIT_FINDINGS
    log = json.loads(out)
    validate(log, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    [result] = log["runs"][0]["results"]
    assert result["ruleId"] == "DV010"


def _pylock(uploaded: str | None) -> str:
    when = f"upload-time = {uploaded}, " if uploaded else ""
    return (
        'lock-version = "1.0"\ncreated-by = "test"\n\n[[packages]]\nname = "rich"\nversion = "14.1.0"\n'
        f'wheels = [{{ name = "rich-14.1.0-py3-none-any.whl", {when}'
        'url = "https://files.example/rich-14.1.0-py3-none-any.whl", '
        f'hashes = {{ sha256 = "{"1" * 64}" }} }}]\n'
    )


def test_cooldown_from_the_lock_and_as_of(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lock = tmp_path / "pylock.toml"
    lock.write_text(_pylock("2026-03-22T09:00:00Z"))
    args = [str(lock), "-q", "--min-age", "7d"]
    code, document, _ = _check(capsys, *args, "--as-of", "2026-03-25")
    assert code == EXIT_FINDINGS
    [finding] = document["results"][0]["findings"]
    assert finding["rule_id"] == "DV012"
    assert "uploaded 2026-03-22 09:00 UTC, 2.6 days ago" in finding["evidence"]
    assert "cooldown of 7 days" in finding["evidence"]
    assert _check(capsys, *args, "--as-of", "2026-03-29T09:00:01Z")[0] == EXIT_OK
    assert _check(capsys, str(lock), "-q")[0] == EXIT_OK  # no cooldown unless asked
    assert (
        _check(capsys, *args, "--as-of", "2026-03-20")[1]["results"][0]["findings"][0]["rule_id"] == "DV012"
    )


@pytest.mark.parametrize("page", ["json", "html"])
def test_cooldown_asks_the_index_when_the_lock_has_no_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], page: str
) -> None:
    files = [
        ("rich-14.1.0.tar.gz", "2026-03-22T09:00:05Z"),
        ("rich-14.1.0-py3-none-any.whl", "2026-03-22T09:00:00Z"),
        ("rich-14.0.0-py3-none-any.whl", "2026-01-01T00:00:00Z"),
    ]
    body = json.dumps(
        {
            "meta": {"api-version": "1.1"},
            "name": "rich",
            "files": [
                {"filename": n, "url": f"/files/{n}", "hashes": {"sha256": "2" * 64}, "upload-time": t}
                for n, t in files
            ],
        }
    ).encode()
    html = "".join(
        f'<a href="/files/{n}#sha256={"2" * 64}" data-upload-time="{t}">{n}</a>\n' for n, t in files
    )
    route = Route(html.encode(), json_body=body if page == "json" else None)
    server = IndexServer(tmp_path, routes={"/simple/rich/": route})
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("rich==14.1.0\n")
    with running(server):
        args = [
            str(requirements),
            "-q",
            "--min-age",
            "7d",
            "--as-of",
            "2026-03-25",
            "-i",
            f"{server.url}/simple/",
        ]
        code, document, _ = _check(capsys, *args)
        accepts = [s.accept or "" for s in server.seen]
    assert code == EXIT_FINDINGS
    [finding] = document["results"][0]["findings"]
    assert "uploaded 2026-03-22 09:00 UTC" in finding["evidence"]
    assert JSON_TYPE in accepts[0]


def test_unknown_release_age_is_reported_not_passed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = f'<a href="/files/rich-14.1.0-py3-none-any.whl#sha256={"2" * 64}">rich-14.1.0-py3-none-any.whl</a>'
    server = IndexServer(tmp_path, routes={"/simple/rich/": Route(html.encode())})
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("rich==14.1.0\n")
    with running(server):
        _, out, err = run_cli(
            [
                "check",
                str(requirements),
                "--min-age",
                "7d",
                "-i",
                f"{server.url}/simple/",
                "--format",
                "json",
            ],
            capsys,
        )
    document = json.loads(out)
    assert [n["reason"] for n in document["not_scanned"]] == [
        "release age unknown: neither the lock nor the index gives an upload time"
    ]
    assert "rich==14.1.0: release age unknown" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-01-01"], "--as-of only applies with --min-age"),
        (["--min-age", "soon"], "not a duration"),
        (["--min-age", "7d", "--as-of", "yesterday"], "not a date"),
        ([], "check needs at least one TARGET"),
    ],
)
def test_usage_errors(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = [str(tmp_path / "requirements.txt")] if args else []
    (tmp_path / "requirements.txt").write_text("rich==14.1.0\n")
    code, _, err = run_cli(["check", *target, *args], capsys)
    assert code == EXIT_ERROR
    assert message in err


def test_scan_runs_the_check_first_and_never_fetches_a_known_bad_pin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dead_url: str
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("litellm==1.82.8\n")
    code, out, err = run_cli(
        ["scan", str(requirements), "-i", f"{dead_url}/simple/", "--format", "json", "-q"], capsys
    )
    assert code == EXIT_FINDINGS, err  # not 2: nothing had to be fetched
    [result] = json.loads(out)["results"]
    assert result["verdict"] == "malicious"
    assert result["error"] is None
    assert result["findings"][0]["rule_id"] == "DV010"


def test_scan_of_an_artifact_adds_known_bad_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = write_wheel(tmp_path, "num2words", "0.5.15", {"num2words/__init__.py": "VERSION = '0.5.15'\n"})
    code, out, _ = run_cli(["scan", str(wheel), "--format", "json", "-q", "--no-cache"], capsys)
    assert code == EXIT_FINDINGS
    [result] = json.loads(out)["results"]
    assert result["verdict"] == "malicious"
    assert [f["rule_id"] for f in result["findings"]] == ["DV010"]


def test_a_malformed_upload_time_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK.replace('upload-time = "2024-05-29T15:37:47.000Z"', 'upload-time = "last week"'))
    code, _, err = _check(capsys, str(lock), "--min-age", "7d")
    assert code == EXIT_ERROR
    assert "'upload-time' 'last week' is not an RFC 3339 time" in err


def test_a_cyclonedx_sbom(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sbom = tmp_path / "bom.cdx.json"
    components = [
        {"type": "library", "name": n, "version": v, "purl": f"pkg:pypi/{n}@{v}"}
        for n, v in (("telnyx", "4.87.2"), ("telnyx-helpers", "1.0"), ("requests", "2.32.3"))
    ]
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.6", "components": components}))
    code, document, _ = _check(capsys, str(sbom), "-q")
    assert code == EXIT_FINDINGS
    assert {r["name"]: r["verdict"] for r in document["results"]} == {
        "telnyx": "malicious",
        "telnyx-helpers": "clean",
        "requests": "clean",
    }


def test_sarif_names_what_was_not_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("litellm==1.82.8\nrequests>=2\n")
    code, out, _ = run_cli(["check", str(requirements), "--format", "sarif", "-q"], capsys)
    assert code == EXIT_FINDINGS
    log = json.loads(out)
    validate(log, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    [invocation] = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True  # a warning, not a failure
    [warning] = invocation["toolExecutionNotifications"]
    assert warning["level"] == "warning"
    assert warning["message"]["text"].startswith("requests>=2: ")
    assert warning["locations"][0]["physicalLocation"]["region"] == {"startLine": 2}
