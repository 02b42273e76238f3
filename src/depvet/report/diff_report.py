"""Reports of ``depvet diff``: JSON (docs/json-format.md, the ``diff`` document), terminal, SARIF.

Everything taken from a package (paths, evidence, metadata values) goes through ``visible`` in the
terminal, as in the scan report.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from depvet import __version__
from depvet.diff.model import CapabilityDelta, DiffVerdict, FieldChange, FileStatus, ReleaseDiff, Side
from depvet.model import Finding, ScanResult, Verdict
from depvet.report.json_report import finding_to_dict
from depvet.report.rules_doc import visible
from depvet.report.styles import SEVERITY_STYLE, report_console

DIFF_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class LockChanges:
    """For ``--locks`` and ``scan --baseline``: pins the new lock adds or drops (not diffed)."""

    added: tuple[str, ...] = ()  # "name==version"
    removed: tuple[str, ...] = ()
    unchanged: int = 0


# -- JSON ------------------------------------------------------------------------------------------


def diff_to_dict(diff: ReleaseDiff) -> dict[str, Any]:
    return {
        "name": diff.name,
        "old": _side(diff.old),
        "new": _side(diff.new),
        "verdict": str(diff.verdict),
        "score": diff.score,
        "reasons": [finding_to_dict(f) | {"context": str(f.context)} for f in diff.reasons],
        "files": {
            "added": [
                {"path": f.path, "size": f.new_size} for f in diff.files if f.status is FileStatus.ADDED
            ],
            "removed": [
                {"path": f.path, "size": f.old_size} for f in diff.files if f.status is FileStatus.REMOVED
            ],
            "changed": [
                {
                    "path": f.path,
                    "old_size": f.old_size,
                    "new_size": f.new_size,
                    "functions_added": list(f.functions_added),
                    "functions_changed": list(f.functions_changed),
                    "functions_removed": list(f.functions_removed),
                }
                for f in diff.files
                if f.status is FileStatus.CHANGED
            ],
            "unchanged": diff.unchanged_files,
        },
        "startup_files": list(diff.startup_files),
        "install_hooks": list(diff.install_hooks),
        "capabilities": [_capability(c) for c in diff.capabilities],
        "new_findings": [finding_to_dict(f) for f in diff.new_findings],
        "new_endpoints": [
            {"kind": e.kind, "value": e.value, "path": e.path, "line": e.line} for e in diff.new_endpoints
        ],
        "metadata": [_change(c) for c in diff.metadata],
        "dependencies": [_change(c) for c in diff.dependencies],
        "notes": list(diff.notes),
        "error": diff.error,
        "lock": diff.lock,
        "seconds": round(diff.seconds, 3),
    }


def _side(side: Side) -> dict[str, Any]:
    return {
        "target": side.target,
        "name": side.name,
        "version": side.version,
        "sha256": side.sha256,
        "files": side.files,
        "upload_time": side.upload_time,
        "provenance": side.provenance,
    }


def _capability(delta: CapabilityDelta) -> dict[str, Any]:
    return {
        "capability": str(delta.capability),
        "gained": delta.gained,
        "gained_in_code_that_runs_on_its_own": delta.gained_on_its_own,
        "new_uses": [
            {"path": u.path, "line": u.line, "context": str(u.context), "evidence": u.evidence}
            for u in delta.new_uses
        ],
    }


def _change(change: FieldChange) -> dict[str, Any]:
    return {"field": change.field, "old": change.old, "new": change.new}


def render_json(diffs: Sequence[ReleaseDiff], lock_changes: LockChanges | None = None) -> str:
    return json.dumps(diff_document(diffs, lock_changes), indent=2, ensure_ascii=False) + "\n"


def diff_document(diffs: Sequence[ReleaseDiff], lock_changes: LockChanges | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {
        "schema_version": DIFF_SCHEMA_VERSION,
        "tool": {"name": "depvet", "version": __version__},
        "diffs": [diff_to_dict(d) for d in diffs],
    }
    if lock_changes is not None:
        document["packages"] = {
            "added": list(lock_changes.added),
            "removed": list(lock_changes.removed),
            "unchanged": lock_changes.unchanged,
        }
    return document


# -- SARIF -----------------------------------------------------------------------------------------


def as_scan_results(diffs: Sequence[ReleaseDiff]) -> list[ScanResult]:
    """Each diff as a result of its new release whose findings are the reasons (for SARIF)."""
    verdicts = {DiffVerdict.TAINTED: Verdict.MALICIOUS, DiffVerdict.ORDINARY: Verdict.CLEAN}
    return [
        ScanResult(
            d.new.target,
            d.name,
            d.new.version,
            d.new.sha256,
            verdicts.get(d.verdict, Verdict.ERROR),
            d.score,
            findings=d.reasons,
            error=d.error,
        )
        for d in diffs
    ]


def render_sarif(diffs: Sequence[ReleaseDiff]) -> str:
    from depvet.report.sarif import to_sarif

    log = to_sarif(as_scan_results(diffs))
    # The properties say what the diff concluded, not a scan verdict.
    by_target = {d.new.target: d for d in diffs}
    for run in log.get("runs", []):
        for item in [*run.get("results", []), *run.get("artifacts", [])]:
            properties = item.get("properties", {})
            diff = by_target.get(properties.get("target", ""))
            if diff is not None:
                properties["verdict"] = str(diff.verdict)
                properties["old_version"] = diff.old.version
                properties["old_target"] = diff.old.target
    return json.dumps(log, indent=2, ensure_ascii=True) + "\n"


# -- terminal --------------------------------------------------------------------------------------

_VERDICT_STYLE = {
    DiffVerdict.TAINTED: "bold white on red",
    DiffVerdict.ORDINARY: "bold green",
    DiffVerdict.ERROR: "bold white on magenta",
}
_REASONS_SHOWN = 3
_LIST_LIMIT = 12


def render_terminal(
    diffs: Sequence[ReleaseDiff],
    lock_changes: LockChanges | None = None,
    *,
    details: bool = False,
    color: bool | None = None,
    width: int | None = None,
) -> str:
    """A compact table (one row per diff, its top reasons), then with ``details`` everything."""
    buffer = io.StringIO()
    console = report_console(buffer, width=width, color=color)
    if diffs:
        console.print(_table(diffs))
    for diff in diffs:
        if details or diff.verdict is DiffVerdict.TAINTED:
            _details(console, diff, full=details)
    if lock_changes is not None:
        _lock_lines(console, lock_changes)
    console.print(_summary(diffs, details))
    return buffer.getvalue()


def _table(diffs: Sequence[ReleaseDiff]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("package")
    table.add_column("update", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("gained", overflow="fold")
    table.add_column("files +/-/~", no_wrap=True, justify="right")
    table.add_column("top reasons", overflow="fold")
    for diff in diffs:
        counts = Counter(f.status for f in diff.files)
        gained = ", ".join(str(c.capability) for c in diff.capabilities if c.gained or c.gained_on_its_own)
        reasons = Text()
        if diff.error:
            reasons.append(visible(diff.error), style="magenta")
        for i, reason in enumerate(diff.reasons[:_REASONS_SHOWN]):
            if i:
                reasons.append("\n")
            reasons.append(f"{reason.rule_id} ", style=SEVERITY_STYLE[reason.severity])
            reasons.append(visible(reason.title))
        if len(diff.reasons) > _REASONS_SHOWN:
            reasons.append(f"\n… {len(diff.reasons) - _REASONS_SHOWN} more", style="dim")
        table.add_row(
            visible(diff.name or diff.new.target),
            visible(f"{diff.old.version or '?'} -> {diff.new.version or '?'}"),
            Text(str(diff.verdict), style=_VERDICT_STYLE[diff.verdict]),
            visible(gained) or "-",
            f"{counts[FileStatus.ADDED]}/{counts[FileStatus.REMOVED]}/{counts[FileStatus.CHANGED]}",
            reasons,
        )
    return table


def _details(console: Console, diff: ReleaseDiff, *, full: bool) -> None:
    console.print()
    header = Text()
    header.append(f" {diff.verdict.upper()} ", style=_VERDICT_STYLE[diff.verdict])
    header.append(f" {visible(diff.name or '?')} {visible(diff.old.version or '?')} -> ", style="bold")
    header.append(visible(diff.new.version or "?"), style="bold")
    header.append(f"  score {diff.score:g}", style="dim")
    console.print(header)
    for side, label in ((diff.old, "old"), (diff.new, "new")):
        line = f"  {label}: {visible(side.target)} ({side.files} files"
        line += f", uploaded {side.upload_time}" if side.upload_time else ""
        line += f", {visible(side.provenance)}" if side.provenance else ""
        console.print(line + ")", style="dim")
    if diff.reasons:
        console.print("  reasons, worst first:", style="bold")
        shown = diff.reasons if full else diff.reasons[:_LIST_LIMIT]
        for reason in shown:
            _reason(console, reason)
        if len(shown) < len(diff.reasons):
            console.print(f"    … {len(diff.reasons) - len(shown)} more reasons", style="dim")
    if not full:
        console.print("  (--details shows files, capabilities, metadata and endpoints)", style="dim")
        return
    _files(console, diff)
    _capabilities(console, diff)
    _listing(
        console,
        "new findings",
        [f"{f.rule_id} {f.severity} {_where(f)}: {f.evidence}" for f in diff.new_findings],
    )
    _listing(
        console,
        "new URLs, domains and IPs",
        [f"{e.kind} {e.value} ({e.path}:{e.line})" for e in diff.new_endpoints],
    )
    _listing(console, "metadata", [_changed(c) for c in diff.metadata])
    _listing(console, "dependencies", [_changed(c) for c in diff.dependencies])
    _listing(console, "notes", list(diff.notes))


def _reason(console: Console, reason: Finding) -> None:
    line = Text("    ")
    line.append(f"{reason.severity:<8} ", style=SEVERITY_STYLE[reason.severity])
    line.append(f"{reason.rule_id} {visible(reason.title)}", style="bold")
    console.print(line)
    console.print(Text(f"             {visible(_where(reason))}: {visible(reason.evidence)}"))


def _where(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}" if finding.line else finding.path


def _files(console: Console, diff: ReleaseDiff) -> None:
    lines = []
    for change in diff.files:
        sizes = f"{change.old_size or 0} -> {change.new_size or 0} bytes"
        text = f"{change.status:<7} {change.path} ({sizes})"
        parts = [
            f"+{', +'.join(change.functions_added[:6])}" if change.functions_added else "",
            f"~{', ~'.join(change.functions_changed[:6])}" if change.functions_changed else "",
            f"-{', -'.join(change.functions_removed[:6])}" if change.functions_removed else "",
        ]
        defs = " ".join(p for p in parts if p)
        lines.append(f"{text} {defs}".rstrip())
    _listing(console, f"files ({diff.unchanged_files} unchanged)", lines)


def _capabilities(console: Console, diff: ReleaseDiff) -> None:
    lines = []
    for delta in diff.capabilities:
        status = (
            "GAINED on its own" if delta.gained_on_its_own else "gained" if delta.gained else "already had"
        )
        use = delta.new_uses[0]
        where = f"{use.path}:{use.line}" if use.line else use.path
        more = f" (+{len(delta.new_uses) - 1} more)" if len(delta.new_uses) > 1 else ""
        lines.append(f"{delta.capability}: {status}; {where} {use.context.described}: {use.evidence}{more}")
    _listing(console, "capabilities used by new or changed code", lines)


def _listing(console: Console, title: str, lines: Sequence[str]) -> None:
    if not lines:
        return
    console.print(f"  {title}:", style="bold")
    for line in lines[:_LIST_LIMIT]:
        console.print(Text(f"    {visible(line)}"))
    if len(lines) > _LIST_LIMIT:
        console.print(f"    … {len(lines) - _LIST_LIMIT} more (--format json lists all)", style="dim")


def _changed(change: FieldChange) -> str:
    if change.old is None:
        return f"+ {change.field}: {change.new}"
    if change.new is None:
        return f"- {change.field}: {change.old}"
    return f"~ {change.field}: {change.old} -> {change.new}"


def _lock_lines(console: Console, changes: LockChanges) -> None:
    console.print()
    if changes.added:
        console.print(
            Text(f"new in the lock (not diffed; 'depvet scan' them): {visible(', '.join(changes.added))}")
        )
    if changes.removed:
        console.print(Text(f"dropped from the lock: {visible(', '.join(changes.removed))}"))
    console.print(f"{changes.unchanged} pins unchanged", style="dim")


def _summary(diffs: Sequence[ReleaseDiff], details: bool) -> Text:
    verdicts = Counter(d.verdict for d in diffs)
    text = Text()
    text.append(f"{len(diffs)} update{'' if len(diffs) == 1 else 's'} compared", style="bold")
    for i, verdict in enumerate(v for v in DiffVerdict if verdicts[v]):
        text.append(": " if i == 0 else ", ")
        text.append(f"{verdicts[verdict]} {verdict}", style=_VERDICT_STYLE[verdict])
    if not details and diffs:
        text.append(" · --details for files, capabilities and metadata", style="dim")
    return text
