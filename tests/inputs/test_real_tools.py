"""Lockfiles written by the real uv (offline, from a folder of test wheels) read alike in every format."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from demo.builders import write_wheel

from depvet.inputs import InputKind, ParsedInput, SourceKind, parse_input


def _uv() -> str | None:
    beside = Path(sys.executable).with_name("uv")
    return shutil.which("uv") or (str(beside) if beside.exists() else None)


UV = _uv()
pytestmark = pytest.mark.skipif(UV is None, reason="uv is not installed")


def run_uv(project: Path, *args: str) -> None:
    assert UV is not None
    # No user or site configuration, no downloads, no index: only the folder of wheels.
    env = {key: value for key, value in os.environ.items() if not key.startswith("UV_")}
    env.update(UV_CACHE_DIR=str(project.parent / "uv-cache"), UV_PYTHON_DOWNLOADS="never", UV_NO_CONFIG="1")
    subprocess.run(
        [UV, *args, "--offline", "--no-index", "--find-links", "../wheels", "--python", sys.executable],
        cwd=project,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("uvproject")
    wheels = root / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "fakereq", "2.0", {"fakereq/__init__.py": ""}, requires=("fakeidna>=1", "fakecert"))
    write_wheel(wheels, "fakeidna", "1.5", {"fakeidna/__init__.py": ""})
    write_wheel(wheels, "fakecert", "2024.1", {"fakecert/__init__.py": ""})
    app = root / "app"
    app.mkdir()
    (app / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["fakereq"]\n',
        encoding="utf-8",
    )
    run_uv(app, "lock")
    run_uv(app, "export", "--format", "pylock.toml", "-o", "pylock.toml")
    run_uv(app, "export", "--format", "requirements-txt", "--no-hashes", "-o", "requirements.txt")
    run_uv(app, "export", "--format", "cyclonedx1.5", "-o", "app.cdx.json")
    return app


def summary(parsed: ParsedInput) -> list[tuple[str, str | None, SourceKind]]:
    return sorted((p.name, p.version, p.source) for p in parsed.packages)


EXPECTED = [
    ("fakecert", "2024.1", SourceKind.REGISTRY),
    ("fakeidna", "1.5", SourceKind.REGISTRY),
    ("fakereq", "2.0", SourceKind.REGISTRY),
]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("uv.lock", InputKind.UV_LOCK),
        ("pylock.toml", InputKind.PYLOCK),
        ("requirements.txt", InputKind.REQUIREMENTS),
        ("app.cdx.json", InputKind.CYCLONEDX),
    ],
)
def test_every_export_of_one_lock_pins_the_same_releases(project: Path, name: str, kind: InputKind) -> None:
    parsed = parse_input(project / name)
    assert parsed.kind is kind
    assert summary(parsed) == EXPECTED
    assert parsed.unpinned == ()


@pytest.mark.parametrize("name", ["uv.lock", "requirements.txt", "app.cdx.json"])
def test_the_graph_survives_every_format_that_records_it(project: Path, name: str) -> None:
    parents = {p.name: p.parents for p in parse_input(project / name).packages}
    assert parents == {"fakecert": ("fakereq",), "fakeidna": ("fakereq",), "fakereq": ("app",)}


def test_uv_lock_files_are_found_relative_to_the_lock(project: Path) -> None:
    for package in parse_input(project / "uv.lock").packages:
        (wheel,) = package.files
        assert wheel.url is not None
        assert (project / wheel.url).is_file()


def test_pylock_hashes_are_the_wheels_hashes(project: Path) -> None:
    for package in parse_input(project / "pylock.toml").packages:
        (wheel,) = package.files
        assert wheel.filename is not None
        data = (project.parent / "wheels" / wheel.filename).read_bytes()
        assert wheel.sha256 == hashlib.sha256(data).hexdigest()
