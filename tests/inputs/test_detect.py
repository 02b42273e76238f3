"""Telling formats apart (name first, then content), forcing one, and reading files safely."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from depvet.errors import InputError, UsageError
from depvet.inputs import InputKind, detect_kind, parse_input

UV_LOCK = 'version = 1\nrevision = 3\n\n[[package]]\nname = "six"\nversion = "1.16.0"\nsource = { registry = "https://pypi.org/simple" }\n'
POETRY_LOCK = '[[package]]\nname = "six"\nversion = "1.16.0"\nfiles = []\n\n[metadata]\nlock-version = "2.1"\ncontent-hash = "00"\n'
PYLOCK = (
    "lock-version = '1.0'\ncreated-by = 'pdm'\n\n[[packages]]\nname = 'six'\ndirectory = {path = 'six'}\n"
)
PIPFILE_LOCK = json.dumps(
    {"_meta": {"pipfile-spec": 6, "sources": []}, "default": {"six": {"version": "==1.16.0"}}}
)
CYCLONEDX = json.dumps(
    {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "components": [{"name": "six", "purl": "pkg:pypi/six@1.16.0"}],
    }
)
REQUIREMENTS = "# pinned\nsix==1.16.0\nrequests[socks]>=2 ; python_version >= '3.8'\n-e .\n"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("uv.lock", InputKind.UV_LOCK),
        ("poetry.lock", InputKind.POETRY_LOCK),
        ("Pipfile.lock", InputKind.PIPFILE_LOCK),
        ("pylock.toml", InputKind.PYLOCK),
        ("pylock.dev.toml", InputKind.PYLOCK),
        ("bom.json", InputKind.CYCLONEDX),
        ("app.cdx.json", InputKind.CYCLONEDX),
        ("app.cyclonedx.json", InputKind.CYCLONEDX),
        ("requirements.txt", InputKind.REQUIREMENTS),
        ("requirements-dev.txt", InputKind.REQUIREMENTS),
        ("dev-requirements.in", InputKind.REQUIREMENTS),
        ("constraints.txt", InputKind.REQUIREMENTS),
        ("requirements/base.txt", InputKind.REQUIREMENTS),
    ],
)
def test_the_name_decides_first(name: str, kind: InputKind) -> None:
    # The content is of another kind: a name that says what the file is wins.
    assert detect_kind(Path("some/dir") / name, "anything at all") is kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (UV_LOCK, InputKind.UV_LOCK),
        (POETRY_LOCK, InputKind.POETRY_LOCK),
        (PYLOCK, InputKind.PYLOCK),
        (PIPFILE_LOCK, InputKind.PIPFILE_LOCK),
        (CYCLONEDX, InputKind.CYCLONEDX),
        (REQUIREMENTS, InputKind.REQUIREMENTS),
        ("https://example.com/six-1.16.0-py3-none-any.whl\n", InputKind.REQUIREMENTS),
    ],
)
def test_the_content_decides_for_other_names_and_stdin(text: str, kind: InputKind) -> None:
    assert detect_kind(Path("deps.lock"), text) is kind
    assert detect_kind(Path("-"), text) is kind
    assert parse_input(Path("-"), text).kind is kind


@pytest.mark.parametrize(
    "text",
    [
        "Shopping list:\nmilk and eggs\n",
        "",
        "# only a comment\n",
        '{"name": "not a lock"}',
        "[tool.black]\nline-length = 100\n",
    ],
)
def test_unknown_content_asks_for_input_type(text: str) -> None:
    with pytest.raises(
        InputError, match=f"^{re.escape('cannot tell what kind of input notes.txt is; use --input-type')}$"
    ):
        detect_kind(Path("notes.txt"), text)


def test_unknown_stdin_content() -> None:
    with pytest.raises(InputError, match=r"^cannot tell what kind of input <stdin> is; use --input-type$"):
        parse_input(Path("-"), "hello world\n")


def test_a_forced_kind_overrides_the_name() -> None:
    parsed = parse_input(Path("uv.lock"), REQUIREMENTS, InputKind.REQUIREMENTS)
    assert parsed.kind is InputKind.REQUIREMENTS
    assert [p.name for p in parsed.packages] == ["six"]


def test_a_forced_kind_that_does_not_fit_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"^requirements\.txt: not valid TOML: "):
        parse_input(Path("requirements.txt"), REQUIREMENTS, InputKind.UV_LOCK)


def test_a_kind_may_be_given_as_its_flag_value() -> None:
    parsed = parse_input(Path("-"), PYLOCK, "pylock")  # type: ignore[arg-type]
    assert parsed.kind is InputKind.PYLOCK


def test_an_unknown_kind_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"^unknown input type 'gemfile' \(known: requirements, pylock, "):
        parse_input(Path("-"), REQUIREMENTS, "gemfile")  # type: ignore[arg-type]


def test_reads_the_file_when_no_text_is_given(tmp_path: Path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(UV_LOCK, encoding="utf-8")
    parsed = parse_input(lock)
    assert parsed.kind is InputKind.UV_LOCK
    assert parsed.path == str(lock)
    assert [(p.name, p.version) for p in parsed.packages] == [("six", "1.16.0")]


def test_byte_order_mark_and_windows_line_endings(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"\xef\xbb\xbfsix==1.16.0\r\nidna==3.10 \\\r\n  ; python_version >= '3.8'\r\n")
    parsed = parse_input(path)
    assert [(p.name, p.version, p.line) for p in parsed.packages] == [
        ("six", "1.16.0", 1),
        ("idna", "3.10", 2),
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    with pytest.raises(InputError, match=f"^{re.escape(str(path))}: no such file$"):
        parse_input(path)


def test_a_directory_is_not_an_input(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"is a directory, not a lockfile or requirements file$"):
        parse_input(tmp_path)


def test_text_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_bytes(b"six==1.16.0\n\xff\xfe\n")
    with pytest.raises(
        InputError, match=f"^{re.escape(str(path))}: not UTF-8 text \\(invalid byte at offset 12\\)$"
    ):
        parse_input(path)
