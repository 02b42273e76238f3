"""Artifact anomalies: what the package is made of, not what its code says."""

from __future__ import annotations

from typing import ClassVar

from packaging.utils import canonicalize_name

from depvet.analysis.detector import ArtifactContext, Detector
from depvet.analysis.files import NON_RUNTIME_DIRS, path_parts
from depvet.model import ArtifactKind, Category, IssueKind, RunContext, Severity
from depvet.rules import MATCHING, Example, Rule

_ELF = "\x7fELF\x02\x01\x01\x00" + "\x00" * 56

NATIVE_IN_PURE = Rule(
    id="DV801",
    name="native-binary-in-pure-package",
    title="A pure-Python package starts a native executable it ships",
    severity=Severity.HIGH,
    category=Category.ANOMALY,
    description=(
        "The artifact carries an ELF, PE or Mach-O binary although it has no C, C++, Rust or Cython "
        "sources and no extension-module build (for an sdist), or its wheel tag says it is pure "
        "Python, and a module that starts processes or loads libraries names the binary. Nothing "
        "in such a package can have produced the binary; droppers ship miners and implants this "
        "way and start them from setup.py or at import."
    ),
    bad=Example(
        path="setup.py",
        code=(
            "import subprocess\nfrom setuptools import setup\n"
            "subprocess.Popen(['x/bin/helper', '--quiet'])\nsetup(name='x')\n"
        ),
        artifact="sdist",
        extra=(("x/bin/helper", _ELF),),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup, Extension\n"
            "setup(name='x', ext_modules=[Extension('x._c', ['x/_c.c'])])\n"
        ),
        artifact="sdist",
        extra=(("x/_c.c", "int f(void) { return 1; }\n"), ("x/tests/data/fixture.so", _ELF)),
    ),
    context_weighted=False,
)
NATIVE_SHIPPED = Rule(
    id="DV809",
    name="native-binary-shipped-in-pure-package",
    title="Native executable inside a pure-Python package",
    severity=Severity.MEDIUM,
    category=Category.ANOMALY,
    description=(
        "The artifact carries an ELF, PE or Mach-O binary although nothing in it builds native "
        "code, and no module that starts processes names it. Installers ship launcher stubs this "
        "way (distlib's `t64.exe`, which pip vendors, is copied, never run); a dropper's binary "
        "is started by a name depvet could not read. Worth a look, not an alarm on its own."
    ),
    bad=Example(
        path="setup.py",
        code="from setuptools import setup\nsetup(name='x')\n",
        artifact="sdist",
        extra=(("x/bin/helper", _ELF),),
    ),
    good=Example(
        path="setup.py",
        code=(
            "from setuptools import setup, Extension\n"
            "setup(name='x', ext_modules=[Extension('x._c', ['x/_c.c'])])\n"
        ),
        artifact="sdist",
        extra=(("x/_c.c", "int f(void) { return 1; }\n"), ("x/_c.so", _ELF)),
    ),
    context_weighted=False,
)
NAME_MISMATCH = Rule(
    id="DV802",
    name="metadata-name-mismatch",
    title="Metadata names a different project than the file name",
    severity=Severity.MEDIUM,
    category=Category.ANOMALY,
    description=(
        "The project name in PKG-INFO or METADATA differs (after PEP 503 normalisation) from the "
        "name in the artifact's file name. Index uploads require them to agree; a mismatch means "
        "the file was renamed or repackaged, as typosquats that copy a popular project's sdist do."
    ),
    bad=Example(
        path="PKG-INFO", code="Metadata-Version: 2.1\nName: requests\nVersion: 1.0\n\n", artifact="sdist"
    ),
    good=Example(
        path="PKG-INFO", code="Metadata-Version: 2.1\nName: Sample\nVersion: 1.0\n\n", artifact="sdist"
    ),
    context_weighted=False,
    references=("https://packaging.python.org/en/latest/specifications/name-normalization/",),
)
MODIFIED_INSTALL = Rule(
    id="DV803",
    name="installed-file-modified",
    title="Installed file differs from the hash in its RECORD",
    severity=Severity.HIGH,
    category=Category.ANOMALY,
    description=(
        "A file of an installed distribution no longer matches the sha256 its RECORD gave at install "
        "time: it was modified afterwards, by a person, a tool or a payload that patches installed "
        "packages to persist. Compare it with the file of the same release on the index."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code="VALUE = 1\n",
        artifact="installed",
        extra=(("+pkg/__init__.py", "VALUE = 2\n"),),
    ),
    good=Example(path="pkg/__init__.py", code="VALUE = 1\n", artifact="installed"),
    context_weighted=False,
)
NOT_IN_RECORD = Rule(
    id="DV804",
    name="file-not-in-record",
    title="File in an installed distribution that its RECORD does not list",
    severity=Severity.MEDIUM,
    category=Category.ANOMALY,
    description=(
        "A file sits in an installed distribution's folders, or a start-up file (`.pth`, "
        "`sitecustomize.py`) sits in site-packages, but no RECORD lists it: it was added after "
        "installation. Its content is scanned like any other file."
    ),
    bad=Example(
        path="pkg/__init__.py",
        code="VALUE = 1\n",
        artifact="installed",
        extra=(("+pkg/_extra.py", "VALUE = 2\n"),),
    ),
    good=Example(
        path="pkg/__init__.py",
        code="VALUE = 1\n",
        artifact="installed",
        extra=(("pkg/_extra.py", "VALUE = 2\n"),),
    ),
    false_positives="virtualenv's own _virtualenv.pth and old develop-mode easy-install.pth are "
    "recognised and not reported.",
    context_weighted=False,
)
ARCHIVE_LINK = Rule(
    id="DV805",
    name="archive-link",
    title="Archive member is a link (not followed)",
    severity=Severity.LOW,
    category=Category.ANOMALY,
    description=(
        "A symbolic or hard link inside the archive, pointing inside it. depvet never follows links; "
        "it reports them so that a file reachable only through a link is not silently missed. Some "
        "sdists use links for shared files."
    ),
    bad=Example(path="pkg/__init__.py", code="", artifact="sdist", links=(("pkg/alias.py", "__init__.py"),)),
    good=Example(path="pkg/__init__.py", code="", artifact="sdist"),
    context_weighted=False,
)
ARCHIVE_ESCAPE = Rule(
    id="DV806",
    name="archive-escape",
    title="Archive member escapes the archive or is a device file",
    severity=Severity.HIGH,
    category=Category.ANOMALY,
    description=(
        "A member name with `..` components or an absolute path, a link pointing outside the "
        "archive, or a device file. Extracting such an archive with a naive tool writes outside "
        "the target folder (path traversal); no build tool produces them."
    ),
    bad=Example(
        path="pkg/__init__.py", code="", artifact="sdist", links=(("pkg/passwd", "../../../../etc/passwd"),)
    ),
    good=Example(path="pkg/__init__.py", code="", artifact="sdist", links=(("pkg/alias.py", "__init__.py"),)),
    context_weighted=False,
)
NOT_ANALYSED = Rule(
    id="DV807",
    name="member-not-analysed",
    title="Part of the artifact was not analysed",
    severity=Severity.INFO,
    category=Category.ANALYSIS,
    description=(
        "A member over the per-member size limit, or a nested archive that could not be read "
        "(corrupt, bomb-shaped or nested too deep), was reported and skipped; the rest of the "
        "artifact was scanned. A scan that could not read something says so."
    ),
    bad=Example(path="pkg/__init__.py", code="", extra=(("pkg/data.zip", "PK\x03\x04 not really a zip"),)),
    good=Example(path="pkg/__init__.py", code="", extra=(("pkg/data.txt", "plain text\n"),)),
    context_weighted=False,
)
LISTED_ABSENT = Rule(
    id="DV808",
    name="record-lists-missing-file",
    title="RECORD lists a file that is not on disk",
    severity=Severity.LOW,
    category=Category.ANOMALY,
    description=(
        "An installed distribution's RECORD names a file that no longer exists. Usually a manual "
        "clean-up; also what is left when a payload deletes itself after running."
    ),
    bad=Example(
        path="pkg/__init__.py", code="", artifact="installed", extra=(("-pkg/loader.py", "x = 1\n"),)
    ),
    good=Example(
        path="pkg/__init__.py", code="", artifact="installed", extra=(("pkg/loader.py", "x = 1\n"),)
    ),
    context_weighted=False,
)

NOT_THE_LOCKED_ARTIFACT = Rule(
    id="DV810",
    name="artifact-differs-from-lock",
    title="Artifact differs from the one you locked",
    severity=Severity.CRITICAL,
    category=Category.ANOMALY,
    description=(
        "A lockfile pinned this release with a sha256, and the file the index served has another. "
        "Published files on PyPI never change, so a different hash means a compromised mirror or "
        "proxy, an index that is not the one the lock was made against (dependency confusion), or "
        "a release deleted and re-uploaded. The file's own findings are listed as well: depvet "
        "scans it anyway, to show what would have been installed."
    ),
    bad=Example(path="pkg/__init__.py", code="X = 1\n", artifact="wheel", locked_sha256="0" * 64),
    good=Example(path="pkg/__init__.py", code="X = 1\n", artifact="wheel", locked_sha256=MATCHING),
    context_weighted=False,
)

_KNOWN_UNOWNED = frozenset({"_virtualenv.pth", "_virtualenv.py", "easy-install.pth"})


class AnomaliesDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (
        NATIVE_IN_PURE,
        NAME_MISMATCH,
        MODIFIED_INSTALL,
        NOT_IN_RECORD,
        ARCHIVE_LINK,
        ARCHIVE_ESCAPE,
        NATIVE_SHIPPED,
        NOT_ANALYSED,
        LISTED_ABSENT,
        NOT_THE_LOCKED_ARTIFACT,
    )

    def on_artifact(self, ctx: ArtifactContext) -> None:
        self._issues(ctx)
        self._native(ctx)
        self._names(ctx)
        index = ctx.index
        if index.locked_sha256 is not None and index.locked_sha256 != index.sha256:
            ctx.report(
                NOT_THE_LOCKED_ARTIFACT,
                index.filename_tag or "",
                f"locked sha256 {index.locked_sha256}, the index served {index.sha256}",
            )

    def _issues(self, ctx: ArtifactContext) -> None:
        for issue in ctx.index.issues:
            # A test fixture archive with hostile names (distlib ships some) is never unpacked
            # by installing or importing the package.
            context = _issue_context(issue.path)
            match issue.kind:
                case IssueKind.HASH_MISMATCH:
                    ctx.report(MODIFIED_INSTALL, issue.path, issue.detail)
                case IssueKind.MISSING_FROM_RECORD:
                    if issue.path.rsplit("/", 1)[-1] not in _KNOWN_UNOWNED:
                        ctx.report(NOT_IN_RECORD, issue.path, issue.detail)
                case IssueKind.SYMLINK | IssueKind.HARDLINK:
                    rule = ARCHIVE_ESCAPE if _escapes(issue.path, issue.detail) else ARCHIVE_LINK
                    ctx.report(rule, issue.path, issue.detail, context=context)
                case IssueKind.PATH_TRAVERSAL | IssueKind.ABSOLUTE_PATH | IssueKind.DEVICE:
                    ctx.report(ARCHIVE_ESCAPE, issue.path, issue.detail, context=context)
                case IssueKind.SKIPPED_LARGE | IssueKind.UNREADABLE_NESTED | IssueKind.NESTED_TOO_DEEP:
                    ctx.report(NOT_ANALYSED, issue.path, issue.detail, context=context)
                case IssueKind.LISTED_BUT_ABSENT:
                    ctx.report(LISTED_ABSENT, issue.path, issue.detail)

    def _native(self, ctx: ArtifactContext) -> None:
        index = ctx.index
        if not index.native:
            return
        pure_wheel = index.kind is ArtifactKind.WHEEL and "-none-any" in (index.filename_tag or "")
        pure_sdist = (
            index.kind is ArtifactKind.SDIST and not index.has_c_sources and not index.has_ext_modules
        )
        if not (pure_wheel or pure_sdist):
            return
        for path, kind in sorted(index.native.items())[:5]:
            context = RunContext.NON_RUNTIME if _non_runtime(path) else RunContext.DATA
            started = _started_by(path, index.launch_strings)
            if started is not None:
                evidence = f"{kind} in a package without native sources, started as {started!r}"
                ctx.report(NATIVE_IN_PURE, path, evidence, context=context)
            else:
                evidence = f"{kind} in a package without native sources"
                ctx.report(NATIVE_SHIPPED, path, evidence, context=context)

    def _names(self, ctx: ArtifactContext) -> None:
        index = ctx.index
        if not index.metadata_name or not index.filename_name:
            return
        if canonicalize_name(index.metadata_name) != canonicalize_name(index.filename_name):
            ctx.report(
                NAME_MISMATCH,
                index.metadata_path or "metadata",
                f"file name says {index.filename_name!r}, metadata says {index.metadata_name!r}",
            )


def _started_by(path: str, strings: set[str]) -> str | None:
    """A string of a process-starting module that names the binary, by file name or stem."""
    name = path.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    if len(stem) < 3:
        return None
    for text in strings:
        base = text.replace("\\", "/").rsplit("/", 1)[-1]
        if base in (name, stem):
            return text
    return None


def _issue_context(path: str) -> RunContext:
    folders = path.split("!", 1)[0].lower().split("/")[:-1]
    return RunContext.NON_RUNTIME if any(f in NON_RUNTIME_DIRS for f in folders) else RunContext.DATA


def _escapes(path: str, detail: str) -> bool:
    """Whether a link's target leaves the archive (absolute, or more ``..`` than depth)."""
    target = detail.split("'")[1] if "'" in detail else ""
    if target.startswith("/") or (len(target) > 1 and target[1] == ":"):
        return True
    depth = path.replace("!", "/").count("/")
    climbs = 0
    for part in target.split("/"):
        if part == "..":
            climbs += 1
        elif part not in ("", "."):
            climbs -= 1
        if climbs > depth - 1 and climbs > 0:
            return True
    return False


def _non_runtime(path: str) -> bool:
    return any(part.lower() in NON_RUNTIME_DIRS for part in path_parts(path)[:-1])
