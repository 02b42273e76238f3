"""Human report: one block per package, its findings grouped by severity (worst first), each with
file:line, evidence and, for code depvet decoded, an excerpt of the decoded code; a summary line ends it.

Everything that comes from a scanned package (paths, evidence, decoded code, error text) is shown
through :func:`depvet.report.rules_doc.visible`, so escape sequences and bidi overrides in hostile
code cannot rewrite the terminal.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Sequence

from rich.console import Console
from rich.text import Text

from depvet.model import Finding, ScanResult, Severity, Verdict
from depvet.report.rules_doc import visible
from depvet.report.styles import SEVERITY_STYLE, report_console

_VERDICT_STYLE = {
    Verdict.MALICIOUS: "bold white on red",
    Verdict.SUSPICIOUS: "bold black on yellow",
    Verdict.CLEAN: "bold green",
    Verdict.ERROR: "bold white on magenta",
}
_VERDICT_WORD_STYLE = {
    Verdict.MALICIOUS: "bold red",
    Verdict.SUSPICIOUS: "yellow",
    Verdict.CLEAN: "green",
    Verdict.ERROR: "magenta",
}
_DECODED_LINES = 8
_INDENT = 6


def render(
    results: Sequence[ScanResult],
    *,
    min_severity: Severity = Severity.LOW,
    width: int | None = None,
    color: bool | None = None,
    verb: str = "scanned",
    show_clean: bool = True,
) -> str:
    """The report as text; ``color`` None or False gives plain text, True ANSI colours.

    ``show_clean`` False leaves out clean packages without findings (``check`` of a big lock);
    the summary line still counts them.
    """
    buffer = io.StringIO()
    console = report_console(buffer, width=width, color=color)
    for result in results:
        if show_clean or result.findings or result.verdict is not Verdict.CLEAN:
            _result(console, result, min_severity)
    console.print(summary(results, min_severity, verb))
    return buffer.getvalue()


def summary(
    results: Sequence[ScanResult], min_severity: Severity = Severity.LOW, verb: str = "scanned"
) -> Text:
    """One line: how many packages, their verdicts, and the findings by severity."""
    verdicts = Counter(r.verdict for r in results)
    text = Text()
    noun = "package" if len(results) == 1 else "packages"
    text.append(f"{len(results)} {noun} {verb}", style="bold")
    for index, verdict in enumerate(v for v in Verdict if verdicts[v]):
        text.append(": " if index == 0 else ", ")
        text.append(f"{verdicts[verdict]} {verdict}", style=_VERDICT_WORD_STYLE[verdict])
    severities = Counter(f.severity for r in results for f in r.findings)
    total = sum(severities.values())
    text.append(f" · {total} finding{'' if total == 1 else 's'}")
    listed = [s for s in Severity if severities[s]]
    for index, severity in enumerate(listed):
        text.append(" (" if index == 0 else ", ")
        text.append(f"{severities[severity]} {severity}", style=SEVERITY_STYLE[severity])
    if listed:
        text.append(")")
    hidden = sum(n for s, n in severities.items() if s.rank < min_severity.rank)
    if hidden:
        text.append(f", {hidden} below {min_severity} not shown", style="dim")
    return text


def _title(result: ScanResult) -> str:
    if result.name:
        return visible(f"{result.name} {result.version or ''}".strip())
    return visible(result.target)


def _result(console: Console, result: ScanResult, min_severity: Severity) -> None:
    header = Text()
    header.append(f" {result.verdict.upper()} ", style=_VERDICT_STYLE[result.verdict])
    header.append(f" {_title(result)}", style="bold")
    if result.name:
        header.append(f"  {visible(result.target)}", style="dim")
    if result.verdict is not Verdict.ERROR:
        header.append(f"  score {result.score:g}", style="dim")
    console.print(header)
    if result.origin is not None:
        origin = result.origin
        where = f"    from {visible(origin.input_path)}"
        if origin.parents:
            where += f", pulled in by {visible(', '.join(origin.parents))}"
        console.print(Text(where, style="dim"))
    if result.error:
        line = Text("    could not be scanned: ", style="magenta")
        line.append(visible(result.error), style="")
        console.print(line)
    for reason in result.reasons:
        console.print(Text(f"    why: {visible(reason)}"))
    shown = sorted(
        (f for f in result.findings if f.severity.rank >= min_severity.rank),
        key=lambda f: (-f.severity.rank, f.path, f.line or 0, f.rule_id),
    )
    hidden = len(result.findings) - len(shown)
    current: Severity | None = None
    for finding in shown:
        if finding.severity is not current:
            current = finding.severity
            console.print(Text(f"  {current.upper()}", style=SEVERITY_STYLE[current]))
        _finding(console, finding)
    if hidden:
        console.print(
            Text(f"  {hidden} finding(s) below {min_severity} not shown (--min-severity)", style="dim")
        )
    if shown or result.error or result.reasons:
        console.print()


def _finding(console: Console, finding: Finding) -> None:
    head = Text("    ")
    head.append(finding.rule_id, style="bold")
    head.append(f" {visible(finding.title)}")
    head.append(f"  ({_context(finding)})", style="dim")
    console.print(head)
    where = f"{finding.path}:{finding.line}" if finding.line else finding.path
    console.print(Text(" " * _INDENT + visible(where), style="blue"))
    if finding.evidence:
        console.print(Text(" " * _INDENT + visible(finding.evidence), style="dim"))
    if finding.decoded:
        _decoded(console, finding.decoded)


def _context(finding: Finding) -> str:
    context = finding.context.described
    if finding.base_severity is not None and finding.base_severity is not finding.severity:
        context += f"; rule severity {finding.base_severity}"
    return context


def _decoded(console: Console, decoded: str) -> None:
    lines = visible(decoded, keep_newlines=True).splitlines() or [""]
    width = max(20, console.width - _INDENT - 4)
    console.print(Text(" " * _INDENT + "decoded code:", style="magenta"))
    for line in lines[:_DECODED_LINES]:
        clipped = line if len(line) <= width else line[: width - 1] + "…"
        console.print(Text(" " * (_INDENT + 2) + clipped, style="magenta"))
    if len(lines) > _DECODED_LINES:
        console.print(Text(" " * (_INDENT + 2) + f"… {len(lines) - _DECODED_LINES} more lines", style="dim"))
