"""``depvet diff`` end to end: from what the user named to compared releases.

Three fronts share one back: two artifacts on disk, NAME OLD NEW on the index, or two locks whose
changed pins are each fetched and compared. Comparisons run in worker processes; the index is
only asked from this process.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.indexconfig import IndexConfig
from depvet.artifacts.targets import ArtifactRef, expand_target
from depvet.diff.batch import PairJob, diff_all
from depvet.diff.compare import failed_diff, with_dependency_reasons
from depvet.diff.fetch import ArtifactChoice, PreparedPair, ProjectPages, prepare_release_pairs
from depvet.diff.locks import lock_delta
from depvet.diff.model import ReleaseDiff
from depvet.errors import InputError
from depvet.model import ArtifactKind
from depvet.report.diff_report import LockChanges


@dataclass(frozen=True, slots=True)
class DiffRequest:
    operands: tuple[str, ...]
    locks: bool = False
    choice: ArtifactChoice = ArtifactChoice.AUTO
    config: IndexConfig | None = None
    explicit_index: bool = False  # the user named an index: also ask it about local files' dependencies
    input_type: str | None = None
    workers: int = 1


@dataclass
class DiffOutcome:
    diffs: list[ReleaseDiff] = field(default_factory=list)
    lock_changes: LockChanges | None = None
    notes: list[str] = field(default_factory=list)


def run_diffs(request: DiffRequest, *, show_progress: bool = False) -> DiffOutcome:
    if request.locks:
        return _diff_locks(request, show_progress)
    if len(request.operands) == 3:
        name, old_version, new_version = request.operands
        return diff_updates([(name, old_version, new_version, None)], request, show_progress, None)
    return _diff_files(request)


def _pages(request: DiffRequest) -> ProjectPages:
    from depvet.artifacts.indexconfig import resolve_index_config

    return ProjectPages(request.config or resolve_index_config(None, []))


def _diff_files(request: DiffRequest) -> DiffOutcome:
    old_target, new_target = request.operands
    old_ref, new_ref = _single_artifact(old_target), _single_artifact(new_target)
    kinds = {old_ref.kind, new_ref.kind}
    if kinds == {ArtifactKind.WHEEL, ArtifactKind.SDIST}:
        raise InputError(
            f"{old_target} and {new_target}: a wheel and an sdist hold different files; "
            "compare wheel to wheel or sdist to sdist"
        )
    diffs = diff_all([PairJob(old_ref, new_ref)], workers=request.workers)
    outcome = DiffOutcome(diffs)
    if request.explicit_index:
        pages = _pages(request)
        outcome.diffs = [with_dependency_reasons(d, pages.first_upload) for d in diffs]
    return outcome


def _single_artifact(target: str) -> ArtifactRef:
    refs = expand_target(target)
    if len(refs) != 1 or refs[0].kind is ArtifactKind.INSTALLED:
        raise InputError(f"{target}: an environment holds many distributions; diff compares one release")
    return refs[0]


def diff_updates(
    updates: list[tuple[str, str, str, str | None]],
    request: DiffRequest,
    show_progress: bool,
    lock: str | None,
) -> DiffOutcome:
    """Each (name, old version, new version, index URL or None) fetched and compared, in order."""
    from depvet.report.progress import progress_bar
    from depvet.userdirs import user_cache_dir

    pages = _pages(request)
    cache = ArtifactCache(user_cache_dir())
    prepared: list[PreparedPair] = []
    with progress_bar(len(updates), enabled=show_progress, verb="fetching") as advance:
        for name, old_version, new_version, index_url in updates:
            prepared += prepare_release_pairs(
                name, old_version, new_version, pages, cache, choice=request.choice, index_url=index_url
            )
            advance(name)
    jobs = [PairJob(p.old, p.new, p.facts) for p in prepared if p.old is not None and p.new is not None]
    with progress_bar(len(jobs), enabled=show_progress, verb="comparing") as advance:
        compared = iter(diff_all(jobs, workers=request.workers, on_done=lambda d: advance(d.name or "")))
    outcome = DiffOutcome()
    for pair in prepared:
        if pair.old is None or pair.new is None:
            placeholder = ArtifactRef(pair.label, "", ArtifactKind.WHEEL)
            diff = failed_diff(placeholder, placeholder, pair.error or "could not be fetched")
        else:
            diff = with_dependency_reasons(next(compared), pages.first_upload)
        outcome.diffs.append(replace(diff, lock=lock) if lock else diff)
    return outcome


def _diff_locks(request: DiffRequest, show_progress: bool) -> DiffOutcome:
    from depvet.inputs import InputKind, parse_input

    kind = InputKind(request.input_type) if request.input_type else None
    old_path, new_path = request.operands
    old = parse_input(Path(old_path), kind=kind, resolve=False)
    new = parse_input(Path(new_path), kind=kind, resolve=False)
    delta = lock_delta(old, new)
    updates = [(c.name, c.old_version, c.new_version, c.index_url) for c in delta.changed]
    outcome = diff_updates(updates, request, show_progress, new.path) if updates else DiffOutcome()
    outcome.lock_changes = LockChanges(
        added=tuple(f"{p.name}=={p.version}" for p in delta.added),
        removed=tuple(f"{p.name}=={p.version}" for p in delta.removed),
        unchanged=delta.unchanged,
    )
    if not updates:
        outcome.notes.append(f"{new.path}: no pinned release changed version since {old.path}")
    return outcome
