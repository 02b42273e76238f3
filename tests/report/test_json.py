"""The JSON contract of ``depvet scan --format json`` (docs/json-format.md), key for key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from demo.builders import write_sdist, write_site_packages, write_tree, write_wheel

from depvet import __version__
from depvet.model import Category, Finding, RunContext, ScanResult, Severity, Verdict
from depvet.report import json_report
from depvet.scanning import expand_targets, scan_all

TOP_KEYS = {"schema_version", "tool", "results", "not_scanned"}
TOOL_KEYS = {"name", "version"}
RESULT_KEYS = {
    "target",
    "name",
    "version",
    "sha256",
    "verdict",
    "score",
    "findings",
    "error",
    "cached",
    "input",
}
FINDING_KEYS = {"rule_id", "severity", "category", "title", "path", "line", "evidence"}
VERDICTS = {"malicious", "suspicious", "clean", "error"}
SEVERITIES = {"critical", "high", "medium", "low", "info"}
PTH = 'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", "print(1)"])\n'


def document(results: list[ScanResult]) -> dict[str, Any]:
    text = json_report.render(results)
    assert text.endswith("\n")
    data: dict[str, Any] = json.loads(text)
    return data


def check_contract(data: dict[str, Any]) -> None:
    assert set(data) == TOP_KEYS
    assert data["schema_version"] == 2
    assert set(data["tool"]) == TOOL_KEYS
    assert data["tool"] == {"name": "depvet", "version": __version__}
    for result in data["results"]:
        assert set(result) == RESULT_KEYS
        assert isinstance(result["target"], str)
        for key in ("name", "version", "sha256", "error"):
            assert result[key] is None or isinstance(result[key], str), key
        assert result["verdict"] in VERDICTS
        assert isinstance(result["score"], int | float)
        assert not isinstance(result["score"], bool)
        for item in result["findings"]:
            assert set(item) == FINDING_KEYS
            assert item["severity"] in SEVERITIES
            assert item["category"] in {str(c) for c in Category}
            assert item["line"] is None or (isinstance(item["line"], int) and item["line"] >= 1)
            for key in ("rule_id", "title", "path", "evidence"):
                assert isinstance(item[key], str), key


@pytest.fixture
def samples(tmp_path: Path) -> dict[str, str]:
    wheel = write_wheel(tmp_path, "evil", "1.0", {"evil.pth": PTH, "evil/__init__.py": "X = 1\n"})
    sdist = write_sdist(tmp_path, "tidy", "2.0", {"tidy/__init__.py": "Y = 2\n"})
    clean = write_tree(tmp_path / "clean", {"clean/__init__.py": "Z = 3\n"})
    corrupt = tmp_path / "broken-1.0-py3-none-any.whl"
    corrupt.write_bytes(b"this is not a zip archive")
    return {
        "wheel": str(wheel),
        "sdist": str(sdist),
        "clean": str(clean),
        "corrupt": str(corrupt),
        "missing": str(tmp_path / "missing-1.0.tar.gz"),
    }


def test_a_real_scan_follows_the_contract(samples: dict[str, str]) -> None:
    data = document(scan_all(expand_targets(list(samples.values())), jobs=1))
    check_contract(data)
    by_target = {r["target"]: r for r in data["results"]}
    evil = by_target[samples["wheel"]]
    assert (evil["name"], evil["version"], evil["verdict"]) == ("evil", "1.0", "malicious")
    assert evil["sha256"] is not None
    assert len(evil["sha256"]) == 64
    (pth,) = [f for f in evil["findings"] if f["rule_id"] == "DV101"]
    assert pth == {
        "rule_id": "DV101",
        "severity": "critical",
        "category": "startup-execution",
        "title": pth["title"],
        "path": "evil.pth",
        "line": 1,
        "evidence": pth["evidence"],
    }
    assert "subprocess.Popen" in pth["evidence"]
    assert by_target[samples["clean"]]["sha256"] is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_results_keep_input_order(samples: dict[str, str], jobs: int) -> None:
    order = [samples[k] for k in ("missing", "sdist", "wheel", "clean", "corrupt")]
    data = document(scan_all(expand_targets(order), jobs=jobs))
    assert [r["target"] for r in data["results"]] == order


def test_an_environment_gives_one_result_per_distribution(tmp_path: Path) -> None:
    venv = write_site_packages(tmp_path / "venv", "alpha", "1.0", {"alpha/__init__.py": "A = 1\n"})
    write_site_packages(venv, "beta", "2.0", {"beta/__init__.py": "B = 2\n"})
    wheel = write_wheel(tmp_path, "gamma", "3.0", {"gamma/__init__.py": "C = 3\n"})
    data = document(scan_all(expand_targets([str(venv), str(wheel)]), jobs=1))
    check_contract(data)
    assert [(r["name"], r["version"]) for r in data["results"]] == [
        ("alpha", "1.0"),
        ("beta", "2.0"),
        ("gamma", "3.0"),
    ]
    assert [Path(r["target"]).name for r in data["results"][:2]] == [
        "alpha-1.0.dist-info",
        "beta-2.0.dist-info",
    ]


@pytest.mark.parametrize("key", ["missing", "corrupt"])
def test_an_unreadable_target_is_one_error_result(samples: dict[str, str], key: str) -> None:
    data = document(scan_all(expand_targets([samples[key]]), jobs=1))
    check_contract(data)
    (result,) = data["results"]
    assert result["target"] == samples[key]
    assert result["verdict"] == "error"
    assert isinstance(result["error"], str)
    assert result["error"]
    assert "\n" not in result["error"]
    assert result["findings"] == []
    assert (result["name"], result["version"], result["sha256"]) == (None, None, None)


def test_a_finding_without_a_line_is_null() -> None:
    finding = Finding("DV805", Severity.LOW, Category.ANOMALY, "A link", "pkg/a.py", None, "-> b.py")
    result = ScanResult("t.tar.gz", "t", "1", None, Verdict.CLEAN, 1.0, (finding,), reasons=("r",))
    data = document([result])
    check_contract(data)
    assert data["results"][0]["findings"][0]["line"] is None


def test_internal_fields_stay_out_of_the_contract() -> None:
    finding = Finding(
        "DV201",
        Severity.HIGH,
        Category.OBFUSCATION,
        "t",
        "a.py",
        2,
        "e",
        RunContext.CALLED,
        decoded="import os",
        base_severity=Severity.CRITICAL,
    )
    result = ScanResult(
        "a.whl", "a", "1", "0" * 64, Verdict.SUSPICIOUS, 9.0, (finding,), None, ("why",), 3, 0.5
    )
    data = document([result])
    check_contract(data)


def test_empty_scan() -> None:
    data = document([])
    check_contract(data)
    assert data["results"] == []


def test_undecodable_file_names_keep_the_document_valid_utf8() -> None:
    finding = Finding("DV106", Severity.HIGH, Category.STARTUP, "t", "pkg/\udcff.py", 2, "e")
    text = json_report.render([ScanResult("pkg", None, None, None, Verdict.SUSPICIOUS, 9.0, (finding,))])
    text.encode("utf-8")
