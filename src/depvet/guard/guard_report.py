"""What the install guard tells the user: what was kept out and why, which exemptions let
something through, and what was verified for the installer.

Text that comes from packages (file names, finding titles and paths) goes through
``visible``, as in the scan report: a hostile package must not be able to rewrite the terminal.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from depvet.guard.installargs import Tool
from depvet.guard.vetting import COOLDOWN_REASONS, Kept, Lifted, Outcome, Verified
from depvet.model import Verdict
from depvet.report.rules_doc import visible
from depvet.report.styles import report_console

_VERDICT_STYLE = {
    Verdict.MALICIOUS: "bold red",
    Verdict.SUSPICIOUS: "yellow",
    Verdict.CLEAN: "green",
    Verdict.ERROR: "magenta",
}


def render(
    outcome: Outcome,
    tool: Tool,
    *,
    dry_run: bool,
    quiet: bool,
    color: bool | None = None,
    width: int | None = None,
) -> str:
    """The report as text: blocks always; with ``quiet`` nothing else."""
    buffer = io.StringIO()
    console = report_console(buffer, width=width, color=color)
    if outcome.blocked:
        console.print(_kept_table(outcome.blocked, "Blocked: nothing was installed", "bold red"))
        if any(r.code in COOLDOWN_REASONS for k in outcome.blocked for r in k.reasons):
            console.print(
                Text(
                    "Too young for the cooldown: pin an older release, wait until it has aged, or add "
                    "an exemption with a reason and an expiry date to the policy.",
                    style="yellow",
                )
            )
        _findings(console, outcome.blocked)
    if outcome.skipped and (not quiet or outcome.blocked):
        title = (
            "Also kept out in earlier resolutions"
            if outcome.blocked
            else "Kept out: resolved again without these releases"
        )
        console.print(_kept_table(outcome.skipped, title, "yellow"))
    if outcome.lifted and (not quiet or outcome.blocked):
        _lifted(console, outcome.lifted)
    if not quiet:
        for note in outcome.notes:
            console.print(Text(f"note: {note}", style="dim"))
    if outcome.allowed and not quiet:
        console.print(_verified(outcome.verified, tool, dry_run=dry_run))
    return buffer.getvalue()


def _kept_table(kept: Sequence[Kept], title: str, style: str) -> Table:
    table = Table(title=Text(title, style=style), title_justify="left", show_lines=True)
    for column in ("package", "version", "file", "reason", "rule"):
        table.add_column(column, overflow="fold")
    for item in kept:
        reasons = Text()
        for index, reason in enumerate(item.reasons):
            if index:
                reasons.append("\n")
            reasons.append(str(reason.code), style="bold")
            reasons.append(f": {visible(reason.detail)}")
        rules = "\n".join(r.rule_id or "-" for r in item.reasons)
        table.add_row(
            visible(item.name),
            visible(item.version),
            visible(item.filename) if item.filename else "-",
            reasons,
            rules,
        )
    return table


def _lifted(console: Console, lifted: Sequence[Lifted]) -> None:
    """One entry per lifted block: what it was, and the exemption's package, expiry and reason."""
    console.print(Text("Let through by exemptions:", style="bold cyan"))
    for item in lifted:
        line = Text(f"  {visible(item.name)} {visible(item.version)}: ", style="bold")
        line.append(f"{item.block.reason}", style="cyan")
        line.append(f" ({visible(item.block.detail)})", style="")
        console.print(line)
        exemption = item.exemption
        console.print(
            Text(
                f"    exemption {exemption.requirement}, expires {exemption.expires.isoformat()}: "
                f"{visible(exemption.reason)}",
                style="dim",
            )
        )


def _verified(verified: Sequence[Verified], tool: Tool, *, dry_run: bool) -> Table | Text:
    if not verified:
        return Text("depvet: nothing to install: the resolution names no new file", style="dim")
    count = f"{len(verified)} file{'' if len(verified) == 1 else 's'}"
    them = "it" if len(verified) == 1 else "them"
    title = f"Verified {count}" + (
        " (dry run: not installed)" if dry_run else f": {tool} installs {them} now"
    )
    table = Table(title=Text(title, style="green"), title_justify="left")
    for column in ("package", "version", "file", "verdict"):
        table.add_column(column, overflow="fold")
    for item in verified:
        verdict = item.scan.verdict
        table.add_row(
            visible(item.file.name),
            visible(item.file.version),
            visible(item.file.filename),
            Text(str(verdict), style=_VERDICT_STYLE[verdict]),
        )
    return table


def _findings(console: Console, kept: Sequence[Kept]) -> None:
    """The full scan report of each blocked file that was scanned: every finding, not only the worst."""
    scans = [k.scan for k in kept if k.scan is not None and (k.scan.findings or k.scan.error)]
    if not scans:
        return
    from depvet.report import terminal

    color = console.is_terminal and not console.no_color
    console.print(Text("Findings of the blocked files:", style="bold"))
    # Written as rendered: printing it through the console again would wrap it a second time.
    console.file.write(terminal.render(scans, color=color or None, width=console.width, show_clean=False))
