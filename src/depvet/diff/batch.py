"""Run many release comparisons, in worker processes when there are several."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from depvet.analysis.engine import Ruleset, default_ruleset
from depvet.artifacts.targets import ArtifactRef
from depvet.diff.analysis import init_worker, ready
from depvet.diff.compare import ReleaseFacts, diff_artifacts, failed_diff
from depvet.diff.model import ReleaseDiff

_worker_ruleset: Ruleset | None = None


@dataclass(frozen=True, slots=True)
class PairJob:
    old: ArtifactRef
    new: ArtifactRef
    facts: ReleaseFacts = field(default_factory=ReleaseFacts)


def diff_all(
    jobs: Sequence[PairJob], *, workers: int = 1, on_done: Callable[[ReleaseDiff], None] | None = None
) -> list[ReleaseDiff]:
    """One diff per job, in order."""
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    if len(jobs) == 1 and workers > 1:
        # One pair: its two releases are analysed side by side instead.
        with ProcessPoolExecutor(2, mp_context=context, initializer=init_worker) as pool:
            job = jobs[0]
            if _archive_bytes(job) >= WARM_UP_BYTES:
                # Both workers start (imports, rules) while this process reads the releases; for
                # small releases they would only compete with it.
                for _ in range(2):
                    pool.submit(ready)
            try:
                result = diff_artifacts(job.old, job.new, facts=job.facts, executor=pool)
            except BrokenProcessPool:
                result = failed_diff(job.old, job.new, "the comparing process died (out of memory?)")
        if on_done:
            on_done(result)
        return [result]
    if workers <= 1 or len(jobs) <= 1:
        ruleset = default_ruleset()
        results = []
        for job in jobs:
            results.append(diff_artifacts(job.old, job.new, facts=job.facts, ruleset=ruleset))
            if on_done:
                on_done(results[-1])
        return results
    done: dict[int, ReleaseDiff] = {}
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_init) as pool:
        futures: dict[Future[ReleaseDiff], int] = {pool.submit(_run, job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                done[i] = future.result()
            except BrokenProcessPool:
                done[i] = failed_diff(jobs[i].old, jobs[i].new, "the comparing process died (out of memory?)")
            if on_done:
                on_done(done[i])
    return [done[i] for i in range(len(jobs))]


WARM_UP_BYTES = 4 * 1024 * 1024


def _archive_bytes(job: PairJob) -> int:
    try:
        paths = [Path(ref.path) for ref in (job.old, job.new)]
        return sum(path.stat().st_size for path in paths if path.is_file())
    except OSError:
        return 0


def _init() -> None:
    global _worker_ruleset  # noqa: PLW0603 - one ruleset per worker process, built once
    _worker_ruleset = default_ruleset()


def _run(job: PairJob) -> ReleaseDiff:
    return diff_artifacts(job.old, job.new, facts=job.facts, ruleset=_worker_ruleset)
