"""Human report: one block per package, findings grouped by severity with file:line and evidence."""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape
from rich.text import Text

from depvet.model import Finding, ScanResult, Severity, Verdict

_VERDICT_STYLE = {
    Verdict.MALICIOUS: "bold white on red",
    Verdict.SUSPICIOUS: "bold black on yellow",
    Verdict.CLEAN: "bold green",
    Verdict.ERROR: "bold white on magenta",
}
_SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def render(
    results: Sequence[ScanResult],
    *,
    min_severity: Severity = Severity.LOW,
    width: int | None = None,
    color: bool | None = None,
) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 110,
        force_terminal=color,
        no_color=color is False,
        highlight=False,
        soft_wrap=False,
    )
    for result in results:
        _result(console, result, min_severity)
    _summary(console, results)
    return buffer.getvalue()


def _title(result: ScanResult) -> str:
    if result.name:
        return f"{result.name} {result.version or ''}".strip()
    return result.target


def _result(console: Console, result: ScanResult, min_severity: Severity) -> None:
    header = Text()
    header.append(f" {result.verdict.upper()} ", style=_VERDICT_STYLE[result.verdict])
    header.append(f" {_title(result)}", style="bold")
    if result.name:
        header.append(f"  {result.target}", style="dim")
    if result.verdict is not Verdict.ERROR:
        header.append(f"  score {result.score:g}", style="dim")
    console.print(header)
    if result.error:
        console.print(f"    [magenta]could not be scanned:[/] {escape(result.error)}")
    for reason in result.reasons:
        console.print(f"    [bold]why:[/] {escape(reason)}")
    shown = [f for f in result.findings if f.severity.rank >= min_severity.rank]
    hidden = len(result.findings) - len(shown)
    current: Severity | None = None
    for finding in shown:
        if finding.severity is not current:
            current = finding.severity
            console.print(f"  [{_SEVERITY_STYLE[current]}]{current.upper()}[/]")
        _finding(console, finding)
    if hidden:
        console.print(f"  [dim]{hidden} finding(s) below {min_severity} not shown (--min-severity)[/]")
    console.print()


def _finding(console: Console, finding: Finding) -> None:
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    console.print(f"    [bold]{finding.rule_id}[/] {escape(finding.title)}  [dim]({finding.context})[/]")
    console.print(f"      {escape(where)}", style="blue")
    console.print(f"      {escape(finding.evidence)}", style="dim")


def _summary(console: Console, results: Sequence[ScanResult]) -> None:
    counts = dict.fromkeys(Verdict, 0)
    for result in results:
        counts[result.verdict] += 1
    parts = [f"{counts[v]} {v}" for v in Verdict if counts[v]]
    console.print(f"[bold]{len(results)} scanned:[/] " + ", ".join(parts))
