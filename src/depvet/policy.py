"""What may be installed: the policy of the install guard and the index firewall.

Read from ``[tool.depvet]`` of a ``pyproject.toml`` or from a ``depvet.toml`` (top-level keys,
or the same ``[tool.depvet]`` table). Every key is optional; the defaults block what is known
or found to be malicious and releases younger than a week, and let everything else through.
An unknown key, a wrong type or an expired exemption's bad date is an error, never ignored.

The policy only judges: callers give it what they know about a release (index facts, known
advisories) and a file (its scan), and get the reasons to block, with exemptions applied.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from depvet.errors import DepvetError
from depvet.model import ScanResult, Severity, Verdict


class PolicyError(DepvetError):
    """The policy file cannot be read or says something depvet does not understand."""


class BlockReason(enum.StrEnum):
    """Why a release or file is kept out; exemptions name these."""

    DENIED = "denied"  # on the deny list
    KNOWN_MALICIOUS = "known-malicious"  # a curated or OSV MAL- record names it
    KNOWN_VULNERABLE = "known-vulnerable"  # a vulnerability record names it
    COOLDOWN = "cooldown"  # younger than min-release-age
    AGE_UNKNOWN = "age-unknown"  # no upload time while a cooldown applies
    VERDICT = "verdict"  # the scan's verdict reaches block-verdict
    SEVERITY = "severity"  # a finding reaches block-severity
    SCAN_FAILED = "scan-failed"  # the file could not be scanned
    SDIST = "sdist"  # source distributions are not allowed
    NO_HASH = "no-hash"  # the index gives no sha256 to verify the file against


class VerdictThreshold(enum.StrEnum):
    """The scan verdict at or above which a file is blocked."""

    SUSPICIOUS = "suspicious"
    MALICIOUS = "malicious"
    NEVER = "never"

    def reached_by(self, verdict: Verdict) -> bool:
        if self is VerdictThreshold.NEVER:
            return False
        if self is VerdictThreshold.SUSPICIOUS:
            return verdict in (Verdict.SUSPICIOUS, Verdict.MALICIOUS)
        return verdict is Verdict.MALICIOUS


@dataclass(frozen=True, slots=True)
class Block:
    reason: BlockReason
    detail: str  # one line for the user: what was found
    rule_id: str | None = None  # the depvet rule behind it, where there is one


@dataclass(frozen=True, slots=True)
class Exemption:
    """A release let through despite some (or all) of its blocks, for a stated reason, until a date."""

    requirement: Requirement
    reason: str
    expires: date
    reasons: frozenset[BlockReason] | None = None  # None: every reason

    def covers(self, name: str, version: str, block: Block, today: date) -> bool:
        if today > self.expires or not _matches(self.requirement, name, version):
            return False
        return self.reasons is None or block.reason in self.reasons


@dataclass(frozen=True, slots=True)
class Decision:
    """What the policy says about one release or file."""

    blocks: tuple[Block, ...]  # what still blocks it, worst first
    exempted: tuple[tuple[Block, Exemption], ...] = ()  # what would have, and the exemption

    @property
    def allowed(self) -> bool:
        return not self.blocks

    def summary(self) -> str:
        return "; ".join(b.detail for b in self.blocks) if self.blocks else "allowed"


@dataclass(frozen=True, slots=True)
class Policy:
    min_release_age: timedelta = timedelta(days=7)
    block_known_malicious: bool = True
    block_known_vulnerable: bool = False
    block_verdict: VerdictThreshold = VerdictThreshold.MALICIOUS
    block_severity: Severity | None = None  # None: findings block only through the verdict
    allow_sdists: bool = False
    require_hashes: bool = True
    allow: tuple[Requirement, ...] = ()
    deny: tuple[Requirement, ...] = ()
    exemptions: tuple[Exemption, ...] = ()
    source: str | None = None  # the file it came from; None for the defaults

    # -- judging -------------------------------------------------------------------------------

    def allowed_outright(self, name: str, version: str) -> bool:
        """On the allow list: nothing about it blocks, though it is still scanned and reported."""
        return any(_matches(r, name, version) for r in self.allow)

    def release_blocks(
        self,
        name: str,
        version: str,
        *,
        upload_time: datetime | None,
        malicious: Sequence[str] = (),
        vulnerable: Sequence[str] = (),
        now: datetime | None = None,
    ) -> list[Block]:
        """Reasons to keep a release out that the index and the advisories tell, before any download.

        ``malicious`` and ``vulnerable`` are the ids of the advisories naming the release.
        """
        if self.allowed_outright(name, version):
            return []
        blocks: list[Block] = []
        denied = [r for r in self.deny if _matches(r, name, version)]
        if denied:
            blocks.append(Block(BlockReason.DENIED, f"on the deny list ({denied[0]})"))
        if malicious and self.block_known_malicious:
            blocks.append(
                Block(BlockReason.KNOWN_MALICIOUS, f"recorded as malicious: {', '.join(malicious)}", "DV010")
            )
        if vulnerable and self.block_known_vulnerable:
            blocks.append(
                Block(BlockReason.KNOWN_VULNERABLE, f"known vulnerability: {', '.join(vulnerable)}", "DV011")
            )
        if self.min_release_age > timedelta(0):
            if upload_time is None:
                blocks.append(
                    Block(BlockReason.AGE_UNKNOWN, "the index gives no upload time to tell its age")
                )
            else:
                age = (now or datetime.now(UTC)) - upload_time
                if age < self.min_release_age:
                    blocks.append(
                        Block(
                            BlockReason.COOLDOWN,
                            f"uploaded {upload_time:%Y-%m-%d %H:%M} UTC, {_span(age)} ago; the cooldown "
                            f"is {_span(self.min_release_age)}",
                            "DV012",
                        )
                    )
        return blocks

    def file_blocks(
        self,
        name: str,
        version: str,
        filename: str,
        *,
        sha256: str | None,
        scan: ScanResult | None = None,
    ) -> list[Block]:
        """Reasons to keep one file out: its kind, its hash, and its scan when there is one."""
        if self.allowed_outright(name, version):
            return []
        blocks: list[Block] = []
        if not self.allow_sdists and not filename.endswith(".whl"):
            blocks.append(
                Block(BlockReason.SDIST, f"{filename} is a source distribution (allow-sdists is off)")
            )
        if self.require_hashes and not sha256:
            blocks.append(Block(BlockReason.NO_HASH, f"the index gives no sha256 for {filename}"))
        if scan is not None:
            blocks += self._scan_blocks(scan)
        return blocks

    def _scan_blocks(self, scan: ScanResult) -> list[Block]:
        if scan.verdict is Verdict.ERROR:
            return [Block(BlockReason.SCAN_FAILED, f"could not be scanned: {scan.error or 'unknown error'}")]
        worst = max(scan.findings, key=lambda f: f.severity.rank, default=None)
        what = f"{worst.rule_id} {worst.title} ({worst.path})" if worst else ""
        if self.block_verdict.reached_by(scan.verdict):
            detail = f"scan verdict {scan.verdict.value}" + (f": {what}" if worst else "")
            return [Block(BlockReason.VERDICT, detail, worst.rule_id if worst else None)]
        if (
            self.block_severity is not None
            and worst is not None
            and worst.severity.rank >= self.block_severity.rank
        ):
            return [Block(BlockReason.SEVERITY, f"{worst.severity.value} finding {what}", worst.rule_id)]
        return []

    def decide(self, name: str, version: str, blocks: Iterable[Block], today: date | None = None) -> Decision:
        """The blocks that stand after exemptions, and the ones an exemption lifted."""
        today = today or datetime.now(UTC).date()
        standing: list[Block] = []
        lifted: list[tuple[Block, Exemption]] = []
        for block in blocks:
            exemption = next((e for e in self.exemptions if e.covers(name, version, block, today)), None)
            if exemption is None:
                standing.append(block)
            else:
                lifted.append((block, exemption))
        return Decision(tuple(standing), tuple(lifted))

    def expired_exemptions(self, today: date | None = None) -> list[Exemption]:
        today = today or datetime.now(UTC).date()
        return [e for e in self.exemptions if today > e.expires]


# -- loading -----------------------------------------------------------------------------------

POLICY_FILE = "depvet.toml"
_Choice = TypeVar("_Choice", bound=enum.StrEnum)


@dataclass(frozen=True, slots=True)
class _Key:
    name: str
    kind: str  # what the docs call its type
    description: str
    default: str


# The schema, defined once: the loader checks against it and docs/policy.md is generated from it.
KEYS: tuple[_Key, ...] = (
    _Key(
        "min-release-age",
        "duration",
        "Releases younger than this are kept out (the cooldown). `0` turns it off.",
        '"7d"',
    ),
    _Key(
        "block-known-malicious",
        "bool",
        "Keep out releases that a curated record or an OSV `MAL-` record names.",
        "true",
    ),
    _Key("block-known-vulnerable", "bool", "Keep out releases with a known vulnerability.", "false"),
    _Key(
        "block-verdict",
        '"suspicious" | "malicious" | "never"',
        "Keep out files whose scan verdict reaches this.",
        '"malicious"',
    ),
    _Key(
        "block-severity",
        '"critical" | "high" | "medium" | "low" | "none"',
        "Keep out files with a finding at or above this severity, whatever the verdict.",
        '"none"',
    ),
    _Key(
        "allow-sdists",
        "bool",
        "Let source distributions through. Building one runs its code; "
        "the guard then also lets pip build them to resolve.",
        "false",
    ),
    _Key("require-hashes", "bool", "Keep out files the index lists without a sha256.", "true"),
    _Key(
        "allow",
        "list of requirements",
        'Never kept out (still scanned and reported): `"name"` or `"name==1.2"`.',
        "[]",
    ),
    _Key("deny", "list of requirements", 'Always kept out: `"name"`, `"name<2"`.', "[]"),
    _Key(
        "exemptions",
        "list of tables",
        "Let a release through despite some blocks: `package` "
        "(requirement), `reason` (text, required), `expires` (date, required), `reasons` (list of "
        "block reasons; all when absent).",
        "[]",
    ),
)
_KNOWN = {k.name for k in KEYS}
_EXEMPTION_KEYS = {"package", "reason", "expires", "reasons"}


def find_policy_file(start: Path) -> Path | None:
    """``depvet.toml``, else a ``pyproject.toml`` with ``[tool.depvet]``, in ``start`` or a parent."""
    for folder in [start, *start.parents]:
        candidate = folder / POLICY_FILE
        if candidate.is_file():
            return candidate
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _tool_table(_read_toml(pyproject), pyproject) is not None:
            return pyproject
    return None


def load_policy(path: Path | None = None, *, start: Path | None = None) -> Policy:
    """The policy in ``path``, else the one found from ``start`` (the working directory) up, else
    the defaults."""
    if path is None:
        path = find_policy_file(start or Path.cwd())
        if path is None:
            return Policy()
    document = _read_toml(path)
    table = _tool_table(document, path)
    if table is None:
        if path.name == "pyproject.toml":
            raise PolicyError(f"{path}: has no [tool.depvet] table")
        table = document
    return policy_from_table(table, str(path))


def policy_from_table(table: Mapping[str, object], source: str) -> Policy:
    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        raise PolicyError(f"{source}: unknown policy key {unknown[0]!r} (known: {', '.join(sorted(_KNOWN))})")
    values: dict[str, object] = {"source": source}
    reader = _Reader(table, source)
    if "min-release-age" in table:
        values["min_release_age"] = reader.duration("min-release-age")
    for key, attribute in (
        ("block-known-malicious", "block_known_malicious"),
        ("block-known-vulnerable", "block_known_vulnerable"),
        ("allow-sdists", "allow_sdists"),
        ("require-hashes", "require_hashes"),
    ):
        if key in table:
            values[attribute] = reader.boolean(key)
    if "block-verdict" in table:
        values["block_verdict"] = reader.choice("block-verdict", VerdictThreshold)
    if "block-severity" in table:
        text = reader.string("block-severity")
        values["block_severity"] = None if text == "none" else reader.choice("block-severity", Severity)
    for key in ("allow", "deny"):
        if key in table:
            values[key] = tuple(reader.requirement(item, key) for item in reader.strings(key))
    if "exemptions" in table:
        values["exemptions"] = tuple(
            reader.exemption(i, item) for i, item in enumerate(reader.tables("exemptions"))
        )
    return Policy(**values)  # type: ignore[arg-type]


@dataclass
class _Reader:
    table: Mapping[str, object]
    source: str
    where: str = field(default="")

    def _fail(self, key: str, expected: str) -> PolicyError:
        return PolicyError(f"{self.source}: {self.where}{key} must be {expected}, not {self.table[key]!r}")

    def boolean(self, key: str) -> bool:
        value = self.table[key]
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def string(self, key: str) -> str:
        value = self.table[key]
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def choice(self, key: str, kind: type[_Choice]) -> _Choice:
        text = self.string(key)
        try:
            return kind(text)
        except ValueError:
            names = ", ".join(repr(v.value) for v in kind)
            raise PolicyError(
                f"{self.source}: {self.where}{key} must be one of {names}, not {text!r}"
            ) from None

    def duration(self, key: str) -> timedelta:
        from depvet.checking import parse_duration

        value = self.table[key]
        if value == 0 or value == "0":
            return timedelta(0)
        if not isinstance(value, str):
            raise self._fail(key, 'a duration such as "7d", "36h" or "2w"')
        try:
            return parse_duration(value)
        except DepvetError:
            raise self._fail(key, 'a duration such as "7d", "36h" or "2w"') from None

    def strings(self, key: str) -> list[str]:
        value = self.table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._fail(key, "a list of strings")
        return value

    def tables(self, key: str) -> list[Mapping[str, object]]:
        value = self.table[key]
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self._fail(key, "a list of tables ([[tool.depvet.exemptions]])")
        return value

    def requirement(self, text: str, key: str) -> Requirement:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            raise PolicyError(
                f"{self.source}: {self.where}{key}: {text!r} is not a requirement: {str(exc).splitlines()[0]}"
            ) from None
        if requirement.url or requirement.marker or requirement.extras:
            raise PolicyError(f"{self.source}: {self.where}{key}: {text!r}: only a name and a version range")
        return requirement

    def exemption(self, number: int, item: Mapping[str, object]) -> Exemption:
        nested = _Reader(item, self.source, f"exemptions[{number}].")
        unknown = sorted(set(item) - _EXEMPTION_KEYS)
        if unknown:
            raise PolicyError(
                f"{self.source}: exemptions[{number}]: unknown key {unknown[0]!r} "
                f"(known: {', '.join(sorted(_EXEMPTION_KEYS))})"
            )
        for required in ("package", "reason", "expires"):
            if required not in item:
                raise PolicyError(f"{self.source}: exemptions[{number}] needs {required!r}")
        reason = nested.string("reason").strip()
        if not reason:
            raise PolicyError(f"{self.source}: exemptions[{number}].reason must say why")
        expires = item["expires"]
        if isinstance(expires, datetime):
            expires = expires.date()
        if not isinstance(expires, date):
            raise nested._fail("expires", "a date (expires = 2026-12-31)")
        reasons = None
        if "reasons" in item:
            reasons = frozenset(
                _block_reason(text, self.source, number) for text in nested.strings("reasons")
            )
        return Exemption(nested.requirement(nested.string("package"), "package"), reason, expires, reasons)


def _block_reason(text: str, source: str, number: int) -> BlockReason:
    try:
        return BlockReason(text)
    except ValueError:
        names = ", ".join(r.value for r in BlockReason)
        raise PolicyError(f"{source}: exemptions[{number}].reasons: {text!r} is not one of {names}") from None


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from None


def _tool_table(document: Mapping[str, object], path: Path) -> Mapping[str, object] | None:
    tool = document.get("tool")
    if not isinstance(tool, dict) or "depvet" not in tool:
        return None
    table = tool["depvet"]
    if not isinstance(table, dict):
        raise PolicyError(f"{path}: [tool.depvet] must be a table")
    return table


def _matches(requirement: Requirement, name: str, version: str) -> bool:
    if canonicalize_name(requirement.name) != canonicalize_name(name):
        return False
    if not requirement.specifier:
        return True
    try:
        return requirement.specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def _span(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 48:
        return f"{max(hours, 0):.0f} h"
    return f"{hours / 24:.0f} days"
