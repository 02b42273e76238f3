"""Scan many artifacts: expand targets, run the per-artifact scan in worker processes."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from pathlib import Path

from depvet.analysis.engine import Ruleset, default_ruleset, scan_artifact
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.artifacts.targets import ArtifactRef, expand_target
from depvet.errors import InputError
from depvet.model import ArtifactKind, ScanResult, Verdict
from depvet.resultcache import ResultCache

ProgressCallback = Callable[[ScanResult], None]

_worker_ruleset: Ruleset | None = None


def expand_targets(targets: Sequence[str]) -> list[ArtifactRef | ScanResult]:
    """Artifact references in input order; a target that cannot be read becomes an error result."""
    expanded: list[ArtifactRef | ScanResult] = []
    for target in targets:
        try:
            expanded.extend(expand_target(target))
        except InputError as exc:
            expanded.append(error_result(target, str(exc)))
    return expanded


def error_result(target: str, message: str) -> ScanResult:
    return ScanResult(target, None, None, None, Verdict.ERROR, 0.0, error=message)


def default_jobs() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def scan_all(
    items: Sequence[ArtifactRef | ScanResult],
    *,
    jobs: int = 1,
    limits: Limits = DEFAULT_LIMITS,
    on_result: ProgressCallback | None = None,
    cache: ResultCache | None = None,
) -> list[ScanResult]:
    """Results in the order of ``items``; artifacts are scanned in ``jobs`` processes.

    With ``cache``, a wheel or sdist scanned before by the same analysis code is not scanned
    again, and new results are stored.
    """
    results: dict[int, ScanResult] = {}
    for position, item in enumerate(items):
        found = item if isinstance(item, ScanResult) else _cached(item, cache)
        if found is not None:
            results[position] = found
            if on_result:
                on_result(found)
    todo = {i: item for i, item in enumerate(items) if i not in results and isinstance(item, ArtifactRef)}
    positions, refs = list(todo), list(todo.values())
    if jobs <= 1 or len(refs) <= 1:
        ruleset = default_ruleset() if refs else None
        with _fewer_collections():
            for position, ref in zip(positions, refs, strict=True):
                results[position] = scan_artifact(ref, ruleset, limits)
                if on_result:
                    on_result(results[position])
    else:
        _scan_in_pool(refs, positions, jobs, limits, results, on_result)
    for position, ref in todo.items():
        if ref.origin is not None:
            results[position] = replace(results[position], origin=ref.origin)
        if cache is not None and ref.kind in _CACHED_KINDS:
            cache.put(results[position])
    return [results[i] for i in range(len(items))]


_CACHED_KINDS = (ArtifactKind.WHEEL, ArtifactKind.SDIST)


def _cached(ref: ArtifactRef, cache: ResultCache | None) -> ScanResult | None:
    if cache is None or ref.kind not in _CACHED_KINDS:
        return None
    sha256 = ref.sha256 or file_sha256(ref.path)
    if sha256 is None:
        return None
    hit = cache.get(sha256, ref.target)
    return None if hit is None else replace(hit, origin=ref.origin, cached=True)


def file_sha256(path: str) -> str | None:
    digest = hashlib.sha256()
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except OSError:
        return None  # the scan reports why the file cannot be read
    return digest.hexdigest()


def _size(ref: ArtifactRef) -> int:
    try:
        return Path(ref.path).stat().st_size
    except OSError:
        return 0


def _scan_in_pool(
    refs: list[ArtifactRef],
    positions: list[int],
    jobs: int,
    limits: Limits,
    results: dict[int, ScanResult],
    on_result: ProgressCallback | None,
) -> None:
    context = multiprocessing.get_context("forkserver" if os.name == "posix" else "spawn")
    with ProcessPoolExecutor(
        max_workers=min(jobs, len(refs)), mp_context=context, initializer=_init_worker
    ) as pool:
        # Largest first: a big artifact started last would leave the other workers idle.
        ordered = sorted(zip(positions, refs, strict=True), key=lambda pair: -_size(pair[1]))
        futures: dict[Future[ScanResult], int] = {
            pool.submit(_scan_in_worker, ref, limits): position for position, ref in ordered
        }
        by_position = dict(zip(positions, refs, strict=True))
        from concurrent.futures import as_completed

        for future in as_completed(futures):
            position = futures[future]
            try:
                result = future.result()
            except BrokenProcessPool:
                result = error_result(
                    by_position[position].target, "the scanning process died (out of memory?)"
                )
            results[position] = result
            if on_result:
                on_result(result)


# Parsing allocates millions of short-lived, mostly acyclic AST nodes; at the default threshold
# (700) the cyclic collector ran so often that litellm's sdist took 8.2 s instead of 5.5 s.
GC_THRESHOLD = 50_000


def _init_worker() -> None:
    global _worker_ruleset  # noqa: PLW0603 - one ruleset per worker process, built once
    _worker_ruleset = default_ruleset()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """The worker's collector setting, for a scan in the caller's own process; restored after."""
    previous = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


def _scan_in_worker(ref: ArtifactRef, limits: Limits) -> ScanResult:
    return scan_artifact(ref, _worker_ruleset, limits)
