"""pip and uv, run twice each: once to resolve without running package code, once to install
exactly the files the guard verified.

Resolving. pip: ``pip install --dry-run --report`` in the target interpreter; its installation
report names the exact file (URL and sha256) of every release it would install, and it sees
what the target already has. uv: ``uv pip install`` has no report, so ``uv pip compile
--format pylock.toml`` resolves for the target interpreter instead; the PEP 751 lock names
each release's files with hashes and upload times. Both run with ``--only-binary :all:``
unless the policy allows sdists: reading an sdist's metadata means building it, which runs
its ``setup.py``.

Installing. The verified files are linked into a private directory and the installer is
pointed at it alone (``--no-index --find-links DIR``) with ``--no-deps --require-hashes`` and
a requirements file pinning each release to its verified sha256: nothing is resolved again,
nothing is downloaded, and a file that is not byte for byte the one scanned is refused by the
installer itself. Installing from a directory of archives, rather than naming each file's
path, keeps the installed metadata free of a ``direct_url.json`` pointing into depvet's cache
(``pip freeze`` shows ``name==version``, as after a normal install).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from depvet.errors import DepvetError, UsageError
from depvet.guard.installargs import InstallArgs, Role, Tool
from depvet.inputs._common import filename_of
from depvet.inputs.model import SourceKind

RESOLVE_TIMEOUT = 1800.0  # seconds; a large resolution against a slow index takes minutes
PROBE_TIMEOUT = 60.0
# pip 26.0 added --uploaded-prior-to (pypa/pip#13625).
PIP_CUTOFF_VERSION = Version("26.0")
# The exempted projects' own cutoff with uv: far enough ahead that nothing is cut off.
_EXEMPT_AHEAD = timedelta(days=3650)
_PIP_VERSION = re.compile(r"^pip (\S+) from ")
# Variables that would add places to install from; the final install must see the verified files only.
_SOURCE_VARIABLES = {
    Tool.PIP: ("PIP_FIND_LINKS", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"),
    Tool.UV: (
        "UV_FIND_LINKS",
        "UV_INDEX_URL",
        "UV_EXTRA_INDEX_URL",
        "UV_INDEX",
        "UV_DEFAULT_INDEX",
        "UV_NO_INDEX",
    ),
}


class GuardError(DepvetError):
    """The guarded install cannot go on; ``str()`` is one line for the user."""


class ResolutionFailed(GuardError):
    """The installer could not resolve; ``output`` is what it printed, for the user to read."""

    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True, slots=True)
class ResolvedFile:
    """One file the resolver would install.

    ``sha256`` is what the resolver took from the index (None when it had none); ``url`` is
    http(s) or ``file:``; ``upload_time`` is the resolver's own, when it reports one (uv).
    """

    name: str
    version: str
    filename: str
    url: str
    sha256: str | None
    upload_time: datetime | None = None

    @property
    def key(self) -> tuple[NormalizedName, str]:
        return canonicalize_name(self.name), self.version

    @property
    def is_local(self) -> bool:
        return self.url.startswith("file:")


@dataclass(frozen=True, slots=True)
class Steering:
    """What the guard asks of the next resolution: releases to avoid and an upload-time cutoff."""

    avoid: frozenset[tuple[NormalizedName, str]] = frozenset()
    cutoff: datetime | None = None  # only files uploaded before this (the cooldown)
    cutoff_exempt: frozenset[NormalizedName] = frozenset()  # projects a cooldown exemption names

    def avoiding(self, releases: Iterable[tuple[NormalizedName, str]]) -> Steering:
        return Steering(self.avoid | frozenset(releases), self.cutoff, self.cutoff_exempt)

    def without_cutoff(self) -> Steering:
        return Steering(self.avoid, None, self.cutoff_exempt)

    def constraint_lines(self) -> list[str]:
        """``name!=1.1,!=1.2`` per project: a constraints file both installers read."""
        by_name: dict[str, list[str]] = {}
        for name, version in sorted(self.avoid):
            by_name.setdefault(name, []).append(version)
        return [f"{name}{','.join(f'!={v}' for v in versions)}" for name, versions in by_name.items()]


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A verified file, linked into the directory the final install reads."""

    name: str
    version: str
    filename: str
    sha256: str


class Installer(Protocol):
    tool: Tool
    python: Path

    @property
    def supports_cutoff(self) -> bool:
        """Whether ``Steering.cutoff`` reaches the resolver (uv always, pip from 26.0)."""
        ...

    def resolve(self, args: InstallArgs, steering: Steering, workdir: Path) -> list[ResolvedFile]: ...

    def install(
        self, args: InstallArgs, files: Sequence[StagedFile], wheel_dir: Path, workdir: Path
    ) -> None: ...


def resolve_roles(allow_sdists: bool) -> tuple[Role, ...]:
    extra = (Role.NO_BINARY, Role.NO_BUILD) if allow_sdists else ()
    return (Role.RESOLVE, Role.BOTH, Role.CONSTRAINTS, Role.CUTOFF, *extra)


def install_roles(allow_sdists: bool) -> tuple[Role, ...]:
    extra = (Role.NO_BINARY, Role.NO_BUILD) if allow_sdists else ()
    return (Role.INSTALL, Role.BOTH, *extra)


def _binary_only(allow_sdists: bool) -> list[str]:
    return [] if allow_sdists else ["--only-binary", ":all:"]


def _steering_files(steering: Steering, workdir: Path, flag: str) -> list[str]:
    lines = steering.constraint_lines()
    if not lines:
        return []
    path = workdir / "avoid.txt"
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return [flag, str(path)]


def write_install_requirements(files: Sequence[StagedFile], path: Path) -> Path:
    """One pinned requirement per verified file, with its sha256: all the final install may take."""
    lines = [f"{canonicalize_name(f.name)}=={f.version} --hash=sha256:{f.sha256}\n" for f in files]
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _sources(args: InstallArgs, files: Sequence[StagedFile], *, offline: bool = False) -> list[str]:
    """No index at all for wheels. An sdist (only with allow-sdists) is built by the final install,
    and its build dependencies come from the user's indexes: they are not verified, as building
    runs code anyway, which is what allow-sdists accepts. The sdist itself is still taken from
    the verified directory, pinned to its sha256."""
    if all(f.filename.endswith(".whl") for f in files):
        return [*(["--offline"] if offline else []), "--no-index"]
    return args.index_tokens()


def _run(argv: Sequence[str], timeout: float, what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, errors="replace", timeout=timeout, check=False
        )
    except FileNotFoundError:
        raise GuardError(f"cannot run {argv[0]}: no such file") from None
    except PermissionError:
        raise GuardError(f"cannot run {argv[0]}: permission denied") from None
    except subprocess.TimeoutExpired:
        raise GuardError(f"{what} did not finish in {timeout:g} s") from None


def _final_install(argv: Sequence[str], tool: Tool, files: Sequence[StagedFile]) -> None:
    """Run the install with the user's terminal: its output is the installer's, as without the guard.

    For wheels, the variables that add indexes or find-links are left out too.
    """
    wheels_only = all(f.filename.endswith(".whl") for f in files)
    dropped = _SOURCE_VARIABLES[tool] if wheels_only else ()
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    try:
        done = subprocess.run(list(argv), env=env, check=False)
    except OSError as exc:
        raise GuardError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise GuardError(
            f"{tool} could not install the verified files (exit {done.returncode}); its message is above"
        )


# -- pip ----------------------------------------------------------------------------------------------


@dataclass
class PipInstaller:
    """``PY -m pip`` of the target interpreter: it resolves against what that environment holds."""

    python: Path
    allow_sdists: bool
    version: Version = field(init=False)
    tool: Tool = field(default=Tool.PIP, init=False)

    def __post_init__(self) -> None:
        self.version = pip_version(self.python)

    @property
    def supports_cutoff(self) -> bool:
        return self.version >= PIP_CUTOFF_VERSION

    def resolve(self, args: InstallArgs, steering: Steering, workdir: Path) -> list[ResolvedFile]:
        report = workdir / "report.json"
        report.unlink(missing_ok=True)
        argv = [
            str(self.python),
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--quiet",
            "--disable-pip-version-check",
            "--report",
            str(report),
            *args.tokens(Role.REQUIREMENTS, *resolve_roles(self.allow_sdists)),
            *_steering_files(steering, workdir, "--constraint"),
            *self._cutoff(steering),
            # Last, so that nothing before it can take it back.
            *_binary_only(self.allow_sdists),
            "--",
            *args.requirements,
        ]
        done = _run(argv, RESOLVE_TIMEOUT, "pip's resolution")
        if done.returncode != 0:
            raise ResolutionFailed(
                f"pip could not resolve the requirements (exit {done.returncode})", _output(done)
            )
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise GuardError(f"pip wrote no readable installation report: {exc}") from None
        return parse_pip_report(data)

    def _cutoff(self, steering: Steering) -> list[str]:
        if steering.cutoff is None or not self.supports_cutoff:
            return []
        return ["--uploaded-prior-to", _rfc3339(steering.cutoff)]

    def install(self, args: InstallArgs, files: Sequence[StagedFile], wheel_dir: Path, workdir: Path) -> None:
        requirements = write_install_requirements(files, workdir / "install.txt")
        argv = [
            str(self.python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            *_sources(args, files),
            "--find-links",
            str(wheel_dir),
            "--require-hashes",
            "--disable-pip-version-check",
            *args.tokens(*install_roles(self.allow_sdists)),
            *_binary_only(self.allow_sdists),
            "--requirement",
            str(requirements),
        ]
        _final_install(argv, Tool.PIP, files)


def pip_version(python: Path) -> Version:
    """The version of the target's pip; a one-line error when the target has none."""
    done = _run([str(python), "-m", "pip", "--version"], PROBE_TIMEOUT, f"{python} -m pip --version")
    match = _PIP_VERSION.match(done.stdout.strip())
    if done.returncode != 0 or match is None:
        raise GuardError(
            f"{python} has no working pip (python -m pip --version failed): install pip there "
            "(python -m ensurepip), or use 'depvet uv pip install'"
        )
    try:
        return Version(match.group(1))
    except InvalidVersion:
        raise GuardError(f"{python}: cannot read pip's version {match.group(1)!r}") from None


def parse_pip_report(data: object) -> list[ResolvedFile]:
    """The files of pip's installation report (format version 1).

    https://pip.pypa.io/en/stable/reference/installation-report/
    """
    if not isinstance(data, dict) or not isinstance(data.get("install"), list):
        raise GuardError("pip's installation report has no 'install' list")
    version = str(data.get("version", ""))
    if version.split(".")[0] != "1":
        raise GuardError(f"pip's installation report is version {version!r}; depvet reads version 1")
    return [_report_item(item) for item in data["install"]]


def _report_item(item: object) -> ResolvedFile:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    info = item.get("download_info") if isinstance(item, dict) else None
    if not isinstance(metadata, dict) or not isinstance(info, dict):
        raise GuardError("pip's installation report has an entry without metadata or download_info")
    name, version, url = metadata.get("name"), metadata.get("version"), info.get("url")
    if not (isinstance(name, str) and isinstance(version, str) and isinstance(url, str)):
        raise GuardError("pip's installation report has an entry without a name, version or URL")
    archive = info.get("archive_info")
    if not isinstance(archive, dict):
        kind = "directory" if "dir_info" in info else "VCS checkout" if "vcs_info" in info else "source"
        raise GuardError(
            f"pip resolved {name} {version} to a {kind}, which the guard cannot verify as a file"
        )
    return ResolvedFile(
        name=name,
        version=version,
        filename=_filename(url, name),
        url=url,
        sha256=_archive_sha256(archive),
    )


def _archive_sha256(archive: Mapping[str, object]) -> str | None:
    hashes = archive.get("hashes")
    if isinstance(hashes, dict) and isinstance(hashes.get("sha256"), str):
        return str(hashes["sha256"]).lower()
    legacy = archive.get("hash")  # "sha256=<hex>", before pip 22.3's "hashes"
    if isinstance(legacy, str) and legacy.startswith("sha256="):
        return legacy.removeprefix("sha256=").lower()
    return None


def _filename(url: str, name: str) -> str:
    filename = filename_of(url)
    if not filename:
        raise GuardError(f"the resolver gives no file name for {name} ({url[:80]})")
    return filename


# -- uv -----------------------------------------------------------------------------------------------


@dataclass
class UvInstaller:
    """``uv pip compile`` to a pylock.toml for the target interpreter, then ``uv pip install``.

    The compile resolves from scratch, as for an empty environment (uv offers no report of
    ``uv pip install``'s own plan): releases already installed at the resolved version are left
    alone by the final install, others are moved to the resolved version.
    """

    uv: Path
    python: Path
    allow_sdists: bool
    tool: Tool = field(default=Tool.UV, init=False)

    @property
    def supports_cutoff(self) -> bool:
        return True

    def resolve(self, args: InstallArgs, steering: Steering, workdir: Path) -> list[ResolvedFile]:
        lock = workdir / "pylock.toml"  # uv insists on this name for the format
        lock.unlink(missing_ok=True)
        sources = [*args.requirement_files]
        if args.requirements:
            listed = workdir / "requirements.in"
            listed.write_text("".join(f"{_absolute(r)}\n" for r in args.requirements), encoding="utf-8")
            sources.append(str(listed))
        argv = [
            str(self.uv),
            "pip",
            "compile",
            "--python",
            str(self.python),
            "--format",
            "pylock.toml",
            "--output-file",
            str(lock),
            "--no-header",
            "--quiet",
            *args.tokens(*resolve_roles(self.allow_sdists)),
            *_steering_files(steering, workdir, "--constraints"),
            *self._cutoff(steering),
            *_binary_only(self.allow_sdists),
            "--",
            *sources,
        ]
        done = _run(argv, RESOLVE_TIMEOUT, "uv's resolution")
        if done.returncode != 0:
            raise ResolutionFailed(
                f"uv could not resolve the requirements (exit {done.returncode})", _output(done)
            )
        return parse_uv_lock(lock, interpreter_tag_ranks(self.python))

    def _cutoff(self, steering: Steering) -> list[str]:
        if steering.cutoff is None:
            return []
        argv = ["--exclude-newer", _rfc3339(steering.cutoff)]
        for name in sorted(steering.cutoff_exempt):
            argv += ["--exclude-newer-package", f"{name}={_rfc3339(steering.cutoff + _EXEMPT_AHEAD)}"]
        return argv

    def install(self, args: InstallArgs, files: Sequence[StagedFile], wheel_dir: Path, workdir: Path) -> None:
        requirements = write_install_requirements(files, workdir / "install.txt")
        argv = [
            str(self.uv),
            "pip",
            "install",
            "--python",
            str(self.python),
            "--no-deps",
            *_sources(args, files, offline=True),
            "--find-links",
            str(wheel_dir),
            "--require-hashes",
            *args.tokens(*install_roles(self.allow_sdists)),
            *_binary_only(self.allow_sdists),
            "--requirements",
            str(requirements),
        ]
        _final_install(argv, Tool.UV, files)


def find_uv() -> Path:
    found = shutil.which("uv")
    if found is None:
        raise GuardError(
            "uv is not on PATH: install uv (https://docs.astral.sh/uv/), or use 'depvet pip install'"
        )
    return Path(found)


def parse_uv_lock(lock: Path, ranks: Mapping[Tag, int]) -> list[ResolvedFile]:
    """The file uv would install of each release its pylock.toml names."""
    from depvet.inputs.pylock import parse_pylock

    try:
        text = lock.read_text(encoding="utf-8")
    except OSError as exc:
        raise GuardError(f"uv wrote no readable pylock.toml: {exc.strerror or exc}") from None
    try:
        parsed = parse_pylock(text, lock)
    except DepvetError as exc:
        raise GuardError(f"cannot read uv's pylock.toml: {exc}") from None
    resolved: list[ResolvedFile] = []
    for package in parsed.packages:
        if (
            package.source not in (SourceKind.REGISTRY, SourceKind.URL, SourceKind.PATH)
            or not package.version
        ):
            raise GuardError(
                f"uv resolved {package.name} to a {package.source.value} source, which the guard "
                "cannot verify as a file"
            )
        chosen = choose_file(
            [(f.filename or "", f.url or "", f.sha256, f.upload_time) for f in package.files], ranks
        )
        if chosen is None:
            raise GuardError(
                f"uv's lock lists no file of {package.name} {package.version} for this interpreter"
            )
        filename, location, sha256, uploaded = chosen
        resolved.append(
            ResolvedFile(
                name=package.name,
                version=package.version,
                filename=filename,
                url=_as_url(location, lock.parent),
                sha256=sha256,
                upload_time=uploaded,
            )
        )
    return resolved


_Candidate = tuple[str, str, str | None, datetime | None]


def choose_file(files: Sequence[_Candidate], ranks: Mapping[Tag, int]) -> _Candidate | None:
    """The wheel whose best tag ranks highest for the interpreter (as uv picks), else the sdist.

    uv's pylock.toml lists every wheel of the release that the interpreter can install; uv
    installs the one with the most specific compatible tag, which is the interpreter's tag
    order (packaging's ``sys_tags``).
    """
    best: tuple[int, _Candidate] | None = None
    sdist: _Candidate | None = None
    for candidate in files:
        filename = candidate[0]
        if filename.endswith(".whl"):
            try:
                _, _, _, tags = parse_wheel_filename(filename)
            except InvalidWheelFilename:
                continue
            rank = min((ranks[t] for t in tags if t in ranks), default=None)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, candidate)
        elif sdist is None and filename:
            sdist = candidate
    return best[1] if best is not None else sdist


@cache
def interpreter_tag_ranks(python: Path) -> dict[Tag, int]:
    """The wheel tags ``python`` accepts, most preferred first.

    The running interpreter's come from ``packaging`` here. Another one is asked to run this
    depvet's ``packaging`` with ``-I -S``: isolated, without its site-packages, so none of the
    target environment's code (``.pth`` files included) runs.
    """
    from depvet.lockscan import tag_ranks

    if _same_interpreter(python):
        return tag_ranks()
    import packaging

    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from packaging import tags; "
        "print('\\n'.join(str(t) for t in tags.sys_tags()))"
    )
    packaging_root = str(Path(packaging.__file__).resolve().parent.parent)
    done = _run([str(python), "-I", "-S", "-c", script, packaging_root], PROBE_TIMEOUT, "reading wheel tags")
    if done.returncode != 0:
        raise GuardError(f"{python}: cannot list the wheel tags it accepts: {_last_line(done.stderr)}")
    ranks: dict[Tag, int] = {}
    for line in done.stdout.splitlines():
        for tag in parse_tag(line.strip()) if line.strip() else ():
            ranks.setdefault(tag, len(ranks))
    return ranks


def _same_interpreter(python: Path) -> bool:
    try:
        return Path(os.path.realpath(python)) == Path(os.path.realpath(sys.executable))
    except OSError:
        return False


def _absolute(requirement: str) -> str:
    """A relative archive path as an absolute one: uv reads the list from a file in another directory."""
    from depvet.inputs._pip_requirement import is_url, looks_like_path

    if is_url(requirement) or not looks_like_path(requirement) or "@" in requirement:
        return requirement
    return str(Path(requirement).absolute())


def _as_url(location: str, base: Path) -> str:
    """An http(s) or file: URL for a pylock.toml location (a path is relative to the lock)."""
    if "://" in location or location.startswith("file:"):
        return location
    path = Path(unquote(location))
    return (path if path.is_absolute() else (base / path)).resolve().as_uri()


def local_path(url: str) -> Path:
    return Path(unquote(urlsplit(url).path))


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _output(done: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(part.rstrip() for part in (done.stderr, done.stdout) if part and part.strip())


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def check_python(python: str) -> Path:
    """``python`` as a path to an interpreter (a bare name is looked up on PATH)."""
    path = Path(python).expanduser()
    if path.is_file():
        return path.absolute()
    found = shutil.which(python)
    if found is not None:
        return Path(found)
    raise UsageError(f"--python {python}: no such interpreter")
