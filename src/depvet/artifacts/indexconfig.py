"""Which package indexes the user's own pip and uv would download from.

depvet fetches what the user would install, so it reads the same settings pip and uv read: command line,
then uv's environment variables, then pip's, then pip's configuration files. pip's file rules follow
``pip/_internal/configuration.py`` (not its docs, which disagree about ``PIP_CONFIG_FILE``): files load
global, user (legacy ``~/.pip`` then ``~/.config/pip``), site (``$VIRTUAL_ENV``), then ``PIP_CONFIG_FILE``,
each overriding the one before; ``PIP_CONFIG_FILE=os.devnull`` loads none, and an existing
``PIP_CONFIG_FILE`` skips the user files. Within the merged files ``[install]`` beats ``[global]``.
"""

from __future__ import annotations

import configparser
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from depvet.errors import InputError

DEFAULT_INDEX_URL = "https://pypi.org/simple/"

# pip reads ``pip <command>`` settings from ``[<command>]`` over ``[global]``; depvet downloads what
# ``pip install`` would, so that is the command section that counts.
_SECTIONS = ("global", "install")


@dataclass(frozen=True, slots=True)
class IndexConfig:
    index_url: str
    extra_index_urls: tuple[str, ...]
    source: str  # where ``index_url`` came from: "--index-url", "PIP_INDEX_URL", a file path, "default"


@dataclass(frozen=True, slots=True)
class _Setting:
    value: str
    source: str


def resolve_index_config(
    cli_index_url: str | None = None,
    cli_extra: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    *,
    system_dirs: Sequence[Path] | None = None,
) -> IndexConfig:
    """The primary index and the extra ones, by precedence CLI > uv env > pip env > pip files > PyPI.

    Extras are the union of every source (a scanner checks everything any of the user's tools might
    fetch from), in that order, without duplicates. ``system_dirs`` replaces the directories searched
    for the global ``pip.conf`` (tests use it to keep the machine's ``/etc/pip.conf`` out).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    user_home = Path.home() if home is None else home
    files = _pip_file_settings(_pip_config_files(environ, user_home, system_dirs))

    candidates = (
        _Setting(cli_index_url or "", "--index-url"),
        _Setting(_uv_index_url(environ.get("UV_DEFAULT_INDEX", "")), "UV_DEFAULT_INDEX"),
        _Setting(environ.get("UV_INDEX_URL", ""), "UV_INDEX_URL"),
        _Setting(environ.get("PIP_INDEX_URL", ""), "PIP_INDEX_URL"),
        files.get("index-url") or _Setting("", ""),
        _Setting(DEFAULT_INDEX_URL, "default"),
    )
    primary = next(c for c in candidates if c.value.strip())
    index_url = normalize_index_url(primary.value)

    config_extra = files.get("extra-index-url")
    extra_sources: list[Iterable[str]] = [
        cli_extra,
        (_uv_index_url(part) for part in environ.get("UV_INDEX", "").split()),
        environ.get("UV_EXTRA_INDEX_URL", "").split(),
        environ.get("PIP_EXTRA_INDEX_URL", "").split(),
        config_extra.value.split() if config_extra else (),
    ]
    extras: list[str] = []
    for source in extra_sources:
        for raw in source:
            if not raw.strip():
                continue
            url = normalize_index_url(raw)
            if url != index_url and url not in extras:
                extras.append(url)
    return IndexConfig(index_url, tuple(extras), primary.source)


def normalize_index_url(raw: str) -> str:
    """``raw`` as an index base URL ending in ``/``; a bare path (pip and uv accept one) becomes ``file:``."""
    value = raw.strip()
    if "://" not in value and not value.lower().startswith("file:"):
        return _with_trailing_slash(Path(value).expanduser().absolute().as_uri())
    return _with_trailing_slash(value)


def _with_trailing_slash(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url if url.endswith("/") else url + "/"
    if parts.path.endswith("/"):
        return url
    return urlunsplit(parts._replace(path=parts.path + "/"))


def _uv_index_url(value: str) -> str:
    """The URL of a uv index given as ``URL`` or ``name=URL``.

    uv's ``Index::from_str`` splits at the first ``=`` when the part before it holds no ``:``.
    """
    name, sep, url = value.strip().partition("=")
    if sep and ":" not in name:
        return url
    return value


# -- pip configuration files --------------------------------------------------------------------------


def _pip_config_files(env: Mapping[str, str], home: Path, system_dirs: Sequence[Path] | None) -> list[Path]:
    """pip's configuration files for this platform, lowest priority first."""
    env_file = env.get("PIP_CONFIG_FILE")
    if env_file == os.devnull:
        return []
    basename = "pip.ini" if sys.platform == "win32" else "pip.conf"
    dirs = list(system_dirs) if system_dirs is not None else _system_config_dirs(env)
    files = [directory / basename for directory in dirs]
    if not (env_file and Path(env_file).exists()):
        files.extend(_user_config_files(env, home, basename))
    virtual_env = env.get("VIRTUAL_ENV")
    if virtual_env:
        # pip reads sys.prefix; the user's pip runs in the user's venv, which VIRTUAL_ENV names.
        files.append(Path(virtual_env) / basename)
    if env_file:
        files.append(Path(env_file))
    return files


def _system_config_dirs(env: Mapping[str, str]) -> list[Path]:
    if sys.platform == "darwin":
        return [Path("/Library/Application Support/pip")]
    if sys.platform == "win32":
        return [Path(env.get("PROGRAMDATA", r"C:\ProgramData")) / "pip"]
    xdg_dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    return [Path(d) / "pip" for d in xdg_dirs.split(os.pathsep) if d] + [Path("/etc")]


def _user_config_files(env: Mapping[str, str], home: Path, basename: str) -> list[Path]:
    if sys.platform == "win32":
        appdata = Path(env["APPDATA"]) if env.get("APPDATA") else home / "AppData" / "Roaming"
        return [home / "pip" / basename, appdata / "pip" / basename]
    legacy = home / ".pip" / basename
    if sys.platform == "darwin" and (home / "Library" / "Application Support" / "pip").is_dir():
        return [legacy, home / "Library" / "Application Support" / "pip" / basename]
    config_home = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return [legacy, config_home / "pip" / basename]


def _pip_file_settings(files: Sequence[Path]) -> dict[str, _Setting]:
    """``index-url`` and ``extra-index-url`` as pip would see them after merging ``files``."""
    merged: dict[tuple[str, str], _Setting] = {}
    for path in files:
        parser = _read_pip_config(path)
        if parser is None:
            continue
        for section in parser.sections():
            for name, value in parser.items(section):
                merged[(section.lower(), _option_name(name))] = _Setting(value, str(path))
    settings: dict[str, _Setting] = {}
    for key in ("index-url", "extra-index-url"):
        for section in _SECTIONS:
            found = merged.get((section, key))
            if found is not None:
                settings[key] = found
    return settings


def _option_name(name: str) -> str:
    # pip's _normalize_name: ``index_url``, ``--index-url`` and ``index-url`` are one option.
    normalized = name.lower().replace("_", "-")
    return normalized[2:] if normalized.startswith("--") else normalized


def _read_pip_config(path: Path) -> configparser.RawConfigParser | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read pip configuration {path}: not UTF-8 text") from exc
    except OSError as exc:
        raise InputError(f"cannot read pip configuration {path}: {exc.strerror or exc}") from exc
    # Raw: no %-interpolation, which would break URL-encoded credentials, as in pip.
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(text, source=str(path))
    except configparser.Error as exc:
        raise InputError(f"cannot parse pip configuration {path}: {_parse_problem(exc)}") from exc
    return parser


def _parse_problem(exc: configparser.Error) -> str:
    """What is wrong, by line number only: a broken line may hold an index token."""
    match exc:
        case configparser.MissingSectionHeaderError():
            return f"line {exc.lineno} comes before any [section] header"
        case configparser.ParsingError():
            lines = ", ".join(str(lineno) for lineno, _ in exc.errors)
            return f"line {lines} is neither 'name = value' nor a [section] header"
        case configparser.DuplicateOptionError():
            return f"line {exc.lineno} repeats option {exc.option!r} of [{exc.section}]"
        case configparser.DuplicateSectionError():
            return f"line {exc.lineno} repeats section [{exc.section}]"
        case _:
            return type(exc).__name__
