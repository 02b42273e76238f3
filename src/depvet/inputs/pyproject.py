"""A ``pyproject.toml`` with no lock: resolve its dependencies with pip, wheels only.

Resolving means reading every candidate's metadata; for an sdist that means building it, which
runs its ``setup.py``. So pip resolves with ``--only-binary :all:`` and ``--dry-run``: it reads
metadata from wheels, installs nothing and runs no package code. pip is the resolver users
already trust and configure (index, certificates, proxies); its JSON installation report
(``--report``) names the exact file and hash of every release it picked. A requirement that
only has an sdist stops the resolution, and the message says so: a lock made where building is
acceptable is the way to scan such a project.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depvet.errors import InputError
from depvet.inputs._common import ParentIndex, display_name, filename_of
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, PinnedFile, SourceKind
from depvet.inputs.sdistmeta import read_sdist_statically

RESOLVE_SECONDS = 600
MAX_SDIST_ONLY = 20
_NO_WHEEL = re.compile(
    r"(?:Could not find a version that satisfies the requirement|No matching distribution found for)"
    r" ([^\s(]+)"
)


def parse_pyproject(
    text: str, path: Path, *, index_url: str | None = None, extra_index_urls: tuple[str, ...] = ()
) -> ParsedInput:
    where = display_name(path)
    requirements = _dependencies(text, where)
    notes = [f"{where}: no lock next to it: resolved now with pip, wheels only; a lock (uv lock) is better"]
    packages, more = _resolve(requirements, where, index_url, extra_index_urls)
    notes += more
    return ParsedInput(
        path=str(path),
        kind=InputKind.PYPROJECT,
        packages=packages,
        unpinned=(),
        index_urls=(index_url,) if index_url else (),
        extra_index_urls=extra_index_urls,
        notes=tuple(notes),
    )


def _dependencies(text: str, where: str) -> list[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from None
    project = data.get("project")
    if not isinstance(project, dict):
        raise InputError(f"{where}: no [project] table (PEP 621); scan the project's lockfile instead")
    dependencies = project.get("dependencies", [])
    if "dependencies" in project.get("dynamic", []):
        raise InputError(
            f"{where}: the dependencies are dynamic (computed by the build backend); scan a lock"
        )
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise InputError(f"{where}: [project] dependencies must be a list of strings")
    for dependency in dependencies:
        try:
            Requirement(dependency)
        except InvalidRequirement as exc:
            raise InputError(f"{where}: cannot parse dependency {dependency!r}: {exc}") from None
    return list(dependencies)


def _resolve(
    requirements: list[str], where: str, index_url: str | None, extra_index_urls: tuple[str, ...]
) -> tuple[tuple[LockedPackage, ...], list[str]]:
    """pip's resolution; a direct dependency with only an sdist is read statically instead.

    Its sdist is scanned like any pinned file, and the dependencies its PKG-INFO declares
    statically (Metadata-Version 2.2+, Requires-Dist not dynamic) are resolved in its place.
    """
    pending = list(requirements)
    static: list[LockedPackage] = []
    notes: list[str] = []
    for _ in range(MAX_SDIST_ONLY):
        if not pending:
            return tuple(static), notes
        done = _pip_report(pending, where, index_url, extra_index_urls)
        if done.returncode == 0:
            return (*_packages(_report(done.stdout, where), where), *static), notes
        missing = _NO_WHEEL.search(done.stderr)
        if missing is None:
            raise InputError(f"{where}: {_failure(done.stderr)}")
        wanted = _requirement(missing.group(1), where)
        direct = [
            r for r in pending if canonicalize_name(Requirement(r).name) == canonicalize_name(wanted.name)
        ]
        if not direct:
            raise InputError(f"{where}: {_failure(done.stderr)}")
        package, requires, note = read_sdist_statically(wanted, index_url, where)
        static.append(package)
        notes.append(note)
        pending = [r for r in pending if r not in direct] + requires
    raise InputError(f"{where}: more than {MAX_SDIST_ONLY} dependencies have only an sdist: make a lock")


def _pip_report(
    requirements: list[str], where: str, index_url: str | None, extra_index_urls: tuple[str, ...]
) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--ignore-installed",
        "--only-binary",
        ":all:",
        "--disable-pip-version-check",
        "--report",
        "-",
    ]
    if index_url:
        argv += ["--index-url", index_url]
    for extra in extra_index_urls:
        argv += ["--extra-index-url", extra]
    argv += ["--", *requirements]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=RESOLVE_SECONDS, check=False)
    except FileNotFoundError:
        raise InputError(f"{where}: resolving it needs pip; scan a lock instead") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"{where}: pip did not finish resolving in {RESOLVE_SECONDS} s") from None


def _report(stdout: str, where: str) -> dict[str, Any]:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        raise InputError(f"{where}: pip's installation report is not JSON") from None
    if not isinstance(report, dict):
        raise InputError(f"{where}: pip's installation report is not a JSON object")
    return report


def _requirement(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement:
        raise InputError(f"{where}: pip could not resolve {text!r}") from None


def _failure(stderr: str) -> str:
    missing = _NO_WHEEL.search(stderr)
    if missing:
        return (
            f"pip found no wheel for {missing.group(1)} (depvet resolves with wheels only, because "
            "building an sdist runs its code): make a lock where that is acceptable and scan the lock"
        )
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return "pip could not resolve the dependencies: " + (lines[-1] if lines else "no message")


def _packages(report: dict[str, Any], where: str) -> tuple[LockedPackage, ...]:
    items = report.get("install")
    if not isinstance(items, list):
        raise InputError(f"{where}: pip's installation report has no 'install' list")
    parents = ParentIndex()
    found: list[tuple[str, str, PinnedFile]] = []
    for item in items:
        metadata = item.get("metadata", {})
        info = item.get("download_info", {})
        name, version, url = metadata.get("name"), metadata.get("version"), info.get("url")
        if not (isinstance(name, str) and isinstance(version, str) and isinstance(url, str)):
            raise InputError(f"{where}: pip's installation report misses a name, version or URL")
        sha256 = info.get("archive_info", {}).get("hashes", {}).get("sha256")
        found.append((name, version, PinnedFile(filename_of(url), url, sha256)))
        for requirement in metadata.get("requires_dist", []):
            parents.add(_requirement_name(requirement), name)
    return tuple(
        LockedPackage(
            name=name,
            version=version,
            files=(pinned,),
            index_url=None,
            source=SourceKind.REGISTRY,
            parents=parents.of(name),
            line=None,
            markers=None,
        )
        for name, version, pinned in found
    )


def _requirement_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return ""
