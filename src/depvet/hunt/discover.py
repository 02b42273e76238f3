"""Where Python environments and package caches are on a host.

By default: the running interpreter's prefixes, pyenv versions and their venvs, virtualenvwrapper
(``$WORKON_HOME``), conda (base and ``envs/``), pipx venvs, the pip, uv and poetry caches of the
home, and every ``.venv``/``venv`` (any folder with a ``pyvenv.cfg``) under the roots searched.
Unreadable folders are reported through ``on_skip`` and passed over.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from depvet.hunt.model import CacheKind, EnvironmentKind

Skip = Callable[[str, str], None]
# Folders a search for project venvs never enters: huge, and no venv lives there.
_PRUNE = frozenset(
    {".git", "node_modules", "__pycache__", ".cache", ".npm", ".cargo", ".rustup", "site-packages", ".tox"}
)
MAX_DEPTH = 6


@dataclass(frozen=True, slots=True)
class FoundEnvironment:
    root: Path  # the prefix (venv folder, conda env, interpreter prefix)
    kind: EnvironmentKind
    site_packages: tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class FoundCache:
    root: Path
    kind: CacheKind


def site_packages_of(prefix: Path) -> list[Path]:
    """``lib/pythonX.Y/site-packages`` (and ``dist-packages``, ``Lib/site-packages``) of a prefix."""
    found = []
    for lib in (prefix / "lib", prefix / "lib64"):
        try:
            versions = sorted(p for p in lib.iterdir() if p.name.startswith("python"))
        except OSError:
            continue
        for version in versions:
            for name in ("site-packages", "dist-packages"):
                if (version / name).is_dir():
                    found.append(version / name)
    windows = prefix / "Lib" / "site-packages"
    if windows.is_dir():
        found.append(windows)
    return list(dict.fromkeys(p.resolve() for p in found))


def default_environments(
    home: Path, env: Mapping[str, str], on_skip: Skip, *, include_interpreter: bool = True
) -> list[FoundEnvironment]:
    found: list[FoundEnvironment] = []
    if include_interpreter:
        for prefix in dict.fromkeys([Path(sys.prefix), Path(sys.base_prefix)]):
            found.append(
                FoundEnvironment(prefix, EnvironmentKind.INTERPRETER, tuple(site_packages_of(prefix)))
            )
    pyenv = Path(env.get("PYENV_ROOT") or home / ".pyenv") / "versions"
    for prefix in _children(pyenv, on_skip):
        found.append(FoundEnvironment(prefix, EnvironmentKind.PYENV, tuple(site_packages_of(prefix))))
        for venv in _children(prefix / "envs", on_skip):
            found.append(FoundEnvironment(venv, EnvironmentKind.PYENV, tuple(site_packages_of(venv))))
    workon = Path(env.get("WORKON_HOME") or home / ".virtualenvs")
    for prefix in _children(workon, on_skip):
        found.append(
            FoundEnvironment(prefix, EnvironmentKind.VIRTUALENVWRAPPER, tuple(site_packages_of(prefix)))
        )
    for base in (
        home / "miniconda3",
        home / "anaconda3",
        home / "miniforge3",
        home / ".conda",
        home / "mambaforge",
    ):
        if (base / "conda-meta").is_dir():
            found.append(FoundEnvironment(base, EnvironmentKind.CONDA, tuple(site_packages_of(base))))
        for prefix in _children(base / "envs", on_skip):
            found.append(FoundEnvironment(prefix, EnvironmentKind.CONDA, tuple(site_packages_of(prefix))))
    for pipx in (home / ".local" / "pipx" / "venvs", home / ".local" / "share" / "pipx" / "venvs"):
        for prefix in _children(pipx, on_skip):
            found.append(FoundEnvironment(prefix, EnvironmentKind.PIPX, tuple(site_packages_of(prefix))))
    return found


def project_venvs(roots: Sequence[Path], on_skip: Skip, *, known: set[Path]) -> list[FoundEnvironment]:
    """Every folder with a ``pyvenv.cfg`` under ``roots`` (not entering the venvs themselves)."""
    found = []
    for root in roots:
        for prefix in _walk_for_venvs(root, on_skip, known):
            found.append(
                FoundEnvironment(prefix, EnvironmentKind.PROJECT_VENV, tuple(site_packages_of(prefix)))
            )
    return found


def _walk_for_venvs(root: Path, on_skip: Skip, known: set[Path]) -> Iterator[Path]:
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                children = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        except PermissionError:
            on_skip(str(folder), "permission denied")
            continue
        except OSError as exc:
            on_skip(str(folder), exc.strerror or str(exc))
            continue
        for child in sorted(children, reverse=True):
            if (child / "pyvenv.cfg").is_file():
                if child.resolve() not in known:
                    yield child
                continue
            if child.name in _PRUNE or depth + 1 > MAX_DEPTH:
                continue
            stack.append((child, depth + 1))


def files_under(
    root: Path, on_skip: Skip, *, max_depth: int | None = None, enter: Callable[[str], bool] = lambda _: True
) -> Iterator[tuple[Path, os.stat_result]]:
    """Regular files below ``root`` and their stat, links not followed; folders deeper than
    ``max_depth`` or whose name ``enter`` refuses are not entered. A folder that cannot be read
    goes to ``on_skip``; one that is gone is passed over."""
    stack = [(root, 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if (max_depth is None or depth < max_depth) and enter(entry.name):
                            stack.append((Path(entry.path), depth + 1))
                    elif entry.is_file(follow_symlinks=False):
                        yield Path(entry.path), entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue
        except PermissionError:
            on_skip(str(folder), "permission denied")
        except OSError as exc:
            on_skip(str(folder), exc.strerror or str(exc))


def default_caches(home: Path, env: Mapping[str, str]) -> list[FoundCache]:
    candidates = [
        (Path(env["PIP_CACHE_DIR"]) if env.get("PIP_CACHE_DIR") else home / ".cache" / "pip", CacheKind.PIP),
        (Path(env["UV_CACHE_DIR"]) if env.get("UV_CACHE_DIR") else home / ".cache" / "uv", CacheKind.UV),
        (home / ".cache" / "pypoetry", CacheKind.POETRY),
        (home / "Library" / "Caches" / "pip", CacheKind.PIP),
        (home / "Library" / "Caches" / "pypoetry", CacheKind.POETRY),
    ]
    return [FoundCache(path, kind) for path, kind in candidates if path.is_dir()]


def _children(folder: Path, on_skip: Skip) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir())
    except FileNotFoundError:
        return []
    except PermissionError:
        on_skip(str(folder), "permission denied")
        return []
    except OSError as exc:
        on_skip(str(folder), exc.strerror or str(exc))
        return []
