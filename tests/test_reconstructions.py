"""Inert reconstructions of real incidents, built as text: each must get the verdict it deserves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo import reconstructions
from demo.builders import write_sdist, write_wheel

from depvet.cli import EXIT_FINDINGS, main
from depvet.model import Severity, Verdict

from .conftest import ScanFiles, rule_ids


def test_litellm_1_82_8_wheel_is_malicious_with_the_pth_finding_first(scan_files: ScanFiles) -> None:
    result = scan_files(reconstructions.litellm_1_82_8(), artifact="wheel", name="litellm", version="1.82.8")
    assert result.verdict is Verdict.MALICIOUS
    first = result.findings[0]
    assert first.rule_id == "DV101"
    assert first.path.endswith("litellm_init.pth")
    assert first.severity is Severity.CRITICAL
    # The decoded payload's behaviour is reported against the .pth, with what was decoded.
    decoded = [f for f in result.findings if f.path.endswith(".pth") and "decoded" in f.evidence]
    assert {"DV301", "DV901"} <= {f.rule_id for f in decoded}


def test_ultralytics_style_install_time_download_and_run_is_malicious(scan_files: ScanFiles) -> None:
    result = scan_files(
        reconstructions.ultralytics_style(), artifact="sdist", name="ultralytics", version="8.3.41"
    )
    assert result.verdict is Verdict.MALICIOUS
    assert "DV502" in rule_ids(result)
    assert all(f.path.endswith("setup.py") for f in result.findings if f.severity is Severity.CRITICAL)


def test_ctx_style_environment_exfiltration_is_malicious(scan_files: ScanFiles) -> None:
    result = scan_files(reconstructions.ctx_style(), artifact="sdist", name="ctx", version="0.2.6")
    assert result.verdict is Verdict.MALICIOUS
    assert "DV901" in rule_ids(result)


def test_benign_look_alike_sdk_is_clean(scan_files: ScanFiles) -> None:
    result = scan_files(reconstructions.benign_sdk(), artifact="sdist", name="cloudkit", version="2.0.0")
    assert result.verdict is Verdict.CLEAN
    assert not [f for f in result.findings if f.severity.rank >= Severity.MEDIUM.rank]


@pytest.mark.parametrize("output_format", ["json", "sarif"])
def test_cli_reports_the_litellm_wheel_as_malicious(
    tmp_path: Path, output_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    wheel = write_wheel(tmp_path, "litellm", "1.82.8", reconstructions.litellm_1_82_8())
    sdist = write_sdist(tmp_path, "cloudkit", "2.0.0", reconstructions.benign_sdk())
    assert main(["scan", "-q", "-j", "1", "--format", output_format, str(wheel), str(sdist)]) == EXIT_FINDINGS
    document = json.loads(capsys.readouterr().out)
    if output_format == "json":
        verdicts = {r["name"]: r["verdict"] for r in document["results"]}
        assert verdicts == {"litellm": "malicious", "cloudkit": "clean"}
    else:
        results = document["runs"][0]["results"]
        assert results[0]["ruleId"] == "DV101"
        assert all("cloudkit" not in json.dumps(r["locations"]) for r in results)
