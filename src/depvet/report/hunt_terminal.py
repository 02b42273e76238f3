"""``depvet hunt`` in the terminal: the answer first, then what to rotate, then the evidence."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rich.table import Table
from rich.text import Text

from depvet.hunt.model import HuntReport
from depvet.report.styles import SEVERITY_STYLE, report_console

if TYPE_CHECKING:
    from rich.console import Console


def render_hunt(report: HuntReport, stream: TextIO, *, color: bool | None = None) -> None:
    console = report_console(stream, width=None, color=color)
    searched = (
        f"{len(report.environments)} environments, {len(report.caches)} caches, {len(report.images)} images "
        f"in {report.seconds:.1f} s"
    )
    if not report.compromised:
        console.print(f"Nothing found: no known-bad release, start-up code or indicator ({searched}).")
        if report.findings:
            _findings(console, report)
    else:
        console.print(
            Text("COMPROMISED", style="bold red") + Text(f": {len(report.findings)} findings ({searched}).")
        )
        _findings(console, report)
        _timeline(console, report)
        _checklist(console, report)
    if report.exposure:
        kinds = sorted({e.kind.value for e in report.exposure})
        console.print(
            f"Secrets a payload running as this user could read: {len(report.exposure)} ({', '.join(kinds)})."
            + ("" if report.compromised else " Nothing needs rotating: nothing was found."),
            highlight=False,
        )
    for item in report.skipped:
        console.print(f"not searched: {item.path}: {item.reason}", style="dim", highlight=False)
    for note in report.notes:
        console.print(f"note: {note}", style="dim", highlight=False)


def _findings(console: Console, report: HuntReport) -> None:
    table = Table(title="Findings", show_lines=False)
    for column in ("severity", "kind", "path", "release", "evidence"):
        table.add_column(column, overflow="fold")
    for finding in report.findings:
        where = finding.path + (f" (layer {finding.layer[:19]})" if finding.layer else "")
        table.add_row(
            Text(finding.severity.value, style=SEVERITY_STYLE[finding.severity]),
            finding.kind.value,
            where,
            finding.release or "",
            finding.evidence,
        )
    console.print(table)


def _timeline(console: Console, report: HuntReport) -> None:
    if not report.timeline:
        return
    table = Table(title="Timeline (UTC)")
    for column in ("when", "what", "release", "where", "in the window"):
        table.add_column(column, overflow="fold")
    for event in report.timeline:
        inside = {True: Text("yes", style="bold red"), False: Text("no"), None: Text("")}[event.inside_window]
        table.add_row(
            f"{event.when:%Y-%m-%d %H:%M}", event.what, event.release or "", event.path or "", inside
        )
    console.print(table)


def _checklist(console: Console, report: HuntReport) -> None:
    if not report.checklist:
        return
    table = Table(title="Rotate now, in this order")
    for column in ("#", "secret", "what to do", "paths"):
        table.add_column(column, overflow="fold")
    for number, step in enumerate(report.checklist, 1):
        table.add_row(str(number), step.kind.value, step.action, "\n".join(step.paths))
    console.print(table)
