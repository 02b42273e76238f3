"""Where depvet keeps its files for the user: the platform's cache and data directories."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


def user_cache_dir(
    env: Mapping[str, str] | None = None, home: Path | None = None, platform: str | None = None
) -> Path:
    """``$DEPVET_CACHE_DIR``, else the platform's per-user cache directory for depvet."""
    return _user_dir(
        "DEPVET_CACHE_DIR", "XDG_CACHE_HOME", (".cache",), ("Library", "Caches"), "Cache", env, home, platform
    )


def user_data_dir(
    env: Mapping[str, str] | None = None, home: Path | None = None, platform: str | None = None
) -> Path:
    """``$DEPVET_DATA_DIR``, else the platform's per-user data directory for depvet."""
    return _user_dir(
        "DEPVET_DATA_DIR",
        "XDG_DATA_HOME",
        (".local", "share"),
        ("Library", "Application Support"),
        "Data",
        env,
        home,
        platform,
    )


def _user_dir(
    override: str,
    xdg_variable: str,
    xdg_default: tuple[str, ...],
    darwin: tuple[str, ...],
    windows_leaf: str,
    env: Mapping[str, str] | None,
    home: Path | None,
    platform: str | None,
) -> Path:
    environ: Mapping[str, str] = os.environ if env is None else env
    user_home = Path.home() if home is None else home
    system = sys.platform if platform is None else platform
    if environ.get(override):
        return Path(environ[override]).expanduser()
    if system == "darwin":
        return user_home.joinpath(*darwin, "depvet")
    if system == "win32":
        local = (
            Path(environ["LOCALAPPDATA"]) if environ.get("LOCALAPPDATA") else user_home / "AppData" / "Local"
        )
        return local / "depvet" / windows_leaf
    # XDG Base Directory: a relative value is invalid and must be ignored.
    xdg = environ.get(xdg_variable, "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else user_home.joinpath(*xdg_default)
    return base / "depvet"
