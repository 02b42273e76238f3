"""Plain data of a release diff: what changed between two releases, and the verdict on it."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from depvet.model import Finding, RunContext


class DiffVerdict(enum.StrEnum):
    TAINTED = "tainted-update-suspected"
    ORDINARY = "ordinary"
    ERROR = "error"


class Capability(enum.StrEnum):
    """What code of a release can do, as the issue of a tainted update would describe it."""

    NETWORK = "network"
    SUBPROCESS = "subprocess"
    DYNAMIC_CODE = "dynamic-code"
    FILE_WRITE_OUTSIDE = "file-write-outside-package"
    ENVIRONMENT = "environment"
    SECRETS = "secrets"
    NATIVE_CODE = "native-code"
    OBFUSCATION = "obfuscation"


class FileStatus(enum.StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str  # the new release's path (the old one's for a removed file)
    status: FileStatus
    old_size: int | None
    new_size: int | None
    functions_added: tuple[str, ...] = ()  # qualified names (Class.method) of Python definitions
    functions_changed: tuple[str, ...] = ()
    functions_removed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CapabilityUse:
    capability: Capability
    path: str
    line: int | None
    context: RunContext
    evidence: str


@dataclass(frozen=True, slots=True)
class CapabilityDelta:
    """One capability of the new release: ``gained`` when no code of the old release had it."""

    capability: Capability
    gained: bool
    gained_on_its_own: bool  # no old code that runs on its own had it, new such code has
    new_uses: tuple[CapabilityUse, ...]  # in added or changed code of the new release


@dataclass(frozen=True, slots=True)
class Endpoint:
    kind: str  # "url", "domain" or "ip"
    value: str
    path: str
    line: int


@dataclass(frozen=True, slots=True)
class FieldChange:
    field: str  # a core metadata field, "build-backend", "entry-point GROUP", "install-hook"
    old: str | None
    new: str | None


@dataclass(frozen=True, slots=True)
class Side:
    """One of the two releases compared."""

    target: str
    name: str | None
    version: str | None
    sha256: str | None
    files: int
    upload_time: str | None = None
    provenance: str | None = None  # how the index attests it, in words; None when unknown
    metadata_path: str | None = None  # where reasons about its metadata point


@dataclass(frozen=True, slots=True)
class ReleaseDiff:
    name: str | None
    old: Side
    new: Side
    verdict: DiffVerdict
    score: float
    reasons: tuple[Finding, ...] = ()  # ranked, worst first
    files: tuple[FileChange, ...] = ()
    unchanged_files: int = 0
    startup_files: tuple[str, ...] = ()  # .pth files the new release adds
    install_hooks: tuple[str, ...] = ()  # install-time hooks the new release adds
    capabilities: tuple[CapabilityDelta, ...] = ()
    new_findings: tuple[Finding, ...] = ()
    new_endpoints: tuple[Endpoint, ...] = ()
    metadata: tuple[FieldChange, ...] = ()
    dependencies: tuple[FieldChange, ...] = ()  # field = the dependency's name
    notes: tuple[str, ...] = ()  # what could not be compared or fetched, one line each
    error: str | None = None
    seconds: float = 0.0
    lock: str | None = field(default=None)  # for --locks: the lock the new pin came from
