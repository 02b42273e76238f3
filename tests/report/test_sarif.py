"""SARIF output: valid against the vendored OASIS schema, and shaped the way GitHub code scanning needs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from demo.builders import write_sdist, write_tree, write_wheel
from jsonschema.validators import validator_for

from depvet import __version__
from depvet.analysis.detectors import all_rules
from depvet.model import Category, Finding, RunContext, ScanResult, Severity, Verdict
from depvet.report import sarif
from depvet.scanning import expand_targets, scan_all

SCHEMA_PATH = Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json"
PTH = 'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", "print(1)"])\n'
SETUP = (
    "import os\nfrom setuptools import setup\n"
    "os.system('nohup ./updater >/dev/null 2>&1 &')\nsetup(name='x')\n"
)
# RFC 3986 URI-reference characters (unreserved, reserved, and percent escapes).
URI_REFERENCE = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
GITHUB_BUCKETS = {  # GitHub's reading of security-severity
    Severity.CRITICAL: (9.0, 10.0),
    Severity.HIGH: (7.0, 8.9),
    Severity.MEDIUM: (4.0, 6.9),
    Severity.LOW: (0.1, 3.9),
    Severity.INFO: (0.1, 3.9),
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return data


def validate(log: dict[str, Any], schema: dict[str, Any]) -> None:
    validator_cls = validator_for(schema)
    validator_cls.check_schema(schema)
    errors = sorted(validator_cls(schema).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors]


def render(results: list[ScanResult]) -> dict[str, Any]:
    text = sarif.render(results)
    assert text.isascii()
    data: dict[str, Any] = json.loads(text)
    return data


def run_of(log: dict[str, Any]) -> dict[str, Any]:
    (run,) = log["runs"]
    result: dict[str, Any] = run
    return result


def finding(
    rule_id: str = "DV101", *, line: int | None = 3, evidence: str = "x()", path: str = "a.py"
) -> Finding:
    return Finding(
        rule_id, Severity.CRITICAL, Category.STARTUP, "A title", path, line, evidence, RunContext.IMPORT
    )


def result_with(*findings: Finding, target: str = "pkg-1.0-py3-none-any.whl") -> ScanResult:
    return ScanResult(target, "pkg", "1.0", "ab" * 32, Verdict.MALICIOUS, 40.0, tuple(findings))


@pytest.fixture
def scanned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[ScanResult]:
    """A real scan from inside the folder holding the samples: a bad wheel, a bad sdist, a clean
    directory and a target that does not exist."""
    monkeypatch.chdir(tmp_path)
    write_wheel(tmp_path, "evil", "1.0", {"evil.pth": PTH, "evil/__init__.py": "X = 1\n"})
    write_sdist(tmp_path, "setupbad", "2.0", {"setup.py": SETUP, "setupbad/__init__.py": ""})
    write_tree(tmp_path / "clean", {"clean/__init__.py": "VALUE = 1\n"})
    targets = ["evil-1.0-py3-none-any.whl", "setupbad-2.0.tar.gz", "clean", "missing-1.0.tar.gz"]
    return scan_all(expand_targets(targets), jobs=1)


def test_real_scan_is_valid_sarif_2_1_0(scanned: list[ScanResult], schema: dict[str, Any]) -> None:
    log = render(scanned)
    validate(log, schema)
    assert log["version"] == "2.1.0"
    assert log["$schema"] == sarif.SARIF_SCHEMA == schema["id"]
    run = run_of(log)
    driver = run["tool"]["driver"]
    assert driver["name"] == "depvet"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    assert {r["ruleId"] for r in run["results"]} >= {"DV101", "DV104"}


def test_every_referenced_rule_exists_at_its_index(scanned: list[ScanResult]) -> None:
    run = run_of(render(scanned))
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert run["results"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert len(result["locations"]) == 1


def test_rules_come_from_the_registry_with_github_metadata() -> None:
    registry = all_rules()
    rules = run_of(render([]))["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == [r.id for r in registry]
    for descriptor, rule in zip(rules, registry, strict=True):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.title
        assert descriptor["fullDescription"]["text"]
        assert descriptor["help"]["text"]
        assert "**What it does**" in descriptor["help"]["markdown"]
        assert descriptor["defaultConfiguration"]["level"] == sarif.LEVEL[rule.severity]
        props = descriptor["properties"]
        assert props["security-severity"] == sarif.SECURITY_SEVERITY[rule.severity]
        assert props["precision"] in {"very-high", "high", "medium", "low"}
        tags = props["tags"]
        assert "security" in tags
        assert str(rule.category) in tags
        assert len(tags) == len(set(tags)) <= 10


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [
        (Severity.CRITICAL, "error", "9.5"),
        (Severity.HIGH, "error", "8.0"),
        (Severity.MEDIUM, "warning", "5.5"),
        (Severity.LOW, "note", "3.0"),
        (Severity.INFO, "note", "1.0"),
    ],
)
def test_levels_and_security_severity(severity: Severity, level: str, score: str) -> None:
    assert sarif.LEVEL[severity] == level
    assert sarif.SECURITY_SEVERITY[severity] == score
    low, high = GITHUB_BUCKETS[severity]
    assert low <= float(score) <= high


def test_every_severity_is_mapped() -> None:
    for table in (sarif.LEVEL, sarif.SECURITY_SEVERITY, sarif.PRECISION):
        assert set(table) == set(Severity)


def test_result_level_follows_the_weighted_finding_severity(scanned: list[ScanResult]) -> None:
    run = run_of(render(scanned))
    (pth,) = [r for r in run["results"] if r["ruleId"] == "DV101"]
    assert pth["level"] == "error"
    assert pth["properties"]["severity"] == "critical"
    assert pth["properties"]["package"] == "evil"
    assert pth["properties"]["verdict"] == "malicious"
    assert pth["properties"]["context"] == "startup"
    assert pth["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_fingerprints_are_stable_across_runs(scanned: list[ScanResult]) -> None:
    first = [r["partialFingerprints"] for r in run_of(render(scanned))["results"]]
    again = scan_all(expand_targets([r.target for r in scanned]), jobs=1)
    second = [r["partialFingerprints"] for r in run_of(render(again))["results"]]
    assert first == second
    assert all(set(fp) == {sarif.FINGERPRINT_KEY} for fp in first)
    assert len({fp[sarif.FINGERPRINT_KEY] for fp in first}) == len(first)


def test_fingerprint_ignores_line_and_whitespace_but_not_evidence_path_or_rule() -> None:
    base = sarif.fingerprint(finding(line=3, evidence="os.system('x')"), "pkg")
    assert sarif.fingerprint(finding(line=40, evidence="os.system('x')  "), "pkg") == base
    assert sarif.fingerprint(finding(line=3, evidence="os.system('y')"), "pkg") != base
    assert sarif.fingerprint(finding(line=3, evidence="os.system('x')", path="b.py"), "pkg") != base
    assert sarif.fingerprint(finding("DV104", line=3, evidence="os.system('x')"), "pkg") != base
    assert sarif.fingerprint(finding(line=3, evidence="os.system('x')"), "other") != base


def test_error_results_become_tool_execution_notifications(
    scanned: list[ScanResult], schema: dict[str, Any]
) -> None:
    log = render(scanned)
    validate(log, schema)
    run = run_of(log)
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    (note,) = invocation["toolExecutionNotifications"]
    assert note["level"] == "error"
    assert note["message"]["text"].startswith("missing-1.0.tar.gz")
    assert "no such file" in note["message"]["text"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "missing-1.0.tar.gz"
    assert all(r["properties"]["target"] != "missing-1.0.tar.gz" for r in run["results"])


def test_successful_scan_has_no_notifications(scanned: list[ScanResult]) -> None:
    (invocation,) = run_of(render([r for r in scanned if r.verdict is not Verdict.ERROR]))["invocations"]
    assert invocation == {"executionSuccessful": True}


@pytest.mark.parametrize("line", [None, 0])
def test_finding_without_a_line_has_no_region(line: int | None, schema: dict[str, Any]) -> None:
    log = render([result_with(finding(line=line))])
    validate(log, schema)
    (result,) = run_of(log)["results"]
    assert "region" not in result["locations"][0]["physicalLocation"]


def test_empty_result_list(schema: dict[str, Any]) -> None:
    log = render([])
    validate(log, schema)
    run = run_of(log)
    assert run["results"] == []
    assert run["artifacts"] == []
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert len(run["tool"]["driver"]["rules"]) == len(all_rules())


def test_archive_members_are_relative_to_a_base_id_for_their_archive(scanned: list[ScanResult]) -> None:
    run = run_of(render(scanned))
    bases = run["originalUriBaseIds"]
    assert bases[sarif.SRCROOT]["uri"].startswith("file:///")
    assert bases[sarif.SRCROOT]["uri"].endswith("/")
    by_rule = {r["ruleId"]: r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]}
    pth = by_rule["DV101"]
    assert pth["uri"] == "evil.pth"
    assert bases[pth["uriBaseId"]] == {"uri": "evil-1.0-py3-none-any.whl/", "uriBaseId": sarif.SRCROOT}
    setup = by_rule["DV104"]
    assert setup["uri"] == "setupbad-2.0/setup.py"
    assert bases[setup["uriBaseId"]]["uri"] == "setupbad-2.0.tar.gz/"
    assert pth["uriBaseId"] != setup["uriBaseId"]


def test_every_uri_is_a_valid_uri_reference(scanned: list[ScanResult]) -> None:
    spaced = result_with(finding(path="dir with space/a:b.py"), target="odd name-1.0.tar.gz")
    text = sarif.render([*scanned, spaced])
    uris = re.findall(r'"uri": "([^"]*)"', text)
    assert uris
    for uri in uris:
        assert URI_REFERENCE.match(uri), uri
    assert '"uri": "dir%20with%20space/a%3Ab.py"' in text


def test_files_of_a_directory_target_are_repository_relative(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_tree(tmp_path / "vendor" / "pkg", {"pkg/__init__.py": ""})
    run = run_of(render([result_with(finding(path="pkg/__init__.py"), target="vendor/pkg")]))
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "vendor/pkg/pkg/__init__.py", "uriBaseId": sarif.SRCROOT}


def test_files_outside_the_working_directory_get_file_uris(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    outside = tmp_path / "elsewhere" / "pkg"
    outside.mkdir(parents=True)
    run = run_of(render([result_with(finding(path="pkg/mod.py"), target=str(outside))]))
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (outside / "pkg" / "mod.py").resolve().as_uri()}


def test_installed_distribution_members_are_relative_to_site_packages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    target = "venv/lib/python3.11/site-packages/pkg-1.0.dist-info"
    run = run_of(render([result_with(finding(path="pkg/__init__.py"), target=target)]))
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location["uri"] == "venv/lib/python3.11/site-packages/pkg/__init__.py"


def test_a_rule_missing_from_the_registry_gets_a_descriptor(schema: dict[str, Any]) -> None:
    log = render([result_with(finding("DV999"), finding("DV999", evidence="y()"))])
    validate(log, schema)
    run = run_of(log)
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules].count("DV999") == 1
    for result in run["results"]:
        descriptor = rules[result["ruleIndex"]]
        assert descriptor["id"] == "DV999"
        assert descriptor["properties"]["security-severity"] == "9.5"


def test_hostile_text_cannot_reach_a_viewer_raw(schema: dict[str, Any]) -> None:
    evil = finding(evidence="run('\x1b[2J\u202ecod')", path="pkg/\udcffbad.py")
    log = render([result_with(evil)])
    validate(log, schema)
    (result,) = run_of(log)["results"]
    message = result["message"]["text"]
    assert "\x1b" not in message
    assert "\u202e" not in message
    assert "\\x1b" in message


def test_large_runs_keep_the_most_severe_results_within_limits(
    monkeypatch: pytest.MonkeyPatch, schema: dict[str, Any]
) -> None:
    monkeypatch.setattr(sarif, "MAX_RESULTS", 2)
    findings = [
        Finding("DV209", Severity.LOW, Category.OBFUSCATION, "t", "a.py", 1, "low one"),
        Finding("DV101", Severity.CRITICAL, Category.STARTUP, "t", "a.py", 2, "critical one"),
        Finding("DV102", Severity.MEDIUM, Category.STARTUP, "t", "a.py", 3, "medium one"),
        Finding("DV104", Severity.HIGH, Category.STARTUP, "t", "a.py", 4, "high one"),
    ]
    log = render([result_with(*findings)])
    validate(log, schema)
    run = run_of(log)
    assert [r["ruleId"] for r in run["results"]] == ["DV101", "DV104"]
    (note,) = run["invocations"][0]["toolExecutionNotifications"]
    assert note["level"] == "warning"
    assert note["message"]["text"].startswith("2 of 4 results left out")
    assert run["invocations"][0]["executionSuccessful"] is True


def test_oversized_runs_are_cut_until_they_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sarif, "MAX_COMPRESSED_BYTES", 40_000)
    findings = [
        Finding("DV101", Severity.CRITICAL, Category.STARTUP, "t", f"m{i}.py", 1, f"{i:x}" * 200)
        for i in range(400)
    ]
    log = sarif.to_sarif([result_with(*findings)])
    assert 0 < len(run_of(log)["results"]) < 400
    assert sarif._compressed_size(log) <= 40_000
