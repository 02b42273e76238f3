"""Which input format a file is: by its name first, then by what it contains."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from depvet.errors import InputError
from depvet.inputs._common import STDIN, display_name
from depvet.inputs._pip_lines import logical_lines
from depvet.inputs.model import InputKind

_EXACT_NAMES = {
    "uv.lock": InputKind.UV_LOCK,
    "poetry.lock": InputKind.POETRY_LOCK,
    "pipfile.lock": InputKind.PIPFILE_LOCK,
    "pyproject.toml": InputKind.PYPROJECT,
}
_PYLOCK_NAME = re.compile(r"pylock\.([^.]+\.)?toml")  # PEP 751's file name rule
_CYCLONEDX_SUFFIXES = (".cdx.json", ".cyclonedx.json")  # CycloneDX's recommended names
_CYCLONEDX_NAMES = ("bom.json",)
_REQUIREMENT_SUFFIXES = (".txt", ".in")
# The start of a PEP 508 requirement: a name, optional extras, then a version, marker or URL.
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*([=!<>~;@(].*)?")
_URL_START = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def detect_kind(path: Path, text: str) -> InputKind:
    kind = None if str(path) == STDIN else _by_name(path)
    kind = kind or _by_content(text)
    if kind is None:
        raise InputError(f"cannot tell what kind of input {display_name(path)} is; use --input-type")
    return kind


def _by_name(path: Path) -> InputKind | None:
    name = path.name.lower()
    if name in _EXACT_NAMES:
        return _EXACT_NAMES[name]
    if _PYLOCK_NAME.fullmatch(name):
        return InputKind.PYLOCK
    if name.endswith(_CYCLONEDX_SUFFIXES) or name in _CYCLONEDX_NAMES:
        return InputKind.CYCLONEDX
    if name.endswith(_REQUIREMENT_SUFFIXES) and (
        "requirement" in name or "constraint" in name or path.parent.name.lower() == "requirements"
    ):
        return InputKind.REQUIREMENTS
    return None


def _by_content(text: str) -> InputKind | None:
    if text.lstrip().startswith("{"):
        return _json_kind(text)
    return _toml_kind(text) or (InputKind.REQUIREMENTS if _looks_like_requirements(text) else None)


def _json_kind(text: str) -> InputKind | None:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    if data.get("bomFormat") == "CycloneDX":
        return InputKind.CYCLONEDX
    meta = data.get("_meta")
    if isinstance(meta, dict) and "pipfile-spec" in meta:
        return InputKind.PIPFILE_LOCK
    return None


def _toml_kind(text: str) -> InputKind | None:
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None
    if "lock-version" in data and "packages" in data:
        return InputKind.PYLOCK
    metadata = data.get("metadata")
    if isinstance(metadata, dict) and ("lock-version" in metadata or "content-hash" in metadata):
        return InputKind.POETRY_LOCK
    if isinstance(data.get("version"), int) and "package" in data:
        return InputKind.UV_LOCK
    return None


def _looks_like_requirements(text: str) -> bool:
    """Every line an option, a requirement, a URL or a path, and at least one of them."""
    contents = [line.content for line in logical_lines(text) if line.content]
    return bool(contents) and all(_requirement_like(content) for content in contents)


def _requirement_like(content: str) -> bool:
    return (
        content.startswith(("-", ".", "/"))
        or bool(_URL_START.match(content))
        or bool(_REQUIREMENT.fullmatch(content.split(" -", 1)[0].strip()))
    )
