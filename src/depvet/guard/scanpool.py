"""Scans for the index firewall, in worker processes so the event loop keeps answering.

A scan is CPU-bound pure Python: on the event loop it would stall every other request for its
duration, and in threads the GIL would serialise it. Workers come from ``forkserver`` (as
``scanning.py`` does), so they never inherit the server's sockets, threads or event loop.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from depvet.analysis.engine import Ruleset, default_ruleset, scan_artifact
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.artifacts.targets import expand_target
from depvet.errors import InputError
from depvet.model import ScanResult
from depvet.scanning import GC_THRESHOLD, error_result

log = logging.getLogger("depvet.proxy")

_worker_ruleset: Ruleset | None = None


def _init_worker() -> None:
    global _worker_ruleset  # noqa: PLW0603 - one ruleset per worker process, built once
    _worker_ruleset = default_ruleset()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _scan_file(path: str, sha256: str, filename: str, limits: Limits) -> ScanResult:
    try:
        ref = replace(expand_target(path)[0], target=filename, sha256=sha256)
    except InputError as exc:
        return error_result(filename, str(exc))
    return scan_artifact(ref, _worker_ruleset, limits)


class ScanPool:
    """``await pool.scan(path, sha256, filename)``; ``scans`` counts the scans started."""

    def __init__(self, jobs: int, limits: Limits = DEFAULT_LIMITS) -> None:
        self.jobs = max(1, jobs)
        self.limits = limits
        self.scans = 0
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs, mp_context=context, initializer=_init_worker
            )
        return self._pool

    async def scan(self, path: Path, sha256: str, filename: str) -> ScanResult:
        self.scans += 1
        loop = asyncio.get_running_loop()
        pool = self._executor()
        try:
            return await loop.run_in_executor(pool, _scan_file, str(path), sha256, filename, self.limits)
        except BrokenProcessPool:
            # A worker died (out of memory, killed): the pool is unusable; the next scan gets a new one.
            log.error("a scanning process died while scanning %s; starting new ones", filename)
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            return error_result(filename, "the scanning process died (out of memory?)")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
