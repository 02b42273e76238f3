"""Plumbing the input parsers share: reading text, typed table access, hashes, names."""

from __future__ import annotations

import json
import re
import tomllib
import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.utils import canonicalize_name

from depvet.errors import InputError
from depvet.timestamps import parse_timestamp

STDIN = "-"
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
# The userinfo part of a URL: private indexes put tokens there, and messages are shown and logged.
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def display_name(path: Path) -> str:
    """How messages name the input: file names come from users and lockfiles, so made printable."""
    return "<stdin>" if str(path) == STDIN else printable(str(path))


def read_text(path: Path, display: str) -> str:
    """The file as text; every way of failing is one InputError line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{display}: is a directory, not a lockfile or requirements file") from None
    except OSError as exc:
        raise InputError(f"{display}: cannot read: {exc.strerror or exc}") from None
    try:
        # utf-8-sig: editors on Windows write a byte-order mark that pip also accepts.
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{display}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def redact(text: str) -> str:
    """``text`` with the user and password of any URL in it replaced by ``***``."""
    return _USERINFO.sub("***@", text)


def printable(text: str) -> str:
    """``text`` safe to print on one line: a hostile lockfile must not move the cursor or recolour."""
    return "".join(c if c.isprintable() else "?" for c in text)


def shorten(text: str, limit: int = 120) -> str:
    """Quotable in a one-line message: credentials hidden, control characters replaced, long values cut."""
    text = printable(redact(text.strip()))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def identity(path: Path, where: str) -> str:
    """The absolute path ``path`` names, to tell whether two includes are the same file."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
        raise InputError(f"{where}: cannot resolve {printable(str(path))}: {exc}") from None


def load_toml(text: str, display: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{display}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(f"{display}: not valid TOML: nested too deeply") from None


def load_json_object(text: str, display: str) -> dict[str, object]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{display}: not valid JSON: {exc}") from None
    except RecursionError:
        raise InputError(f"{display}: not valid JSON: nested too deeply") from None
    if not isinstance(data, dict):
        raise InputError(f"{display}: expected a JSON object at the top level")
    return data


@dataclass(frozen=True, slots=True)
class Fields:
    """A TOML table or JSON object read with type checks; errors say the file and where in it."""

    data: Mapping[str, object]
    where: str  # e.g. "uv.lock: package 'requests'"

    def error(self, problem: str) -> InputError:
        return InputError(f"{self.where}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.data

    def text(self, key: str) -> str | None:
        value = self.data.get(key)
        if value is None or isinstance(value, str):
            return value
        raise self.error(f"'{key}' must be a string")

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise self.error(f"missing key '{key}'")
        return value

    def boolean(self, key: str) -> bool:
        value = self.data.get(key, False)
        if isinstance(value, bool):
            return value
        raise self.error(f"'{key}' must be true or false")

    def table(self, key: str, where: str | None = None) -> Fields | None:
        value = self.data.get(key)
        if value is None:
            return None
        return as_fields(value, where or f"{self.where}: '{key}'")

    def tables(self, key: str, label: str) -> list[Fields]:
        """An array of tables (absent means empty); ``label`` names one element in messages."""
        return [as_fields(item, f"{self.where}: {label} #{i}") for i, item in enumerate(self.items(key), 1)]

    def items(self, key: str) -> list[object]:
        value = self.data.get(key, [])
        if isinstance(value, list):
            return value
        raise self.error(f"'{key}' must be an array")

    def texts(self, key: str) -> list[str]:
        values = self.items(key)
        if all(isinstance(v, str) for v in values):
            return [str(v) for v in values]
        raise self.error(f"'{key}' must be an array of strings")


def as_fields(value: object, where: str) -> Fields:
    if not isinstance(value, dict):
        raise InputError(f"{where}: must be a table")
    return Fields(value, where)


def sha256_of(algo_value: str, where: str) -> str | None:
    """``sha256:<hex>`` as lower-case hex; another algorithm gives None; a malformed value fails."""
    algo, sep, value = algo_value.partition(":")
    if not sep:
        raise InputError(f"{where}: hash '{shorten(algo_value)}' is not 'algorithm:value'")
    if algo.strip().lower() != "sha256":
        return None
    return checked_sha256(value, where)


def checked_sha256(value: str, where: str) -> str:
    if not _HEX64.fullmatch(value):
        raise InputError(f"{where}: '{shorten(value)}' is not a SHA-256 hex digest")
    return value.lower()


def filename_of(location: str) -> str | None:
    """The last path component of a URL or path, without query or fragment."""
    path = urllib.parse.urlsplit(location).path if "://" in location else location
    name = urllib.parse.unquote(path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1])
    return name or None


def unique(values: Iterable[str]) -> tuple[str, ...]:
    """``values`` without repeats, first occurrence kept (dict keeps insertion order)."""
    return tuple(dict.fromkeys(values))


class ParentIndex:
    """Who depends on whom, keyed by normalised name so spellings in the input need not agree."""

    def __init__(self) -> None:
        self._parents: dict[str, list[str]] = {}

    def add(self, child: str, parent: str) -> None:
        self._parents.setdefault(canonicalize_name(child), []).append(parent)

    def of(self, name: str) -> tuple[str, ...]:
        return unique(self._parents.get(canonicalize_name(name), ()))


def upload_time_of(value: object, where: str) -> datetime | None:
    """An ``upload-time`` (TOML datetime or RFC 3339 string) as an aware datetime; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        parsed = parse_timestamp(value)
        if parsed is None:
            raise InputError(f"{where}: 'upload-time' {shorten(value)!r} is not an RFC 3339 time")
        return parsed
    if not isinstance(value, datetime):
        raise InputError(f"{where}: 'upload-time' must be a date and time")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
