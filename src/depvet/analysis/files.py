"""What kind of file a member is, how to read its text, and when its code would run."""

from __future__ import annotations

import codecs
import enum
import re
from dataclasses import dataclass

from depvet.artifacts.archive import describe_binary
from depvet.model import ArtifactKind, RunContext


class FileKind(enum.StrEnum):
    PYTHON = "python"
    PTH = "pth"
    SHELL = "shell"
    BATCH = "batch"
    POWERSHELL = "powershell"
    JAVASCRIPT = "javascript"
    CONFIG = "config"  # setup.cfg, pyproject.toml, .ini, .json, .yaml
    METADATA = "metadata"  # PKG-INFO, METADATA, RECORD
    NATIVE = "native"  # ELF / PE / Mach-O
    BYTECODE = "bytecode"  # .pyc
    TEXT = "text"  # other text (docs, data)
    BINARY = "binary"  # other binary data


_SUFFIX_KINDS = {
    ".py": FileKind.PYTHON,
    ".pyw": FileKind.PYTHON,
    ".pyi": FileKind.PYTHON,
    ".pth": FileKind.PTH,
    ".sh": FileKind.SHELL,
    ".bash": FileKind.SHELL,
    ".zsh": FileKind.SHELL,
    ".command": FileKind.SHELL,
    ".bat": FileKind.BATCH,
    ".cmd": FileKind.BATCH,
    ".ps1": FileKind.POWERSHELL,
    ".psm1": FileKind.POWERSHELL,
    ".js": FileKind.JAVASCRIPT,
    ".mjs": FileKind.JAVASCRIPT,
    ".cjs": FileKind.JAVASCRIPT,
    ".cfg": FileKind.CONFIG,
    ".toml": FileKind.CONFIG,
    ".ini": FileKind.CONFIG,
    ".json": FileKind.CONFIG,
    ".yaml": FileKind.CONFIG,
    ".yml": FileKind.CONFIG,
    ".pyc": FileKind.BYTECODE,
    ".pyo": FileKind.BYTECODE,
}
_METADATA_NAMES = frozenset(
    {
        "PKG-INFO",
        "METADATA",
        "RECORD",
        "WHEEL",
        "entry_points.txt",
        "top_level.txt",
        "SOURCES.txt",
        "requires.txt",
        "dependency_links.txt",
    }
)
_NATIVE_SUFFIXES = (".so", ".dll", ".dylib", ".pyd", ".exe", ".bin", ".elf")

# Folders whose code never runs on install or import (GuardDog's false positives live here).
NON_RUNTIME_DIRS = frozenset(
    {
        "test",
        "tests",
        "testing",
        "doc",
        "docs",
        "example",
        "examples",
        "benchmark",
        "benchmarks",
        "bench",
        "demo",
        "demos",
        "sample",
        "samples",
        "test_data",
        "testdata",
        "fixtures",
        "tutorial",
        "tutorials",
        "notebooks",
        "docs_src",
        "documentation",
    }
)
# Folders of developer scripts: code that runs only when someone runs it by hand.
SCRIPT_DIRS = frozenset(
    {
        "tools",
        "scripts",
        "script",
        "ci",
        "build_tools",
        "dev",
        "devtools",
        ".github",
        "utils_dev",
        "maint",
        "contrib",
        "misc",
        "bin",
    }
)
_TEST_FILE = re.compile(r"(^test_.*|.*_test|^conftest|^tests?)\.py$")


@dataclass(frozen=True, slots=True)
class FileClass:
    kind: FileKind
    context: RunContext
    setup_script: bool = False
    top_level_init: bool = False


def package_dirs(names: list[str]) -> frozenset[str]:
    """Folders that hold an ``__init__.py``: the regular packages of an artifact."""
    return frozenset(n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py"))


def path_parts(path: str) -> list[str]:
    """The folders and name of a member path, through nested archives (``a.zip!b/c.py``)."""
    return [p for p in path.replace("!", "/").split("/") if p]


def classify(
    path: str,
    head: bytes,
    artifact: ArtifactKind,
    packages: frozenset[str] | None = None,
    own: str | None = None,
) -> FileClass:
    """Kind and run context of a member from its path inside the artifact and its first bytes.

    ``packages`` (folders holding an ``__init__.py``) lets module-level code of an sdist count
    as import-time only inside a package or at its root; elsewhere it is a script that runs
    only when someone runs it. ``own`` is the distribution's import name (``my_pkg``).
    """
    inner = path.rsplit("!", 1)[-1]
    parts = path_parts(path)
    name = parts[-1] if parts else path
    lower = name.lower()
    suffix = lower[lower.rfind(".") :] if "." in lower else ""
    binary_kind = describe_binary(head)
    if binary_kind or (lower.endswith(_NATIVE_SUFFIXES) and _is_binary(head)):
        return FileClass(FileKind.NATIVE, RunContext.DATA)
    if name in _METADATA_NAMES and (
        "dist-info" in path or "egg-info" in path or name == "PKG-INFO" or len(parts) <= 2
    ):
        return FileClass(FileKind.METADATA, RunContext.DATA)
    kind = _SUFFIX_KINDS.get(suffix)
    if kind is None:
        kind = _sniff(head)
    if kind is FileKind.PTH:
        # Only .pth files directly in site-packages run; a wheel's root is site-packages.
        # A .pth in a package folder does not run unless something copies it there.
        depth = _package_depth(inner, artifact)
        return FileClass(kind, RunContext.STARTUP if depth == 0 else RunContext.CALLED)
    if kind is not FileKind.PYTHON:
        return FileClass(kind, _non_python_context(parts, kind))
    return _python_class(inner, parts, artifact, packages if "!" not in path else None, own)


def _python_class(
    inner: str,
    parts: list[str],
    artifact: ArtifactKind,
    packages: frozenset[str] | None,
    own: str | None = None,
) -> FileClass:
    name = parts[-1]
    depth = _package_depth(inner, artifact)
    # A distribution named like a test or docs folder ("sample", "demo") imports its own
    # package like any other: that folder name says nothing about when the code runs.
    dirs = [p.lower() for p in parts[:-1] if p.lower() != own]
    if name in ("setup.py", "setup_helpers.py") and depth == 0 and "!" not in inner:
        return FileClass(FileKind.PYTHON, RunContext.INSTALL, setup_script=name == "setup.py")
    if any(d in NON_RUNTIME_DIRS for d in dirs) or _TEST_FILE.match(name):
        return FileClass(FileKind.PYTHON, RunContext.NON_RUNTIME)
    if name == "__main__.py" or any(d in SCRIPT_DIRS for d in dirs):
        outside_packages = (
            packages is not None
            and artifact is ArtifactKind.SDIST
            and not _imported_from_source(inner, depth, name, packages)
        )
        # An sdist's own developer scripts are neither installed nor run by installing it.
        return FileClass(FileKind.PYTHON, RunContext.NON_RUNTIME if outside_packages else RunContext.CALLED)
    if name.endswith(".pyi"):  # type stubs are read by type checkers, never run
        return FileClass(FileKind.PYTHON, RunContext.NON_RUNTIME)
    if (
        packages is not None
        and artifact is ArtifactKind.SDIST
        and not _imported_from_source(inner, depth, name, packages)
    ):
        return FileClass(FileKind.PYTHON, RunContext.CALLED)
    top_init = name == "__init__.py" and _dirs_below_root(inner, artifact) == 1
    return FileClass(FileKind.PYTHON, RunContext.IMPORT, top_level_init=top_init)


_ROOT_SCRIPTS = re.compile(
    r"^(runtests|run_tests|noxfile|tasks|fabfile|ez_setup|distribute_setup|versioneer|"
    r"bootstrap|release|build\w*|make\w*|gen\w*|update\w*|setup_\w+|pavement|"
    r"waf\w*|configure|dodo|manage|hatch_build|_build\w*)\.py$"
)


def _imported_from_source(inner: str, depth: int, name: str, packages: frozenset[str]) -> bool:
    """Whether a source-tree module would be installed and imported (vs. run as a script)."""
    if depth == 0:
        return not _ROOT_SCRIPTS.match(name)
    folder = inner.rsplit("/", 1)[0]
    return folder in packages


def _non_python_context(parts: list[str], kind: FileKind) -> RunContext:
    if any(p.lower() in NON_RUNTIME_DIRS for p in parts[:-1]):
        return RunContext.NON_RUNTIME
    if kind in (FileKind.SHELL, FileKind.BATCH, FileKind.POWERSHELL, FileKind.JAVASCRIPT):
        return RunContext.CALLED
    return RunContext.DATA


_WHEEL_DATA = re.compile(r"^[^/]+\.data/(purelib|platlib)/")


def _strip_sdist_root(inner: str, artifact: ArtifactKind) -> str:
    # An sdist wraps everything in one "name-version/" folder; a wheel's .data/purelib/
    # and .data/platlib/ install into site-packages itself.
    if artifact is ArtifactKind.SDIST and "/" in inner:
        return inner.split("/", 1)[1]
    if artifact is ArtifactKind.WHEEL:
        return _WHEEL_DATA.sub("", inner)
    return inner


def _package_depth(inner: str, artifact: ArtifactKind) -> int:
    return _strip_sdist_root(inner, artifact).count("/")


def _dirs_below_root(inner: str, artifact: ArtifactKind) -> int:
    rel = _strip_sdist_root(inner, artifact)
    if rel.startswith("src/"):
        rel = rel[4:]
    return rel.count("/")


def _is_binary(head: bytes) -> bool:
    return b"\x00" in head[:1024]


def _sniff(head: bytes) -> FileKind:
    if _is_binary(head):
        return FileKind.BINARY
    first = head.split(b"\n", 1)[0]
    if first.startswith(b"#!"):
        if b"python" in first:
            return FileKind.PYTHON
        if b"sh" in first:
            return FileKind.SHELL
        if b"node" in first:
            return FileKind.JAVASCRIPT
    return FileKind.TEXT


_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def decode_text(data: bytes) -> str:
    """Text of a file: UTF-8 (with BOM), else its PEP 263 coding cookie, else Latin-1.

    Latin-1 never fails, so a file in an unknown encoding is still scanned.
    """
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for line in data.split(b"\n", 2)[:2]:
        match = _CODING.match(line)
        if match:
            try:
                return data.decode(match.group(1).decode("ascii"), "replace")
            except (LookupError, UnicodeDecodeError):
                break
    return data.decode("latin-1")


def pth_line_runs(line: str) -> bool:
    """Whether ``site`` executes this line of a ``.pth`` file: it starts with ``import`` and a blank.

    Every other line is a path added to ``sys.path``.
    """
    return line.startswith(("import ", "import\t"))
