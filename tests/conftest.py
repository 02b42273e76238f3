from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from demo.builders import Files, Links, write_sdist, write_site_packages, write_tree, write_wheel

from depvet.analysis.engine import Ruleset, default_ruleset, scan_artifact
from depvet.artifacts.targets import expand_target
from depvet.diff.rules import DIFF_SDIST
from depvet.model import ScanResult
from depvet.rules import MATCHING, Example

ScanFiles = Callable[..., ScanResult]


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib and the installers honour proxy variables; requests to 127.0.0.1 must not use one."""
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def dead_url() -> str:
    """An address where nothing listens: a port the OS gave out and took back."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scans through the CLI cache downloads and results: never in the user's own cache."""
    monkeypatch.setenv("DEPVET_CACHE_DIR", str(tmp_path_factory.mktemp("depvet-cache")))


@pytest.fixture(autouse=True)
def _private_data(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """The advisory database of each test is its own (empty until the test imports records)."""
    monkeypatch.setenv("DEPVET_DATA_DIR", str(tmp_path_factory.mktemp("depvet-data")))


@pytest.fixture(scope="session")
def ruleset() -> Ruleset:
    return default_ruleset()


@pytest.fixture
def scan_files(tmp_path: Path, ruleset: Ruleset) -> ScanFiles:
    """Build an inert package from text and scan it: ``scan_files(files, artifact="wheel")``."""
    counter = iter(range(10_000))

    def scan(
        files: Files,
        artifact: str = "directory",
        name: str = "sample",
        version: str = "1.0",
        links: Links = (),
        locked_sha256: str | None = None,
    ) -> ScanResult:
        where = tmp_path / f"a{next(counter)}"
        where.mkdir()
        if artifact == "wheel":
            target = write_wheel(where, name, version, files)
        elif artifact == "sdist":
            target = write_sdist(where, name, version, files, links=links)
        elif artifact == "installed":
            target = write_site_packages(where / "venv", name, version, files)
        elif artifact == "directory":
            target = write_tree(where / name, files)
        else:
            raise ValueError(artifact)
        refs = expand_target(str(target))
        if locked_sha256 is not None:
            own = hashlib.sha256(target.read_bytes()).hexdigest()
            locked = own if locked_sha256 == MATCHING else locked_sha256
            refs = [replace(ref, locked_sha256=locked) for ref in refs]
        results = [scan_artifact(ref, ruleset) for ref in refs]
        for result in results:
            assert result.error is None, result.error
        if len(results) == 1:
            return results[0]
        # An environment: the distribution and, when present, its unowned start-up files.
        return replace(results[0], findings=tuple(f for r in results for f in r.findings))

    return scan


def rule_ids(result: ScanResult) -> set[str]:
    return {f.rule_id for f in result.findings}


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``depvet ARGS`` in this process: (exit code, stdout, stderr)."""
    from depvet.cli import main

    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


CheckFiles = Callable[..., dict[str, Any]]


@pytest.fixture
def check_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> CheckFiles:
    """Write a lockfile (and OSV records under ``osv/``, imported first) and ``depvet check`` it.

    Returns the JSON report; ``check_files({"requirements.txt": "..."}, "requirements.txt", "--vulns")``.
    """
    counter = iter(range(10_000))

    def check(files: dict[str, str], target: str, *args: str) -> dict[str, Any]:
        where = tmp_path / f"c{next(counter)}"
        for name, text in files.items():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_text(text, encoding="utf-8")
        if (where / "osv").is_dir():
            code, out, err = run_cli(["db", "update", "--from", str(where / "osv"), "-q"], capsys)
            assert code == 0, err
        code, out, err = run_cli(["check", str(where / target), "--format", "json", "-q", *args], capsys)
        assert code in (0, 1), err
        document: dict[str, Any] = json.loads(out)
        return document

    return check


def check_rule_ids(document: dict[str, Any]) -> set[str]:
    return {f["rule_id"] for r in document["results"] for f in r["findings"]}


DiffExample = Callable[[Example], dict[str, Any]]


@pytest.fixture
def diff_example(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> DiffExample:
    """Build a rule example's two releases (sample 1.0 and 1.1) and ``depvet diff`` them.

    With index facts, both are published on a local index and diffed by name; returns the first
    diff of the JSON report.
    """
    counter = iter(range(10_000))

    def diff(example: Example) -> dict[str, Any]:
        where = tmp_path / f"d{next(counter)}"
        where.mkdir()
        write = write_sdist if example.artifact == DIFF_SDIST else write_wheel
        old = write(where, "sample", "1.0", dict(example.before))
        new = write(where, "sample", "1.1", example.files())
        if example.index:
            from tests.diffindex import fact_index

            with fact_index(where / "index", "sample", {"1.0": old, "1.1": new}, dict(example.index)) as url:
                code, out, err = run_cli(
                    ["diff", "sample", "1.0", "1.1", "-i", url, "--format", "json", "-q"], capsys
                )
        else:
            code, out, err = run_cli(["diff", str(old), str(new), "--format", "json", "-q"], capsys)
        assert code in (0, 1), err
        document: dict[str, Any] = json.loads(out)
        first: dict[str, Any] = document["diffs"][0]
        return first

    return diff


def diff_rule_ids(diff: dict[str, Any]) -> set[str]:
    return {r["rule_id"] for r in diff["reasons"]}
