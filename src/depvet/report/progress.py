"""A progress bar on stderr while artifacts are scanned: only on a terminal, never with --quiet."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from depvet.model import ScanResult


@contextmanager
def progress_reporter(total: int, *, enabled: bool) -> Iterator[Callable[[ScanResult], None]]:
    if not enabled or total < 2 or not sys.stderr.isatty():
        yield lambda _result: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("", total=total)

        def advance(result: ScanResult) -> None:
            label = result.name or result.target
            progress.update(task, advance=1, description=label[-40:])

        yield advance
