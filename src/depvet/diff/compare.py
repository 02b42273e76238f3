"""Compare two releases of one package: files, code, capabilities, findings, metadata; then judge.

Only what changed is analysed: a file with the same bytes in both releases can do the same
things in both. The old release's unchanged files are read again only to learn whether a
capability the new code uses was there before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from depvet.analysis.engine import CONTEXT_ORDER, Ruleset, default_ruleset, order_findings
from depvet.analysis.files import decode_text, pth_line_runs
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.artifacts.simpleindex import ProjectNotFound
from depvet.artifacts.targets import ArtifactRef
from depvet.diff import rules
from depvet.diff.analysis import OUTSIDE_PATHS, Analysis, analyse, analyse_in_worker
from depvet.diff.code import definitions, endpoints, is_code, lines_missing_from
from depvet.diff.metadata import ReleaseMetadata, read_metadata
from depvet.diff.model import (
    Capability,
    CapabilityDelta,
    CapabilityUse,
    DiffVerdict,
    Endpoint,
    FieldChange,
    FileChange,
    FileStatus,
    ReleaseDiff,
    Side,
)
from depvet.diff.release import ReleaseFiles, read_release
from depvet.diff.verdict import decide
from depvet.errors import DepvetError
from depvet.model import Category, Finding, RunContext, Severity

DependencyLookup = Callable[[str], datetime | None]  # first upload; raises ProjectNotFound
YOUNG_DEPENDENCY = timedelta(days=30)
PARALLEL_BYTES = 512 * 1024  # Python to analyse above which both releases are analysed in workers
_PYTHON_SUFFIXES = (".py", ".pyw", ".pth")
# Rules about the analysis itself, not the code: never a reason to suspect an update.
_NOT_REASONS = frozenset({"DV001", "DV807"})
# What else, beyond the detectors' own tokens, lets a new line of a changed module do more: a
# write to the user's home or a system folder, loading a library or a module's attribute by a
# computed name, a blob too long for code.
_CAPABILITY_HINTS = re.compile(
    rf"{OUTSIDE_PATHS.pattern}|open\(|ctypes|cffi|importlib|builtins|"
    # An attribute of a module looked up by a computed name: getattr(os, "sys" + "tem").
    r"getattr\(\s*(?:os|sys|subprocess|builtins|__builtins__|socket|base64|ctypes|shutil)\s*,"
)
_LONG_LINE = 400
# Text that must be present for a file to have a capability: a cheap screen of the old release's
# files, asked only about the capabilities the new code uses and the changed old code lacks.
_CAPABILITY_TOKENS = {
    Capability.NETWORK: r"socket|urllib|requests|httpx|aiohttp|http\.client|httplib|urlopen|pycurl|"
    r"websocket|ftplib|smtplib|paramiko|[Ss]ession|[Cc]lient",
    Capability.SUBPROCESS: r"subprocess|system|popen|spawn|exec|startfile|pty",
    Capability.DYNAMIC_CODE: r"exec|eval|compile|__import__|import_module|marshal",
    Capability.ENVIRONMENT: r"environ|getenv",
    Capability.SECRETS: r"\.ssh|aws|kube|netrc|credential|token|cookie|wallet|169\.254|metadata|\.env|"
    r"gcloud|azure|docker|pypirc|keyring",
    Capability.FILE_WRITE_OUTSIDE: r"open\(|write|shutil|rename|chmod|cron|systemd|autostart|copy",
    Capability.OBFUSCATION: r"b64decode|b32decode|a85decode|b85decode|marshal|zlib|lzma|bz2|lambda|"
    r"fromhex|unhexlify|rot13|rot_13|decode|join",
}


@dataclass(frozen=True, slots=True)
class ReleaseFacts:
    """What the index told about the two releases; empty when both came from disk."""

    reasons: tuple[Finding, ...] = ()  # provenance and upload-time reasons
    notes: tuple[str, ...] = ()
    old_upload: datetime | None = None
    new_upload: datetime | None = None
    old_provenance: str | None = None
    new_provenance: str | None = None


def diff_artifacts(
    old_ref: ArtifactRef,
    new_ref: ArtifactRef,
    *,
    facts: ReleaseFacts = ReleaseFacts(),
    ruleset: Ruleset | None = None,
    limits: Limits = DEFAULT_LIMITS,
    executor: Executor | None = None,
) -> ReleaseDiff:
    """The diff of two artifacts; an unreadable one gives an ``error`` diff, never an exception.

    With ``executor`` (worker processes set up by ``analysis.init_worker``), the two releases
    are analysed there, side by side, while this process compares their files.
    """
    started = time.monotonic()
    try:
        old, new = read_release(old_ref, limits), read_release(new_ref, limits)
    except DepvetError as exc:
        return failed_diff(old_ref, new_ref, str(exc), started)
    try:
        return _Comparison(old, new, ruleset, facts, limits, executor).run(started)
    except DepvetError as exc:
        return failed_diff(old_ref, new_ref, str(exc), started)


def failed_diff(
    old_ref: ArtifactRef, new_ref: ArtifactRef, message: str, started: float | None = None
) -> ReleaseDiff:
    """An ``error`` diff: one of the two could not be read or compared."""
    return ReleaseDiff(
        None,
        Side(old_ref.target, None, None, None, 0),
        Side(new_ref.target, None, None, None, 0),
        DiffVerdict.ERROR,
        0.0,
        error=message,
        seconds=time.monotonic() - started if started is not None else 0.0,
    )


class _Comparison:
    def __init__(
        self,
        old: ReleaseFiles,
        new: ReleaseFiles,
        ruleset: Ruleset | None,
        facts: ReleaseFacts,
        limits: Limits,
        executor: Executor | None,
    ) -> None:
        self.old, self.new, self.facts = old, new, facts
        self._ruleset, self.limits, self.executor = ruleset, limits, executor
        self.added = [k for k in new.entries if k not in old.entries]
        self.removed = [k for k in old.entries if k not in new.entries]
        shared = [k for k in new.entries if k in old.entries]
        self.changed = [k for k in shared if new.entries[k].data != old.entries[k].data]
        self.unchanged = [k for k in shared if new.entries[k].data == old.entries[k].data]
        self.notes: list[str] = list(facts.notes)
        self._fresh_lines: dict[str, tuple[list[int], str]] = {}
        # A changed module whose new lines mention nothing a detector or a capability looks for
        # can do nothing its old version could not: neither side is analysed, and for what the
        # old release could do it counts as unchanged. Most of a large release is such edits
        # (docstrings, type hints, renames): transformers 5.23 changes 1,145 modules, 28 not so.
        self.inert = {k for k in self.changed if k.endswith((".py", ".pyw")) and not self._may_act(k)}

    def _may_act(self, key: str) -> bool:
        _, text = self._fresh(key)
        return (
            self.ruleset.prefilter.mentions(text)
            or _CAPABILITY_HINTS.search(text) is not None
            or any(len(line) > _LONG_LINE for line in text.split("\n"))
        )

    def _fresh(self, key: str) -> tuple[list[int], str]:
        """The lines of a changed file that its old version lacks: their numbers, and their text."""
        found = self._fresh_lines.get(key)
        if found is None:
            found = self._fresh_lines[key] = lines_missing_from(self.new.text(key), self.old.text(key))
        return found

    @property
    def ruleset(self) -> Ruleset:
        if self._ruleset is None:
            self._ruleset = default_ruleset()
        return self._ruleset

    def _analyses(self) -> Callable[[], tuple[Analysis, Analysis]]:
        """Start both analyses; the returned call waits for them (new, old).

        Added files are read whole; a changed file, where it changed or holds a token.
        """
        new_keys: dict[str, frozenset[int] | None] = dict.fromkeys(self.added)
        old_keys: dict[str, frozenset[int] | None] = {}
        for key in self.changed:
            if key not in self.inert:
                new_keys[key] = frozenset(self._fresh(key)[0])
                old_keys[key] = frozenset(lines_missing_from(self.old.text(key), self.new.text(key))[0])
        work = sum(len(self.new.entries[k].data) for k in new_keys if k.endswith(_PYTHON_SUFFIXES))
        # Sending a release to a worker costs a little: worth it only for a lot of changed code
        # (transformers), not for a few files in a big archive (awscli).
        if self.executor is None or work < PARALLEL_BYTES:
            return lambda: (
                analyse(self.new, new_keys, self.ruleset),
                analyse(self.old, old_keys, self.ruleset),
            )
        new_job = self.executor.submit(analyse_in_worker, self.new.without_texts(), new_keys)
        old_job = self.executor.submit(analyse_in_worker, self.old.without_texts(), old_keys)
        return lambda: (new_job.result(), old_job.result())

    def run(self, started: float) -> ReleaseDiff:
        analyses = self._analyses()
        old_meta, new_meta = read_metadata(self.old), read_metadata(self.new)
        metadata_path = new_meta.path or self.new.ref.target
        files = self._file_changes()
        endpoints_found = self._new_endpoints()
        new_analysis, old_analysis = analyses()
        capabilities = self._capabilities(new_analysis, old_analysis)
        new_findings = self._new_findings(new_analysis, old_analysis)
        startup = self._new_startup_files()
        hooks = sorted(new_meta.install_hooks - old_meta.install_hooks)
        dependencies = _dependency_changes(old_meta, new_meta)
        reasons = [
            *self._code_reasons(startup, hooks, capabilities, new_findings, metadata_path),
            *self.facts.reasons,
            *_identity_reasons(old_meta, new_meta, metadata_path),
        ]
        ranked = order_findings(reasons)
        verdict, score = decide(ranked)
        for issue in self.new.issues:
            self.notes.append(f"{issue.path}: {issue.detail} (not compared)")
        return ReleaseDiff(
            name=new_meta.name or self.new.name,
            old=_side(self.old, old_meta, self.facts.old_upload, self.facts.old_provenance),
            new=_side(self.new, new_meta, self.facts.new_upload, self.facts.new_provenance),
            verdict=verdict,
            score=score,
            reasons=ranked,
            files=files,
            unchanged_files=len(self.unchanged),
            startup_files=tuple(self.new.path_of(k) for k in startup),
            install_hooks=tuple(hooks),
            capabilities=capabilities,
            new_findings=new_findings,
            new_endpoints=endpoints_found,
            metadata=_metadata_changes(old_meta, new_meta),
            dependencies=dependencies,
            notes=tuple(self.notes),
            seconds=time.monotonic() - started,
        )

    # -- sides and files -------------------------------------------------------------------------

    def _file_changes(self) -> tuple[FileChange, ...]:
        changes: list[FileChange] = []
        for key in self.added:
            entry = self.new.entries[key]
            added = tuple(definitions(self.new.text(key))) if key.endswith(".py") else ()
            changes.append(
                FileChange(entry.path, FileStatus.ADDED, None, len(entry.data), functions_added=added)
            )
        for key in self.changed:
            old, new = self.old.entries[key], self.new.entries[key]
            change = FileChange(new.path, FileStatus.CHANGED, len(old.data), len(new.data))
            if key.endswith(".py"):
                change = _with_definitions(change, self.old.text(key), self.new.text(key))
            changes.append(change)
        for key in self.removed:
            entry = self.old.entries[key]
            changes.append(FileChange(entry.path, FileStatus.REMOVED, len(entry.data), None))
        return tuple(changes)

    def _new_startup_files(self) -> list[str]:
        """Keys of ``.pth`` files whose start-up code is new (added, or gained executable lines)."""
        found = []
        for key in [*self.added, *self.changed]:
            if not key.endswith(".pth"):
                continue
            new_code = _pth_code(self.new.entries[key].data)
            old_code = _pth_code(self.old.entries[key].data) if key in self.old.entries else set()
            if new_code - old_code:
                found.append(key)
        return found

    # -- capabilities and findings ---------------------------------------------------------------

    def _capabilities(self, new: Analysis, old: Analysis) -> tuple[CapabilityDelta, ...]:
        old_uses = list(old.uses)
        had = {u.capability for u in old_uses}
        had_on_own = {u.capability for u in old_uses if u.context.runs_automatically}
        wanted = {u.capability for u in new.uses} - had
        wanted |= {u.capability for u in new.uses if u.context.runs_automatically} - had_on_own
        if wanted:
            old_uses += self._unchanged_uses(wanted)
        if Capability.NATIVE_CODE in wanted and old.has_native:
            old_uses.append(CapabilityUse(Capability.NATIVE_CODE, "", None, RunContext.DATA, "native"))
        had = {u.capability for u in old_uses}
        had_on_own = {u.capability for u in old_uses if u.context.runs_automatically}
        deltas = []
        for capability in Capability:
            uses = tuple(u for u in new.uses if u.capability is capability)
            if not uses:
                continue
            on_own = any(u.context.runs_automatically for u in uses) and capability not in had_on_own
            deltas.append(CapabilityDelta(capability, capability not in had, on_own, _ranked_uses(uses)))
        return tuple(deltas)

    def _unchanged_uses(self, wanted: set[Capability]) -> list[CapabilityUse]:
        """Uses of ``wanted`` capabilities in the old release's files that are still there.

        Unchanged files were not analysed, and changed ones only where they changed.
        """
        patterns = [_CAPABILITY_TOKENS[c] for c in sorted(wanted) if c in _CAPABILITY_TOKENS]
        if not patterns:  # native code is settled by the old release's files, not its text
            return []
        tokens = re.compile("|".join(patterns))
        candidates = [
            key
            for key in [*self.unchanged, *self.changed]
            if key.endswith((".py", ".pyw", ".pth")) and tokens.search(self.old.text(key))
        ]
        if not candidates:
            return []
        whole = dict.fromkeys(candidates)
        return [u for u in analyse(self.old, whole, self.ruleset).uses if u.capability in wanted]

    def _new_findings(self, new: Analysis, old: Analysis) -> tuple[Finding, ...]:
        new_keys = {entry.path: key for key, entry in self.new.entries.items()}
        old_keys = {entry.path: key for key, entry in self.old.entries.items()}
        seen = {(f.rule_id, old_keys.get(f.path, f.path), _evidence_key(f)) for f in old.findings}
        focus = set(self.added) | set(self.changed)
        return tuple(
            f
            for f in new.findings
            if (f.rule_id, new_keys.get(f.path, f.path), _evidence_key(f)) not in seen
            and (new_keys.get(f.path) in focus or f.path not in new_keys)
            and f.category not in (Category.KNOWN_BAD, Category.VULNERABILITY, Category.DEPENDENCY_RISK)
        )

    def _new_endpoints(self) -> tuple[Endpoint, ...]:
        """Endpoints on new lines of added or changed code that no old code mentions.

        Only new lines are searched, and each candidate is then looked for as plain text in the
        old release: a regex pass over every old file cost seconds on large releases.
        """
        found: dict[tuple[str, str], Endpoint] = {}
        for key in [*self.added, *self.changed]:
            if not is_code(key):
                continue
            path = self.new.path_of(key)
            if key in self.old.entries:
                numbers, text = self._fresh(key)
                old_text = self.old.text(key)
            else:
                numbers, text, old_text = [], self.new.text(key), ""
            for kind, value, line in endpoints(text):
                if (kind, value) not in found and value not in old_text:
                    found[(kind, value)] = Endpoint(kind, value, path, numbers[line - 1] if numbers else line)
        old_code = [entry.data for key, entry in self.old.entries.items() if is_code(key)]
        return tuple(
            e
            for e in found.values()
            if not any(e.value.encode("utf-8", "ignore") in data for data in old_code)
        )

    # -- reasons ---------------------------------------------------------------------------------

    def _code_reasons(
        self,
        startup: list[str],
        hooks: list[str],
        capabilities: Sequence[CapabilityDelta],
        new_findings: Sequence[Finding],
        metadata_path: str,
    ) -> list[Finding]:
        reasons: list[Finding] = []
        for key in startup:
            path = self.new.path_of(key)
            code = sorted(_pth_code(self.new.entries[key].data))
            reasons.append(
                rules.release_finding(
                    rules.UPDATE_ADDS_STARTUP_CODE,
                    path=path,
                    line=_line_of(self.new.entries[key].data, code[0]) if code else None,
                    evidence=_excerpt(code[0] if code else ""),
                    context=RunContext.STARTUP,
                )
            )
        setup_path = self.new.path_of("setup.py") if "setup.py" in self.new.entries else metadata_path
        for hook in hooks:
            reasons.append(
                rules.release_finding(
                    rules.UPDATE_ADDS_INSTALL_HOOK,
                    path=setup_path,
                    evidence=f"new install-time hook: {hook}",
                    context=RunContext.INSTALL,
                )
            )
        for delta in capabilities:
            reason = _capability_reason(delta)
            if reason is not None:
                reasons.append(reason)
        reasons += [
            f
            for f in new_findings
            if f.severity.rank >= Severity.MEDIUM.rank and f.rule_id not in _NOT_REASONS
        ]
        return reasons


def with_dependency_reasons(diff: ReleaseDiff, lookup: DependencyLookup) -> ReleaseDiff:
    """The diff with a reason for each new dependency that is days old or missing from the index.

    Run where the index client lives (the comparisons may run in other processes).
    """
    added = [d for d in diff.dependencies if d.old is None and d.new is not None]
    if diff.verdict is DiffVerdict.ERROR or not added:
        return diff
    path = diff.new.metadata_path or diff.new.target
    reasons: list[Finding] = []
    notes: list[str] = []
    reference = _parse_upload(diff.new.upload_time)
    for dependency in added:
        try:
            first = lookup(dependency.field)
        except ProjectNotFound:
            reasons.append(
                rules.release_finding(
                    rules.UPDATE_ADDS_YOUNG_DEPENDENCY,
                    path=path,
                    evidence=f"requires {dependency.new}: the index has no project {dependency.field}",
                    severity=Severity.HIGH,
                )
            )
            continue
        except DepvetError as exc:
            notes.append(f"dependency {dependency.field} not checked: {exc}")
            continue
        if first is None:
            notes.append(f"dependency {dependency.field} not checked: the index gives no upload times")
        elif reference is not None and reference - first < YOUNG_DEPENDENCY:
            reasons.append(
                rules.release_finding(
                    rules.UPDATE_ADDS_YOUNG_DEPENDENCY,
                    path=path,
                    evidence=(
                        f"requires {dependency.new}: {dependency.field} was first uploaded "
                        f"{first:%Y-%m-%d %H:%M} UTC, {_days(reference - first)} before this release"
                    ),
                )
            )
    if not reasons and not notes:
        return diff
    ranked = order_findings([*diff.reasons, *reasons])
    verdict, score = decide(ranked)
    return replace(diff, reasons=ranked, verdict=verdict, score=score, notes=(*diff.notes, *notes))


def _parse_upload(value: str | None) -> datetime | None:
    if value is None:
        return None
    from depvet.timestamps import parse_timestamp

    return parse_timestamp(value)


def _side(
    release: ReleaseFiles, meta: ReleaseMetadata, uploaded: datetime | None, provenance: str | None
) -> Side:
    return Side(
        release.ref.target,
        meta.name or release.name,
        meta.version or release.version,
        release.sha256,
        len(release.entries),
        f"{uploaded:%Y-%m-%dT%H:%M:%SZ}" if uploaded else None,
        provenance,
        meta.path,
    )


def _with_definitions(change: FileChange, old_text: str, new_text: str) -> FileChange:
    old, new = definitions(old_text), definitions(new_text)
    added = [n for n in new if n not in old]
    removed = [n for n in old if n not in new]
    changed = [n for n in new if n in old and new[n] != old[n]]
    touched = set(added) | set(removed) | set(changed)
    # A class whose only change is in its methods is shown by those methods.
    changed = [n for n in changed if not any(t.startswith(f"{n}.") for t in touched)]
    return FileChange(
        change.path,
        change.status,
        change.old_size,
        change.new_size,
        tuple(added),
        tuple(changed),
        tuple(removed),
    )


def _pth_code(data: bytes) -> set[str]:
    """The lines ``site`` executes."""
    return {line.strip() for line in decode_text(data).splitlines() if pth_line_runs(line)}


def _line_of(data: bytes, code: str) -> int | None:
    for number, line in enumerate(decode_text(data).splitlines(), 1):
        if line.strip() == code:
            return number
    return None


def _excerpt(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _evidence_key(finding: Finding) -> str:
    # Evidence may quote a line number or the version; neither makes a finding new.
    return re.sub(r"\d+", "#", finding.evidence)


def _ranked_uses(uses: Iterable[CapabilityUse]) -> tuple[CapabilityUse, ...]:
    return tuple(sorted(uses, key=lambda u: (CONTEXT_ORDER[u.context], u.path, u.line or 0)))


def _capability_reason(delta: CapabilityDelta) -> Finding | None:
    if delta.gained_on_its_own:
        use = next(u for u in delta.new_uses if u.context.runs_automatically)
        return rules.release_finding(
            rules.UPDATE_GAINS_AUTORUN_CAPABILITY,
            path=use.path,
            line=use.line,
            evidence=f"{delta.capability} in {use.context.described}: {use.evidence}",
            context=use.context,
        )
    if not delta.gained:
        return None
    use = delta.new_uses[0]
    rule = (
        rules.UPDATE_ADDS_NATIVE_CODE
        if delta.capability is Capability.NATIVE_CODE
        else rules.UPDATE_GAINS_CAPABILITY
    )
    evidence = (
        f"new native code: {use.evidence}"
        if delta.capability is Capability.NATIVE_CODE
        else f"{delta.capability} (first use in {use.context.described}): {use.evidence}"
    )
    return rules.release_finding(rule, path=use.path, line=use.line, evidence=evidence, context=use.context)


def _dependency_changes(old: ReleaseMetadata, new: ReleaseMetadata) -> tuple[FieldChange, ...]:
    changes = [
        FieldChange(name, None, text) for name, text in new.requires.items() if name not in old.requires
    ]
    changes += [
        FieldChange(name, text, None) for name, text in old.requires.items() if name not in new.requires
    ]
    changes += [
        FieldChange(name, old.requires[name], text)
        for name, text in new.requires.items()
        if name in old.requires and old.requires[name] != text
    ]
    return tuple(changes)


def _metadata_changes(old: ReleaseMetadata, new: ReleaseMetadata) -> tuple[FieldChange, ...]:
    changes = [
        FieldChange(name, old.fields.get(name), new.fields.get(name))
        for name in sorted(set(old.fields) | set(new.fields))
        if old.fields.get(name) != new.fields.get(name)
    ]
    for label in sorted(set(old.project_urls) | set(new.project_urls)):
        if old.project_urls.get(label) != new.project_urls.get(label):
            changes.append(
                FieldChange(f"Project-URL {label}", old.project_urls.get(label), new.project_urls.get(label))
            )
    if old.build_backend != new.build_backend:
        changes.append(FieldChange("build-backend", old.build_backend, new.build_backend))
    for group in sorted(set(old.entry_points) | set(new.entry_points)):
        before, after = old.entry_points.get(group, {}), new.entry_points.get(group, {})
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                changes.append(FieldChange(f"entry-point {group} {name}", before.get(name), after.get(name)))
    return tuple(changes)


def _identity_reasons(old: ReleaseMetadata, new: ReleaseMetadata, path: str) -> list[Finding]:
    reasons: list[Finding] = []
    old_emails, new_emails = old.emails(), new.emails()
    if old_emails and new_emails - old_emails:
        reasons.append(
            rules.release_finding(
                rules.IDENTITY_CHANGED,
                path=path,
                evidence=f"e-mail {', '.join(sorted(old_emails))} -> {', '.join(sorted(new_emails))}",
            )
        )
    old_hosts, new_hosts = old.url_domains(), new.url_domains()
    moved = [
        f"{label}: {old_hosts[label]} -> {host}"
        for label, host in sorted(new_hosts.items())
        if label in old_hosts and old_hosts[label] != host and host not in old_hosts.values()
    ]
    if moved:
        reasons.append(
            rules.release_finding(
                rules.IDENTITY_CHANGED, path=path, evidence="project URL " + "; ".join(moved)
            )
        )
    return reasons


def _days(age: timedelta) -> str:
    hours = age.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"
