"""The detectors over some files of a release, and what their capability marks mean for a diff."""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass

from depvet.analysis.detector import ArtifactIndex, Cap, Mark
from depvet.analysis.engine import Ruleset, analyse_entries, default_ruleset, order_findings
from depvet.diff.model import Capability, CapabilityUse
from depvet.diff.release import ReleaseFiles
from depvet.model import Category, Finding, RunContext, Severity

_CAPABILITY_OF = {
    Cap.NETWORK_SEND: Capability.NETWORK,
    Cap.NETWORK_FETCH: Capability.NETWORK,
    Cap.PROCESS: Capability.SUBPROCESS,
    Cap.DYNAMIC_EXEC: Capability.DYNAMIC_CODE,
    Cap.SECRET_READ: Capability.SECRETS,
    Cap.ENV_BULK: Capability.ENVIRONMENT,
    Cap.PERSISTENCE: Capability.FILE_WRITE_OUTSIDE,
}
# Where a write goes when it leaves the package: the user's home, system folders, site-packages.
OUTSIDE_PATHS = re.compile(
    r"expanduser|Path\.home|\bhome\b|HOME|APPDATA|USERPROFILE|LOCALAPPDATA|site-packages|"
    r"getsitepackages|getusersitepackages|sys\.prefix|['\"](?:/|~|[A-Za-z]:\\\\)"
)
# Runtime contexts only: code under tests/ or docs/ never runs for a user.
_RUNTIME = (RunContext.STARTUP, RunContext.INSTALL, RunContext.IMPORT, RunContext.CALLED)


@dataclass(frozen=True, slots=True)
class Analysis:
    findings: tuple[Finding, ...]
    uses: tuple[CapabilityUse, ...]
    has_native: bool  # anywhere in the artifact: every file is classified, focused or not


_worker_ruleset: Ruleset | None = None


def init_worker() -> None:
    global _worker_ruleset  # noqa: PLW0603 - one ruleset per worker process, built once
    _worker_ruleset = default_ruleset()


def ready() -> bool:
    """A task that only makes the pool start a worker (and build its ruleset) ahead of need."""
    return _worker_ruleset is not None


def analyse_in_worker(release: ReleaseFiles, keys: Mapping[str, frozenset[int] | None]) -> Analysis:
    """``analyse`` in a worker process.

    The release travels as bytes: pickling 60 MB through a pipe costs a tenth of what reading
    and hashing the archive again costs.
    """
    return analyse(release, keys, _worker_ruleset or default_ruleset())


def analyse(release: ReleaseFiles, keys: Mapping[str, frozenset[int] | None], ruleset: Ruleset) -> Analysis:
    """Findings and capability uses of the files under ``keys`` (artifact-level rules see all).

    ``keys`` maps a file to the lines of it that changed (the rest is read only where a token
    is), or to None to read it whole.
    """
    focus = {release.path_of(key): lines for key, lines in keys.items()}
    ref = release.ref
    index = ArtifactIndex(
        ref.kind,
        release.name,
        release.version,
        filename_tag=ref.path.rsplit("/", 1)[-1],
        sha256=release.sha256,
    )
    scan = analyse_entries(release.entries.values(), index, ruleset, names=release.names, focus=focus)
    index.issues = list(release.issues)
    findings = order_findings(scan.finish())
    uses = [_use(mark) for mark in scan.marks if mark.path in focus and mark.context in _RUNTIME]
    uses += [
        CapabilityUse(Capability.NATIVE_CODE, path, None, RunContext.DATA, description)
        for path, description in index.native.items()
        if path in focus
    ]
    uses += [
        CapabilityUse(Capability.OBFUSCATION, f.path, f.line, f.context, f"{f.rule_id} {f.title}")
        for f in findings
        if f.category is Category.OBFUSCATION
        and (f.base_severity or f.severity).rank >= Severity.MEDIUM.rank
        and f.context in _RUNTIME
        and f.path in focus
    ]
    return Analysis(findings, tuple(u for u in uses if u is not None), bool(index.native))


def _use(mark: Mark) -> CapabilityUse | None:
    capability = _CAPABILITY_OF.get(mark.cap)
    if capability is None and mark.cap in (Cap.FILE_WRITE, Cap.MAKE_EXECUTABLE) and _writes_outside(mark):
        capability = Capability.FILE_WRITE_OUTSIDE
    if capability is None:
        return None
    return CapabilityUse(capability, mark.path, mark.line, mark.context, mark.detail)


def _writes_outside(mark: Mark) -> bool:
    try:
        target = " ".join(ast.unparse(expr) for expr in mark.payload)
    except (ValueError, TypeError, RecursionError):
        return False
    return bool(OUTSIDE_PATHS.search(target))
