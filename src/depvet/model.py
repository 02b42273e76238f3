"""Plain data shared by every stage of the pipeline: no behaviour beyond ordering helpers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Larger is worse; INFO is 0."""
        return _SEVERITY_RANK[self]

    def lowered(self, steps: int) -> Severity:
        """This severity moved ``steps`` levels towards INFO (never below it)."""
        return _BY_RANK[max(0, self.rank - steps)]


_SEVERITY_RANK = {
    Severity.INFO: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}
_BY_RANK = {rank: sev for sev, rank in _SEVERITY_RANK.items()}


class Verdict(enum.StrEnum):
    MALICIOUS = "malicious"
    SUSPICIOUS = "suspicious"
    CLEAN = "clean"
    ERROR = "error"


class Category(enum.StrEnum):
    """Families of behaviour; one detector module per family."""

    STARTUP = "startup-execution"
    OBFUSCATION = "obfuscation"
    CREDENTIALS = "credential-access"
    EXFILTRATION = "exfiltration"
    EXECUTION = "execution"
    PERSISTENCE = "persistence"
    LATERAL_MOVEMENT = "lateral-movement"
    ANOMALY = "artifact-anomaly"
    ANALYSIS = "analysis"
    KNOWN_BAD = "known-bad"  # the release is recorded as malicious (OSV MAL-, curated incidents)
    VULNERABILITY = "vulnerability"
    DEPENDENCY_RISK = "dependency-risk"  # release age under the cooldown, a typosquat-like name
    RELEASE_DIFF = "release-diff"  # what an update changed: new start-up code, capabilities, provenance


class RunContext(enum.StrEnum):
    """When the code a finding points at would run, from most to least automatic."""

    STARTUP = "startup"  # a .pth line: every interpreter start
    INSTALL = "install"  # setup.py and what it calls: pip install / build
    IMPORT = "import"  # module-level code of a package module: on import
    CALLED = "called"  # a function body: only when someone calls it
    NON_RUNTIME = "non-runtime"  # tests/, docs/, examples/, benchmarks/: never on install or import
    DATA = "data"  # not code (metadata, archives, binaries)
    RELEASE = "release"  # not the release's files but what is known of it (advisories, age, name)

    @property
    def described(self) -> str:
        """How reports name it next to a finding: "import code", "about the release"."""
        return "about the release" if self is RunContext.RELEASE else f"{self.value} code"

    @property
    def runs_automatically(self) -> bool:
        return self in (RunContext.STARTUP, RunContext.INSTALL, RunContext.IMPORT)


class ArtifactKind(enum.StrEnum):
    WHEEL = "wheel"
    SDIST = "sdist"
    DIRECTORY = "directory"
    INSTALLED = "installed"


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One regular file of an artifact, its bytes read into memory.

    ``path`` is the member name relative to the artifact root, with ``!`` separating the
    path of a nested archive from a member inside it (``pkg/vendored.zip!mod.py``).
    """

    path: str
    data: bytes


class IssueKind(enum.StrEnum):
    """Things found while reading an artifact that are never followed or extracted."""

    PATH_TRAVERSAL = "path-traversal"
    ABSOLUTE_PATH = "absolute-path"
    SYMLINK = "symlink"
    HARDLINK = "hardlink"
    DEVICE = "device-file"
    SKIPPED_LARGE = "skipped-large-member"
    NESTED_TOO_DEEP = "nested-too-deep"
    UNREADABLE_NESTED = "unreadable-nested-archive"
    HASH_MISMATCH = "record-hash-mismatch"
    MISSING_FROM_RECORD = "missing-from-record"
    LISTED_BUT_ABSENT = "listed-but-absent"


@dataclass(frozen=True, slots=True)
class ReadIssue:
    kind: IssueKind
    path: str
    detail: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    severity: Severity
    category: Category
    title: str
    path: str
    line: int | None
    evidence: str
    context: RunContext = RunContext.CALLED
    decoded: str | None = None  # excerpt of statically decoded code the finding was found in
    base_severity: Severity | None = None  # the rule's severity before context weighting


@dataclass(frozen=True, slots=True)
class InputOrigin:
    """Where a scanned artifact came from: the lockfile and the package's place in its graph."""

    input_path: str
    package: str
    version: str | None
    parents: tuple[str, ...] = ()  # packages that depend on it, where the lock records that


@dataclass(frozen=True, slots=True)
class NotScanned:
    """A requirement of an input that names no release to fetch (a URL, VCS, editable, range)."""

    input_path: str
    requirement: str
    reason: str
    line: int | None = None


@dataclass(frozen=True, slots=True)
class ScanResult:
    target: str
    name: str | None
    version: str | None
    sha256: str | None
    verdict: Verdict
    score: float
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    reasons: tuple[str, ...] = field(default=())
    files_scanned: int = 0
    seconds: float = 0.0
    origin: InputOrigin | None = None
    cached: bool = False  # taken from the results cache, not scanned this time

    def worst_severity(self) -> Severity | None:
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=lambda s: s.rank)
