"""SARIF 2.1.0 output (``depvet scan --format sarif``), shaped for GitHub code scanning.

One run for the whole scan (GitHub rejects several runs of one tool in a file). The rules come
from the registry, so every ``ruleId`` a result names is in ``tool.driver.rules`` and
``ruleIndex`` points at it; a finding from a rule the registry does not know gets a descriptor
made from the finding. GitHub's requirements and limits that shape this module:

- ``$schema`` and ``version`` ``2.1.0``; every result has ``message.text`` and one location.
- Rules carry ``properties.security-severity`` (a number as a string, 0.1-10.0; GitHub shows
  >= 9.0 as critical, 7.0-8.9 high, 4.0-6.9 medium, below low) with the ``security`` tag, and
  ``precision``; at most 20 tags per rule (10 shown).
- ``artifactLocation.uri`` is repository-relative where it can be (files under the working
  directory, ``uriBaseId`` ``%SRCROOT%``), an absolute ``file://`` URI otherwise. A member of a
  wheel or sdist is given relative to its archive, under a ``uriBaseId`` of its own that
  ``run.originalUriBaseIds`` maps to the archive.
- ``region.startLine`` only when the finding has a line (it must be >= 1).
- ``partialFingerprints`` so alerts keep their identity across runs: a hash of rule id, package
  name, member path and normalised evidence (no line number, so edits above do not move it).
- At most 25,000 results per run and 10 MB gzip-compressed per file: past either, the least
  severe results are left out and a notification says how many.

Targets that could not be scanned are ``toolExecutionNotifications`` of ``invocations[0]``, which
then has ``executionSuccessful: false``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from depvet import __version__
from depvet.model import Finding, NotScanned, RunContext, ScanResult, Severity, Verdict
from depvet.report.rules_doc import rule_sections, split_description, visible
from depvet.rules import Rule

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/depvet/"
FINGERPRINT_KEY = "depvetFindingHash/v1"
SRCROOT = "%SRCROOT%"

MAX_RESULTS = 25_000  # GitHub: results per run
MAX_COMPRESSED_BYTES = 10 * 1024 * 1024  # GitHub: gzip-compressed SARIF file
MAX_MESSAGE_EVIDENCE = 500
MAX_DECODED = 1_000
# CWE-506, Embedded Malicious Code: what every depvet rule looks for. GitHub shows CWE tags.
TAGS = ("security", "supply-chain", "external/cwe/cwe-506")

LEVEL: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY: dict[Severity, str] = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}
# A rule's severity is a promise about how often it is right on its own (docs/writing-rules.md).
PRECISION: dict[Severity, str] = {
    Severity.CRITICAL: "high",
    Severity.HIGH: "high",
    Severity.MEDIUM: "medium",
    Severity.LOW: "low",
    Severity.INFO: "low",
}

_ARCHIVE_SUFFIXES = (".whl", ".egg", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".zip", ".tar")
_ANNOTATION = re.compile(r"^(.*?) \([^()]*\)$")  # "site-packages (start-up files no RECORD lists)"
_URI_SAFE = "/!$&'()*+,;=@~-._"  # RFC 3986 path characters, less ':' (a relative path's first segment)


def render(
    results: Sequence[ScanResult], rules: Sequence[Rule] | None = None, not_scanned: Sequence[NotScanned] = ()
) -> str:
    """The SARIF log of a scan as JSON text; ``rules`` defaults to the whole registry."""
    # ASCII-only: file names read with surrogate escapes stay writable whatever the locale.
    return json.dumps(to_sarif(results, rules, not_scanned), indent=2, ensure_ascii=True) + "\n"


def to_sarif(
    results: Sequence[ScanResult], rules: Sequence[Rule] | None = None, not_scanned: Sequence[NotScanned] = ()
) -> dict[str, Any]:
    if rules is None:
        from depvet.analysis.detectors import all_rules

        rules = all_rules()
    builder = _RunBuilder(list(rules))
    for result in results:
        builder.add(result)
    for item in not_scanned:
        builder.add_not_scanned(item)
    log = builder.log()
    _fit_github_limits(log)
    return log


def fingerprint(finding: Finding, package: str | None) -> str:
    """Stable identity of a finding across runs: rule, package, member path and evidence, not line."""
    evidence = " ".join(finding.evidence.split())
    key = "\0".join((finding.rule_id, (package or "").lower(), finding.path, evidence))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def rule_descriptor(rule: Rule) -> dict[str, Any]:
    what, _ = split_description(rule.description)
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": visible(rule.title)},
        "fullDescription": {"text": visible(rule.description)},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVEL[rule.severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[rule.severity],
            "precision": PRECISION[rule.severity],
            "tags": [*TAGS, str(rule.category)],
            "severity": str(rule.severity),
            "category": str(rule.category),
            "context-weighted": rule.context_weighted,
            "summary": visible(what),
        },
    }


def _fallback_descriptor(finding: Finding) -> dict[str, Any]:
    severity = finding.base_severity or finding.severity
    return {
        "id": finding.rule_id,
        "name": finding.rule_id.lower(),
        "shortDescription": {"text": visible(finding.title)},
        "fullDescription": {"text": visible(finding.title)},
        "defaultConfiguration": {"level": LEVEL[severity]},
        "properties": {
            "security-severity": SECURITY_SEVERITY[severity],
            "precision": PRECISION[severity],
            "tags": [*TAGS, str(finding.category)],
            "severity": str(severity),
            "category": str(finding.category),
        },
    }


def _help_markdown(rule: Rule) -> str:
    return "\n\n".join(f"**{title}**\n\n{body}" for title, body in rule_sections(rule))


def _help_text(rule: Rule) -> str:
    parts = [visible(rule.description)]
    if rule.false_positives.strip():
        parts.append(f"Known false positives: {visible(rule.false_positives.strip())}")
    if rule.references:
        parts.append("References: " + " ".join(rule.references))
    return "\n\n".join(parts)


class _RunBuilder:
    def __init__(self, rules: list[Rule]) -> None:
        self.descriptors = [rule_descriptor(r) for r in rules]
        self.index = {r.id: i for i, r in enumerate(rules)}
        self.results: list[dict[str, Any]] = []
        self.notifications: list[dict[str, Any]] = []
        self.artifacts: list[dict[str, Any]] = []
        self._artifact_keys: set[str] = set()
        self.base_ids: dict[str, dict[str, Any]] = {}
        self._archive_ids: dict[str, str] = {}
        self._cwd = Path.cwd().resolve()

    def add(self, result: ScanResult) -> None:
        target_location = self._target_location(result.target)
        artifact = self._artifact(result, target_location)
        key = json.dumps(artifact, sort_keys=True)
        if key not in self._artifact_keys:  # run.artifacts items must be unique
            self._artifact_keys.add(key)
            self.artifacts.append(artifact)
        if result.verdict is Verdict.ERROR:
            self.notifications.append(
                {
                    "level": "error",
                    "message": {"text": _error_message(result)},
                    "locations": [{"physicalLocation": {"artifactLocation": target_location}}],
                    "properties": {"target": result.target},
                }
            )
        for finding in result.findings:
            self.results.append(self._result(result, finding, target_location))

    def add_not_scanned(self, item: NotScanned) -> None:
        """A requirement of an input that was not scanned or checked: a warning, never dropped."""
        physical: dict[str, Any] = {"artifactLocation": self._file_location(item.input_path)}
        if item.line is not None and item.line >= 1:
            physical["region"] = {"startLine": item.line}
        self.notifications.append(
            {
                "level": "warning",
                "message": {"text": visible(f"{item.requirement}: {item.reason}: not scanned")},
                "locations": [{"physicalLocation": physical}],
                "properties": {"input": item.input_path, "requirement": item.requirement},
            }
        )

    def log(self) -> dict[str, Any]:
        failed = any(n["level"] == "error" for n in self.notifications)
        invocation: dict[str, Any] = {"executionSuccessful": not failed}
        if self.notifications:
            invocation["toolExecutionNotifications"] = self.notifications
        driver: dict[str, Any] = {
            "name": "depvet",
            "version": __version__,
            "informationUri": INFORMATION_URI,
            "rules": self.descriptors,
        }
        if re.fullmatch(r"\d+\.\d+\.\d+", __version__):
            driver["semanticVersion"] = __version__
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "invocations": [invocation],
            "originalUriBaseIds": {SRCROOT: {"uri": _as_base(self._cwd.as_uri())}, **self.base_ids},
            "artifacts": self.artifacts,
            "results": self.results,
        }
        return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}

    # -- one finding ---------------------------------------------------------------------------

    def _result(
        self, result: ScanResult, finding: Finding, target_location: dict[str, Any]
    ) -> dict[str, Any]:
        rule_index = self.index.get(finding.rule_id)
        if rule_index is None:
            rule_index = len(self.descriptors)
            self.index[finding.rule_id] = rule_index
            self.descriptors.append(_fallback_descriptor(finding))
        if finding.context is RunContext.RELEASE:
            # About the release, not a file in it: the lockfile line or artifact that names it.
            location = self._file_location(finding.path) if finding.path else target_location
        else:
            location = self._member_location(result.target, finding.path)
        physical: dict[str, Any] = {"artifactLocation": location}
        if finding.line is not None and finding.line >= 1:
            physical["region"] = {"startLine": finding.line}
        properties: dict[str, Any] = {
            "package": result.name,
            "version": result.version,
            "target": result.target,
            "sha256": result.sha256,
            "verdict": str(result.verdict),
            "score": result.score,
            "severity": str(finding.severity),
            "rule-severity": str(finding.base_severity or finding.severity),
            "category": str(finding.category),
            "context": str(finding.context),
            "path": finding.path,
            "evidence": visible(finding.evidence),
        }
        if finding.decoded:
            properties["decoded"] = visible(_clip(finding.decoded, MAX_DECODED), keep_newlines=True)
        return {
            "ruleId": finding.rule_id,
            "ruleIndex": rule_index,
            "level": LEVEL[finding.severity],
            "message": {"text": _message(finding)},
            "locations": [{"physicalLocation": physical}],
            "analysisTarget": target_location,
            "partialFingerprints": {FINGERPRINT_KEY: fingerprint(finding, result.name)},
            "properties": properties,
        }

    # -- locations -------------------------------------------------------------------------------

    def _target_location(self, target: str) -> dict[str, Any]:
        return self._file_location(_strip_annotation(target))

    def _member_location(self, target: str, member: str) -> dict[str, Any]:
        member = member.replace("\\", "/").strip("/")
        if _is_archive(target):
            if not member:
                return self._target_location(target)
            return {"uri": _quote(member), "uriBaseId": self._archive_base(target)}
        base = _strip_annotation(target)
        path = Path(base)
        if base.endswith(".dist-info"):  # an installed distribution: members are relative to site-packages
            path = path.parent
        return self._file_location(path / member if member else path)

    def _archive_base(self, target: str) -> str:
        base_id = self._archive_ids.get(target)
        if base_id is None:
            base_id = f"TARGET{len(self._archive_ids) + 1}"
            self._archive_ids[target] = base_id
            location = self._file_location(target)
            location["uri"] = _as_base(location["uri"])
            self.base_ids[base_id] = location
        return base_id

    def _file_location(self, path: str | Path) -> dict[str, Any]:
        absolute = Path(path).resolve()
        if absolute.is_relative_to(self._cwd) and absolute != self._cwd:
            return {"uri": _quote(absolute.relative_to(self._cwd).as_posix()), "uriBaseId": SRCROOT}
        try:
            return {"uri": absolute.as_uri()}
        except (ValueError, UnicodeEncodeError):  # a name with stray surrogates
            return {"uri": "file://" + _quote(absolute.as_posix())}

    def _artifact(self, result: ScanResult, location: dict[str, Any]) -> dict[str, Any]:
        artifact: dict[str, Any] = {
            "location": dict(location),
            "roles": ["analysisTarget"],
            "properties": {
                "target": result.target,
                "package": result.name,
                "version": result.version,
                "verdict": str(result.verdict),
                "score": result.score,
                "findings": len(result.findings),
            },
        }
        if result.sha256:
            artifact["hashes"] = {"sha-256": result.sha256}
        return artifact


def _as_base(uri: str) -> str:
    """A uriBaseId's URI must end with a slash (SARIF 3.14.14)."""
    return uri if uri.endswith("/") else uri + "/"


def _quote(path: str) -> str:
    """Percent-encode a path; names read with surrogate escapes get their original bytes back."""
    try:
        data = path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = path.encode("utf-8", "surrogatepass")
    return quote(data, safe=_URI_SAFE)


def _is_archive(target: str) -> bool:
    return target.lower().endswith(_ARCHIVE_SUFFIXES) and not Path(target).is_dir()


def _strip_annotation(target: str) -> str:
    match = _ANNOTATION.match(target)
    return match.group(1) if match else target


def _error_message(result: ScanResult) -> str:
    error = result.error or "could not be scanned"
    return visible(error if error.startswith(result.target) else f"{result.target}: {error}")


def _message(finding: Finding) -> str:
    evidence = visible(" ".join(finding.evidence.split()))
    title = visible(finding.title) or finding.rule_id
    return f"{title}: {_clip(evidence, MAX_MESSAGE_EVIDENCE)}" if evidence else title


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- GitHub's size limits --------------------------------------------------------------------------


def _fit_github_limits(log: dict[str, Any]) -> None:
    """Leave out the least severe results while the run is over GitHub's result or size limits."""
    run = log["runs"][0]
    results: list[dict[str, Any]] = run["results"]
    total = len(results)
    keep = min(total, MAX_RESULTS)
    if keep == total and _compressed_size(log) <= MAX_COMPRESSED_BYTES:
        return
    ranked = sorted(range(total), key=lambda i: (-_rank(results[i]), i))
    while True:
        kept = sorted(ranked[:keep])
        run["results"] = [results[i] for i in kept]
        if keep == 0 or _compressed_size(log) <= MAX_COMPRESSED_BYTES:
            break
        keep //= 2
    invocation = run["invocations"][0]
    invocation.setdefault("toolExecutionNotifications", []).append(
        {
            "level": "warning",
            "message": {
                "text": f"{total - keep} of {total} results left out to stay within GitHub code scanning's"
                " limits (25,000 results per run, 10 MB compressed); the most severe are kept."
                " Use --format json for all of them."
            },
        }
    )


def _rank(sarif_result: dict[str, Any]) -> int:
    return Severity(sarif_result["properties"]["severity"]).rank


def _compressed_size(log: dict[str, Any]) -> int:
    text = json.dumps(log, indent=2).encode("ascii")
    if len(text) <= MAX_COMPRESSED_BYTES:
        return len(text)  # compression only makes it smaller
    return len(gzip.compress(text, compresslevel=6))
