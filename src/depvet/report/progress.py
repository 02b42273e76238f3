"""Progress bars on stderr for long work: only on a terminal, never with --quiet."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from depvet.model import ScanResult


@contextmanager
def progress_bar(total: int, *, enabled: bool, verb: str) -> Iterator[Callable[[str], None]]:
    """A callback that advances the bar by one and shows the label of what just finished."""
    if not enabled or total < 2 or not sys.stderr.isatty():
        yield lambda _label: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn(verb),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("", total=total)

        def advance(label: str) -> None:
            progress.update(task, advance=1, description=label[-40:])

        yield advance


@contextmanager
def progress_reporter(total: int, *, enabled: bool) -> Iterator[Callable[[ScanResult], None]]:
    with progress_bar(total, enabled=enabled, verb="scanning") as advance:
        yield lambda result: advance(result.name or result.target)
