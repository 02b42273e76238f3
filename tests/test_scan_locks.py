"""``depvet scan LOCKFILE``: releases fetched from a real index on 127.0.0.1, checked, scanned."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from demo.builders import write_wheel

from depvet.cli import EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, main
from tests.localindex import LocalIndex

# The .pth line site.py would run at every start: decodes and runs "import os; os.getcwd()".
_PAYLOAD = "import base64; exec(base64.b64decode('aW1wb3J0IG9zOyBvcy5nZXRjd2QoKQ=='))\n"


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalIndex]:
    """goodpkg 1.0 (clean), helperlib 2.0 (clean, needed by goodpkg) and evilpkg 1.0 (.pth)."""
    monkeypatch.setenv("DEPVET_CACHE_DIR", str(tmp_path / "cache"))
    for name in (
        "PIP_INDEX_URL",
        "UV_INDEX_URL",
        "UV_DEFAULT_INDEX",
        "PIP_EXTRA_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    built = tmp_path / "built"
    built.mkdir()
    local = LocalIndex(tmp_path / "index")
    local.add(
        "goodpkg",
        write_wheel(built, "goodpkg", "1.0", {"goodpkg/__init__.py": "X = 1\n"}, requires=("helperlib>=2",)),
    )
    local.add("helperlib", write_wheel(built, "helperlib", "2.0", {"helperlib/__init__.py": "Y = 2\n"}))
    local.add(
        "evilpkg",
        write_wheel(built, "evilpkg", "1.0", {"evilpkg/__init__.py": "", "evilpkg_init.pth": _PAYLOAD}),
    )
    with local.serve():
        yield local


def _scan_json(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = main(["scan", "--quiet", "--format", "json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def _by_name(report: dict[str, object]) -> dict[str, dict[str, object]]:
    results = report["results"]
    assert isinstance(results, list)
    return {str(r["name"]): r for r in results}


def _requirements(tmp_path: Path, index: LocalIndex, lines: list[str]) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def _sha(index: LocalIndex, filename: str) -> str:
    import hashlib

    return hashlib.sha256((index.root / "files" / filename).read_bytes()).hexdigest()


def test_requirements_with_hashes_are_fetched_verified_and_scanned(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    good, evil = "goodpkg-1.0-py3-none-any.whl", "evilpkg-1.0-py3-none-any.whl"
    requirements = _requirements(
        tmp_path,
        index,
        [
            f"goodpkg==1.0 --hash=sha256:{_sha(index, good)}",
            f"evilpkg==1.0 --hash=sha256:{_sha(index, evil)}",
        ],
    )
    code, report = _scan_json(str(requirements), "--index-url", index.url, capsys=capsys)
    assert code == EXIT_FINDINGS
    results = _by_name(report)
    assert results["evilpkg"]["verdict"] == "malicious"
    assert results["goodpkg"]["verdict"] == "clean"
    assert results["evilpkg"]["input"] == {
        "path": str(requirements),
        "package": "evilpkg",
        "version": "1.0",
        "pulled_in_by": [],
    }


def test_a_second_scan_downloads_and_scans_nothing(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "goodpkg-1.0-py3-none-any.whl"
    requirements = _requirements(tmp_path, index, [f"goodpkg==1.0 --hash=sha256:{_sha(index, good)}"])
    assert _scan_json(str(requirements), "-i", index.url, capsys=capsys)[0] == EXIT_OK
    fetched = len(index.file_requests())
    assert fetched == 1
    code, report = _scan_json(str(requirements), "-i", index.url, capsys=capsys)
    assert code == EXIT_OK
    assert len(index.file_requests()) == fetched
    assert _by_name(report)["goodpkg"]["cached"] is True


def test_a_file_that_differs_from_the_lock_is_an_error(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = _requirements(tmp_path, index, ["goodpkg==1.0 --hash=sha256:" + "ab" * 32])
    code, report = _scan_json(str(requirements), "-i", index.url, capsys=capsys)
    assert code == EXIT_ERROR
    result = _by_name(report)["goodpkg"]
    assert result["verdict"] == "error"
    assert "hash the lock allows" in str(result["error"])


def test_a_mirror_that_serves_other_bytes_is_caught(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "goodpkg-1.0-py3-none-any.whl"
    requirements = _requirements(tmp_path, index, [f"goodpkg==1.0 --hash=sha256:{_sha(index, good)}"])
    tampered = write_wheel(
        tmp_path, "goodpkg", "1.0", {"goodpkg/__init__.py": "X = 1\n", "goodpkg_init.pth": _PAYLOAD}
    )
    index.replace(good, tampered.read_bytes())
    code, report = _scan_json(str(requirements), "-i", index.url, capsys=capsys)
    assert code == EXIT_FINDINGS
    result = _by_name(report)["goodpkg"]
    assert result["verdict"] == "malicious"
    findings = {f["rule_id"]: f for f in result["findings"]}  # type: ignore[union-attr]
    assert "DV810" in findings
    assert findings["DV810"]["severity"] == "critical"
    assert "DV101" in findings  # and what the swapped file would have run


def test_a_release_missing_from_the_index_is_an_error(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = _requirements(tmp_path, index, ["goodpkg==9.9", "nosuchpkg==1.0"])
    code, report = _scan_json(str(requirements), "-i", index.url, capsys=capsys)
    assert code == EXIT_ERROR
    results = _by_name(report)
    assert results["goodpkg"]["verdict"] == "error"
    assert "nosuchpkg" in str(results["nosuchpkg"]["error"])


def test_an_index_that_is_down_is_an_error_not_a_clean_scan(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], dead_url: str
) -> None:
    dead = f"{dead_url}/simple/"
    requirements = _requirements(tmp_path, index, ["goodpkg==1.0"])
    code, report = _scan_json(str(requirements), "-i", dead, capsys=capsys)
    assert code == EXIT_ERROR
    assert "cannot reach" in str(_by_name(report)["goodpkg"]["error"])


def test_unpinned_requirements_are_named_not_skipped(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    requirements = _requirements(tmp_path, index, ["goodpkg==1.0", "-e ./src/thing", "helperlib>=2"])
    code = main(["scan", "--quiet", "--format", "json", str(requirements), "-i", index.url])
    captured = capsys.readouterr()
    assert code == EXIT_OK
    assert "editable" in captured.err
    assert "helperlib>=2" in captured.err
    listed = json.loads(captured.out)["not_scanned"]
    assert [(n["requirement"], n["line"]) for n in listed] == [("-e ./src/thing", 2), ("helperlib>=2", 3)]
    assert all(n["input"] == str(requirements) for n in listed)


def _tool(name: str) -> str | None:
    beside = Path(sys.executable).with_name(name)
    return shutil.which(name) or (str(beside) if beside.exists() else None)


@pytest.mark.skipif(_tool("uv") is None, reason="uv is not installed (it is in the dev requirements)")
def test_a_uv_lock_made_by_uv_against_the_local_index(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.11"\n'
        'dependencies = ["goodpkg==1.0", "evilpkg==1.0"]\n'
    )
    uv = _tool("uv")
    assert uv is not None
    env = {
        **os.environ,
        "UV_CACHE_DIR": str(tmp_path / "uv-cache"),
        "UV_INDEX_URL": index.url,
        "UV_NO_CONFIG": "1",
        "UV_PYTHON_DOWNLOADS": "never",
    }
    subprocess.run([uv, "lock", "--quiet", "--python", sys.executable], cwd=project, env=env, check=True)
    code, report = _scan_json(str(project / "uv.lock"), "-i", index.url, capsys=capsys)
    assert code == EXIT_FINDINGS
    results = _by_name(report)
    assert results["evilpkg"]["verdict"] == "malicious"
    assert results["helperlib"]["verdict"] == "clean"
    assert results["helperlib"]["input"]["pulled_in_by"] == ["goodpkg"]  # type: ignore[index]


def test_cache_info_and_clear(tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]) -> None:
    good = "goodpkg-1.0-py3-none-any.whl"
    requirements = _requirements(tmp_path, index, [f"goodpkg==1.0 --hash=sha256:{_sha(index, good)}"])
    _scan_json(str(requirements), "-i", index.url, capsys=capsys)
    assert main(["cache", "info"]) == EXIT_OK
    info = capsys.readouterr().out
    assert "downloaded artifacts: 1" in info
    assert "scan results: 1" in info
    assert main(["cache", "clear"]) == EXIT_OK
    assert "removed 1 downloaded artifacts and 1 scan results" in capsys.readouterr().out


def test_a_pyproject_without_a_lock_is_resolved_with_wheels_only(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["goodpkg", "evilpkg"]\n'
    )
    code = main(["scan", "--quiet", "--format", "json", str(project / "pyproject.toml"), "-i", index.url])
    captured = capsys.readouterr()
    assert code == EXIT_FINDINGS
    results = _by_name(json.loads(captured.out))
    assert results["evilpkg"]["verdict"] == "malicious"
    assert results["helperlib"]["input"]["pulled_in_by"] == ["goodpkg"]  # type: ignore[index]
    assert "a lock (uv lock) is better" in captured.err


@pytest.mark.parametrize(
    ("metadata", "resolved", "said"),
    [
        ("2.2", {"buildme", "helperlib"}, "declares its dependencies statically (helperlib>=2)"),
        ("2.1", {"buildme"}, "does not declare its dependencies statically"),
    ],
)
def test_a_dependency_with_only_an_sdist_is_read_not_built(
    tmp_path: Path,
    index: LocalIndex,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    metadata: str,
    resolved: set[str],
    said: str,
) -> None:
    from demo.builders import write_sdist

    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    pkg_info = f"Metadata-Version: {metadata}\nName: buildme\nVersion: 1.0\nRequires-Dist: helperlib>=2\n\n"
    setup = "from setuptools import setup\nsetup()\n"
    index.add("buildme", write_sdist(tmp_path, "buildme", "1.0", {"setup.py": setup, "PKG-INFO": pkg_info}))
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["buildme"]\n'
    )
    code = main(["scan", "--quiet", "--format", "json", str(project / "pyproject.toml"), "-i", index.url])
    captured = capsys.readouterr()
    assert code == EXIT_OK
    assert set(_by_name(json.loads(captured.out))) == resolved
    assert "buildme 1.0 has only an sdist (scanned, not built)" in captured.err
    assert said in captured.err


def test_env_scans_the_running_interpreters_environment(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--quiet", "--env", "--format", "json", "--fail-on", "never"])
    report = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in report["results"]}
    assert code in (EXIT_OK, EXIT_ERROR)
    assert {"packaging", "rich"} <= names


@pytest.mark.skipif(_tool("poetry") is None, reason="poetry is not installed (it is in the dev requirements)")
def test_a_poetry_lock_made_by_poetry_against_the_local_index(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\nrequires-python = ">=3.11,<4"\n'
        'dependencies = ["goodpkg==1.0", "evilpkg==1.0"]\n\n[tool.poetry]\npackage-mode = false\n\n'
        f'[[tool.poetry.source]]\nname = "local"\nurl = "{index.url}"\npriority = "primary"\n'
    )
    env = {
        **os.environ,
        "POETRY_CACHE_DIR": str(tmp_path / "poetry-cache"),
        "POETRY_CONFIG_DIR": str(tmp_path / "poetry-config"),
        "POETRY_VIRTUALENVS_CREATE": "false",
    }
    poetry = _tool("poetry")
    assert poetry is not None
    subprocess.run(
        [poetry, "lock", "--no-interaction"], cwd=project, env=env, check=True, capture_output=True
    )
    code, report = _scan_json(str(project / "poetry.lock"), capsys=capsys)
    assert code == EXIT_FINDINGS
    results = _by_name(report)
    assert results["evilpkg"]["verdict"] == "malicious"
    assert results["helperlib"]["input"]["pulled_in_by"] == ["goodpkg"]  # type: ignore[index]


@pytest.mark.skipif(_tool("pipenv") is None, reason="pipenv is not installed (it is in the dev requirements)")
def test_a_pipfile_lock_made_by_pipenv_against_the_local_index(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    project = tmp_path / "app"
    project.mkdir()
    (project / "Pipfile").write_text(
        f'[[source]]\nurl = "{index.url}"\nverify_ssl = false\nname = "local"\n\n'
        '[packages]\ngoodpkg = "==1.0"\nevilpkg = "==1.0"\n\n[requires]\npython_version = "3.11"\n'
    )
    env = {
        **os.environ,
        "PIPENV_VENV_IN_PROJECT": "1",
        "PIPENV_CACHE_DIR": str(tmp_path / "pipenv-cache"),
        "VIRTUALENV_OVERRIDE_APP_DATA": str(tmp_path / "virtualenv-data"),
        "PIPENV_IGNORE_VIRTUALENVS": "1",
        "PIPENV_YES": "1",
        "PIPENV_NOSPIN": "1",
    }
    pipenv = _tool("pipenv")
    assert pipenv is not None
    subprocess.run([pipenv, "lock"], cwd=project, env=env, check=True, capture_output=True)
    # The lock names its source: no --index-url needed.
    code, report = _scan_json(str(project / "Pipfile.lock"), capsys=capsys)
    assert code == EXIT_FINDINGS
    results = _by_name(report)
    assert results["evilpkg"]["verdict"] == "malicious"
    assert results["goodpkg"]["verdict"] == "clean"


def test_a_project_directory_means_its_lock(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str]
) -> None:
    evil = "evilpkg-1.0-py3-none-any.whl"
    project = tmp_path / "app"
    project.mkdir()
    (project / "app.py").write_text("print('hello')\n")
    (project / "pylock.toml").write_text(
        'lock-version = "1.0"\ncreated-by = "hand"\n\n[[packages]]\nname = "evilpkg"\nversion = "1.0"\n'
        f'wheels = [{{ url = "{index.url}../files/{evil}", hashes = {{ sha256 = "{_sha(index, evil)}" }} }}]\n'
    )
    code = main(["scan", "--quiet", "--format", "json", str(project)])
    captured = capsys.readouterr()
    assert code == EXIT_FINDINGS
    assert _by_name(json.loads(captured.out))["evilpkg"]["verdict"] == "malicious"
    assert "scanning its pylock.toml" in captured.err
    # --source: the directory's own files, as a package directory.
    assert main(["scan", "--quiet", "--source", "--format", "json", str(project)]) == EXIT_OK
    (only,) = json.loads(capsys.readouterr().out)["results"]
    assert only["target"] == str(project)


def test_an_sdist_only_package_deeper_in_the_tree_is_named(
    tmp_path: Path, index: LocalIndex, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from demo.builders import write_sdist

    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    index.add(
        "buildme", write_sdist(tmp_path, "buildme", "1.0", {"setup.py": "from setuptools import setup\n"})
    )
    index.add(
        "usesit", write_wheel(tmp_path, "usesit", "1.0", {"usesit/__init__.py": ""}, requires=("buildme",))
    )
    project = tmp_path / "app"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1"\ndependencies = ["usesit"]\n'
    )
    code = main(["scan", "--quiet", str(project / "pyproject.toml"), "-i", index.url])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "no wheel for buildme" in err
    assert "Traceback" not in err
