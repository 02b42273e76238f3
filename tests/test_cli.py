"""``depvet`` on the command line: exit codes, formats, --output, --from-file, rules, start-up cost."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from demo.builders import write_tree, write_wheel

from depvet import __version__
from depvet.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, FailOn, OutputFormat, main
from depvet.report import rules_doc

CRITICAL_PTH = 'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", "print(1)"])\n'
MEDIUM_PTH = "import startup_hook_impl\n"  # DV102 (medium) only
HIGH_SETUP = (  # DV104 (high) only
    "import os\nfrom setuptools import setup\n"
    "os.system('nohup ./updater >/dev/null 2>&1 &')\nsetup(name='x')\n"
)
REPO = Path(__file__).parent.parent


class Samples:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.clean = str(write_wheel(root, "tidy", "1.0", {"tidy/__init__.py": "VALUE = 1\n"}))
        self.critical = str(
            write_wheel(root, "evil", "1.0", {"evil.pth": CRITICAL_PTH, "evil/__init__.py": ""})
        )
        self.medium = str(
            write_wheel(root, "hooked", "1.0", {"hooked.pth": MEDIUM_PTH, "hooked/__init__.py": ""})
        )
        self.high = str(write_tree(root / "setupish", {"setup.py": HIGH_SETUP, "setupish/__init__.py": ""}))
        corrupt = root / "broken-1.0-py3-none-any.whl"
        corrupt.write_bytes(b"PK\x03\x04 this is not really a zip archive")
        self.corrupt = str(corrupt)
        self.missing = str(root / "missing-1.0-py3-none-any.whl")


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return Samples(tmp_path_factory.mktemp("samples"))


def scan(*args: str) -> int:
    return main(["scan", "-q", "-j", "1", *args])


def scan_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = scan("--format", "json", *args)
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return code, data


# -- exit codes ------------------------------------------------------------------------------------


def test_clean_package_exits_0(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan(samples.clean) == EXIT_OK
    captured = capsys.readouterr()
    assert " CLEAN  tidy 1.0" in captured.out
    assert captured.err == ""


def test_finding_at_default_fail_on_exits_1(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan(samples.critical) == EXIT_FINDINGS
    assert "DV101" in capsys.readouterr().out
    assert scan(samples.high) == EXIT_FINDINGS  # default --fail-on high


@pytest.mark.parametrize(
    ("sample", "fail_on", "expected"),
    [
        ("critical", "never", EXIT_OK),
        ("critical", "critical", EXIT_FINDINGS),
        ("high", "critical", EXIT_OK),
        ("high", "high", EXIT_FINDINGS),
        ("medium", "high", EXIT_OK),
        ("medium", "medium", EXIT_FINDINGS),
        ("medium", "low", EXIT_FINDINGS),
        ("medium", "never", EXIT_OK),
        ("clean", "info", EXIT_OK),
    ],
)
def test_fail_on(samples: Samples, sample: str, fail_on: str, expected: int) -> None:
    assert scan("--fail-on", fail_on, getattr(samples, sample)) == expected


def test_every_fail_on_choice_is_accepted(samples: Samples) -> None:
    for choice in FailOn:
        assert scan("--fail-on", choice.value, samples.clean) == EXIT_OK


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["scan"],
        ["scan", "-q", "--format", "xml", "x.whl"],
        ["scan", "-q", "--fail-on", "sometimes", "x.whl"],
        ["scan", "-q", "--jobs", "-1", "x.whl"],
        ["rules", "--format", "pdf"],
    ],
)
def test_usage_errors_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("depvet: error: ")
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("sample", ["missing", "corrupt"])
def test_unreadable_target_exits_2_and_is_an_error_result(
    samples: Samples, sample: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = getattr(samples, sample)
    code = scan("--format", "json", target)
    captured = capsys.readouterr()
    assert code == EXIT_ERROR
    (result,) = json.loads(captured.out)["results"]
    assert result["verdict"] == "error"
    assert result["target"] == target
    (line,) = captured.err.strip().splitlines()
    assert line.startswith(f"depvet: error: {target}")
    assert "Traceback" not in captured.err


def test_an_error_result_wins_over_findings(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = scan_json(capsys, samples.critical, samples.missing)
    assert code == EXIT_ERROR
    assert [r["verdict"] for r in data["results"]] == ["malicious", "error"]
    assert scan("--fail-on", "never", samples.clean, samples.corrupt) == EXIT_ERROR


# -- formats -------------------------------------------------------------------------------------------


def test_json_format(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = scan_json(capsys, samples.clean, samples.critical)
    assert code == EXIT_FINDINGS
    assert data["schema_version"] == 2
    assert [r["target"] for r in data["results"]] == [samples.clean, samples.critical]


def test_sarif_format(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan("--format", "sarif", samples.critical) == EXIT_FINDINGS
    log = json.loads(capsys.readouterr().out)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    assert [r["ruleId"] for r in run["results"] if r["ruleId"] == "DV101"] == ["DV101"]


def test_terminal_format_is_the_default(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan("--format", "terminal", samples.critical) == EXIT_FINDINGS
    explicit = capsys.readouterr().out
    scan(samples.critical)
    assert capsys.readouterr().out == explicit
    assert "evil.pth:1" in explicit


def test_every_output_format_renders(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    for fmt in OutputFormat:
        assert scan("--format", fmt.value, samples.clean) == EXIT_OK
        assert capsys.readouterr().out.strip()


# -- --output ----------------------------------------------------------------------------------------


def test_output_file_gets_the_report_and_stdout_stays_empty(
    samples: Samples, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    out.write_text("old contents that must be replaced")
    assert scan("--format", "json", "--output", str(out), samples.critical) == EXIT_FINDINGS
    assert capsys.readouterr().out == ""
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["results"][0]["verdict"] == "malicious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no temporary file left


def test_output_is_replaced_atomically(
    samples: Samples, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.sarif"
    out.write_text("previous report")
    replaced: list[tuple[str, str]] = []
    real_replace = Path.replace

    def spy(self: Path, target: str | os.PathLike[str]) -> Path:
        replaced.append((self.name, Path(target).name))
        assert Path(target).read_text() == "previous report"  # the old report stays whole until the swap
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", spy)
    assert scan("--format", "sarif", "-o", str(out), samples.clean) == EXIT_OK
    assert len(replaced) == 1
    assert replaced[0][1] == "report.sarif"
    assert replaced[0][0] != "report.sarif"
    assert json.loads(out.read_text())["version"] == "2.1.0"


def test_unwritable_output_exits_2(
    samples: Samples, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no" / "such" / "dir" / "report.json"
    assert scan("--format", "json", "-o", str(out), samples.clean) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("depvet: error: cannot write")


# -- --from-file ---------------------------------------------------------------------------------------


def test_from_file_reads_targets_skipping_blank_lines_and_comments(
    samples: Samples, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text(
        f"# packages to vet\n\n{samples.clean}\n   \n  # indented comment\n  {samples.critical}  \n"
    )
    code, data = scan_json(capsys, "--from-file", str(listing))
    assert code == EXIT_FINDINGS
    assert [r["target"] for r in data["results"]] == [samples.clean, samples.critical]


def test_from_file_targets_follow_command_line_targets(
    samples: Samples, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    listing = tmp_path / "targets.txt"
    listing.write_text(f"{samples.clean}\n")
    _, data = scan_json(capsys, samples.high, "--from-file", str(listing))
    assert [r["target"] for r in data["results"]] == [samples.high, samples.clean]


def test_from_file_dash_reads_stdin(
    samples: Samples, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{samples.clean}\n"))
    code, data = scan_json(capsys, "--from-file", "-")
    assert code == EXIT_OK
    assert [r["target"] for r in data["results"]] == [samples.clean]


def test_missing_from_file_list_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert scan("--from-file", str(tmp_path / "nope.txt")) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "nope.txt" in line


def test_empty_from_file_list_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = tmp_path / "empty.txt"
    listing.write_text("# nothing here\n\n")
    assert scan("--from-file", str(listing)) == EXIT_ERROR
    assert "TARGET" in capsys.readouterr().err


# -- rules -------------------------------------------------------------------------------------------


def test_rules_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == EXIT_OK
    assert "DV101" in capsys.readouterr().out
    assert main(["rules", "DV101"]) == EXIT_OK
    assert "What it does" in capsys.readouterr().out
    assert main(["rules", "--format", "markdown"]) == EXIT_OK
    assert capsys.readouterr().out == rules_doc.render("markdown")
    assert main(["rules", "dv101", "--format", "json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["id"] == "DV101"


def test_unknown_rule_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "DV999"]) == EXIT_ERROR
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "DV999" in line


# -- the installed command ---------------------------------------------------------------------------


def run_depvet(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=REPO, timeout=60, check=False, **kwargs
    )


def test_python_m_depvet_version() -> None:
    done = run_depvet("-m", "depvet", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"depvet {__version__}"


def test_help_imports_nothing_heavy() -> None:
    done = run_depvet("-X", "importtime", "-m", "depvet", "--help")
    assert done.returncode == 0, done.stderr
    assert "scan" in done.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    assert "depvet.cli" in imported
    heavy = {
        m for m in imported if m.startswith(("rich", "depvet.analysis", "depvet.scanning", "depvet.report"))
    }
    assert not heavy, sorted(heavy)


def test_help_is_fast() -> None:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        done = run_depvet("-m", "depvet", "--help")
        best = min(best, time.perf_counter() - started)
        assert done.returncode == 0
    assert best < 0.5, f"depvet --help took {best:.2f}s"


# -- error handling ------------------------------------------------------------------------------


def test_an_internal_error_exits_2(samples: Samples, monkeypatch: pytest.MonkeyPatch) -> None:
    import depvet.scanning

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(depvet.scanning, "scan_all", broken)
    assert scan(samples.clean) == EXIT_ERROR


def test_error_line_names_the_target_once(samples: Samples, capsys: pytest.CaptureFixture[str]) -> None:
    scan(samples.missing)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.count(samples.missing) == 1, line
