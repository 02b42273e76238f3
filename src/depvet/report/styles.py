"""What every terminal report shares: severity colours and a console that writes text to a buffer."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from depvet.model import Severity

if TYPE_CHECKING:
    from rich.console import Console

SEVERITY_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def report_console(file: TextIO, *, width: int | None, color: bool | None) -> Console:
    """Plain text unless ``color`` is True; no markup or emoji, since package text is printed as is."""
    # rich is imported here, not at start-up: JSON and SARIF runs never need it.
    from rich.console import Console

    return Console(
        file=file,
        width=width or 110,
        force_terminal=color,
        no_color=color is not True,
        highlight=False,
        soft_wrap=False,
        emoji=False,
        markup=False,
    )
