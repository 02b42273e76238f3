"""The human report: grouped by package and severity, file:line, evidence, decoded code, summary."""

from __future__ import annotations

from pathlib import Path

from demo.builders import write_sdist, write_tree, write_wheel

from depvet.model import Category, Finding, RunContext, ScanResult, Severity, Verdict
from depvet.report import terminal
from depvet.scanning import expand_targets, scan_all

PTH = 'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", "print(1)"])\n'


def make(
    rule_id: str,
    severity: Severity,
    line: int | None = 1,
    *,
    path: str = "pkg/__init__.py",
    evidence: str = "evidence",
    decoded: str | None = None,
    base: Severity | None = None,
) -> Finding:
    return Finding(
        rule_id,
        severity,
        Category.OBFUSCATION,
        f"title of {rule_id}",
        path,
        line,
        evidence,
        RunContext.IMPORT,
        decoded,
        base or severity,
    )


def result(*findings: Finding, verdict: Verdict = Verdict.SUSPICIOUS) -> ScanResult:
    return ScanResult("pkg-1.0.tar.gz", "pkg", "1.0", None, verdict, 12.5, tuple(findings))


def test_real_scan_report(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path, "evil", "1.0", {"evil.pth": PTH, "evil/__init__.py": "X = 1\n"})
    sdist = write_sdist(tmp_path, "tidy", "2.0", {"tidy/__init__.py": "Y = 2\n"})
    clean = write_tree(tmp_path / "clean", {"clean/__init__.py": "Z = 3\n"})
    missing = tmp_path / "gone.whl"
    results = scan_all(expand_targets([str(wheel), str(sdist), str(clean), str(missing)]), jobs=1)
    text = terminal.render(results, width=200)
    assert " MALICIOUS  evil 1.0" in text
    assert "CRITICAL" in text
    assert "DV101" in text
    assert "evil.pth:1" in text
    assert "subprocess.Popen" in text
    assert " CLEAN  tidy 2.0" in text
    assert " ERROR  " in text
    assert "could not be scanned:" in text
    assert text.rstrip().splitlines()[-1].startswith("4 packages scanned: 1 malicious, 2 clean, 1 error")
    assert "\x1b" not in text


def test_findings_are_grouped_by_severity_worst_first() -> None:
    text = terminal.render(
        [
            result(
                make("DV209", Severity.LOW, 9),
                make("DV201", Severity.CRITICAL, 2),
                make("DV202", Severity.MEDIUM, 5),
                make("DV205", Severity.HIGH, 4),
                make("DV203", Severity.MEDIUM, 3),
            )
        ],
        width=120,
    )
    groups = [
        line.strip() for line in text.splitlines() if line.strip() in {"CRITICAL", "HIGH", "MEDIUM", "LOW"}
    ]
    assert groups == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    assert text.index("DV203") < text.index("DV202")  # same severity: by file and line
    assert "pkg/__init__.py:2" in text


def test_min_severity_hides_lower_findings_and_says_so() -> None:
    text = terminal.render(
        [result(make("DV201", Severity.CRITICAL), make("DV209", Severity.LOW))],
        min_severity=Severity.HIGH,
    )
    assert "DV201" in text
    assert "DV209" not in text
    assert "1 finding(s) below high not shown" in text
    assert text.rstrip().endswith("1 below high not shown")


def test_decoded_code_is_shown_as_an_excerpt() -> None:
    decoded = "import os\nos.system('id')\n" + "".join(f"x{i} = {i}\n" for i in range(20))
    text = terminal.render([result(make("DV106", Severity.HIGH, 3, decoded=decoded))], width=100)
    assert "decoded code:" in text
    assert "os.system('id')" in text
    assert "x5 = 5" in text
    assert "x6 = 6" not in text
    assert "14 more lines" in text


def test_weighted_findings_show_their_context_and_rule_severity() -> None:
    text = terminal.render([result(make("DV201", Severity.HIGH, base=Severity.CRITICAL))])
    assert "(import code; rule severity critical)" in text


def test_a_finding_without_a_line_shows_the_path_alone() -> None:
    text = terminal.render([result(make("DV801", Severity.HIGH, None, path="pkg/bin/tool"))])
    assert "      pkg/bin/tool\n" in text
    assert "pkg/bin/tool:" not in text


def test_hostile_text_is_escaped() -> None:
    hostile = make(
        "DV201",
        Severity.CRITICAL,
        path="pkg/\u202eyp.exe",
        evidence="print('\x1b[2J\x1b]0;owned\x07')",
        decoded="\x1b[31mred\u200b",
    )
    for color in (None, False, True):
        text = terminal.render([result(hostile)], color=color)
        assert "\u202e" not in text
        assert "\u200b" not in text
        assert "\x1b[2J" not in text
        assert "\x07" not in text
        assert "\\x1b[2J" in text


def test_color_only_when_asked() -> None:
    plain = terminal.render([result(make("DV201", Severity.CRITICAL))])
    colored = terminal.render([result(make("DV201", Severity.CRITICAL))], color=True)
    assert "\x1b[" not in plain
    assert "\x1b[" in colored


def test_summary_of_nothing() -> None:
    assert terminal.render([]).strip() == "0 packages scanned · 0 findings"
