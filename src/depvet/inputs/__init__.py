"""Lockfiles, requirement files and SBOMs -> the packages they pin (no network, no downloads)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from depvet.errors import InputError, UsageError
from depvet.inputs.model import (
    InputKind,
    LockedPackage,
    ParsedInput,
    PinnedFile,
    SourceKind,
    Unpinned,
)

__all__ = [
    "InputKind",
    "LockedPackage",
    "ParsedInput",
    "PinnedFile",
    "SourceKind",
    "Unpinned",
    "detect_kind",
    "parse_input",
]


# Each parser is imported when its format is met: the command line builds its --input-type
# choices from InputKind at every start, and ``check`` of one lock needs one parser.
_PARSERS: dict[InputKind, tuple[str, str]] = {
    InputKind.REQUIREMENTS: ("depvet.inputs.requirements", "parse_requirements"),
    InputKind.PYLOCK: ("depvet.inputs.pylock", "parse_pylock"),
    InputKind.UV_LOCK: ("depvet.inputs.uvlock", "parse_uv_lock"),
    InputKind.POETRY_LOCK: ("depvet.inputs.poetrylock", "parse_poetry_lock"),
    InputKind.PIPFILE_LOCK: ("depvet.inputs.pipfilelock", "parse_pipfile_lock"),
    InputKind.CYCLONEDX: ("depvet.inputs.cyclonedx", "parse_cyclonedx"),
}


def _parser(kind: InputKind) -> Callable[[str, Path], ParsedInput]:
    module, function = _PARSERS[kind]
    parse: Callable[[str, Path], ParsedInput] = getattr(importlib.import_module(module), function)
    return parse


def detect_kind(path: Path, text: str) -> InputKind:
    """The format of ``path`` from its name, else its content; InputError when neither says."""
    from depvet.inputs.detect import detect_kind as detect

    return detect(path, text)


def parse_input(
    path: Path,
    text: str | None = None,
    kind: InputKind | None = None,
    *,
    index_url: str | None = None,
    extra_index_urls: tuple[str, ...] = (),
    resolve: bool = True,
) -> ParsedInput:
    """The packages ``path`` pins; ``text`` is its content when the caller has it (stdin).

    ``kind`` forces the format (``--input-type``); otherwise it is detected. Anything wrong
    with the input raises InputError with a one-line message naming the file. The index
    arguments are for a ``pyproject.toml``, which pip resolves against them; with ``resolve``
    False a ``pyproject.toml`` is refused instead (no network).
    """
    from depvet.inputs._common import STDIN, display_name, read_text

    if text is None:
        text = _read_stdin() if str(path) == STDIN else read_text(path, display_name(path))
    found = _kind(kind) if kind is not None else detect_kind(path, text)
    if found is InputKind.PYPROJECT and not resolve:
        raise UsageError(
            f"{path}: a pyproject.toml pins no releases and check resolves nothing (no network): "
            "check the project's lockfile, or 'depvet scan' it"
        )
    if found is InputKind.PYPROJECT:
        from depvet.inputs.pyproject import parse_pyproject

        return parse_pyproject(text, path, index_url=index_url, extra_index_urls=extra_index_urls)
    return _parser(found)(text, path)


def _kind(kind: str) -> InputKind:
    try:
        return InputKind(kind)
    except ValueError:
        known = ", ".join(InputKind)
        raise UsageError(f"unknown input type '{kind}' (known: {known})") from None


def _read_stdin() -> str:
    try:
        return sys.stdin.read()
    except UnicodeDecodeError as exc:
        raise InputError(f"<stdin>: not UTF-8 text (invalid byte at offset {exc.start})") from None
