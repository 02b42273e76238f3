"""Which pins changed between two locks: the updates an upgrade audit diffs."""

from __future__ import annotations

from dataclasses import dataclass

from depvet.inputs import LockedPackage, ParsedInput, SourceKind


@dataclass(frozen=True, slots=True)
class PinChange:
    name: str
    old_version: str
    new_version: str
    index_url: str | None  # where the new lock says the release comes from


@dataclass(frozen=True, slots=True)
class LockDelta:
    changed: tuple[PinChange, ...]
    added: tuple[LockedPackage, ...]
    removed: tuple[LockedPackage, ...]
    unchanged: int


def lock_delta(old: ParsedInput, new: ParsedInput) -> LockDelta:
    """Registry pins by name: changed versions, new names, dropped names.

    A name pinned twice (per-platform forks in uv.lock) counts by its set of versions: when the
    sets differ, each old version pairs with the new version nearest in order.
    """
    before, after = _versions(old), _versions(new)
    changed: list[PinChange] = []
    unchanged = 0
    for name, packages in after.items():
        if name not in before:
            continue
        old_versions = sorted({p.version for p in before[name][1] if p.version}, key=_order)
        new_versions = sorted({p.version for p in packages[1] if p.version}, key=_order)
        if old_versions == new_versions:
            unchanged += 1
            continue
        gone = [v for v in old_versions if v not in new_versions]
        fresh = [v for v in new_versions if v not in old_versions]
        index_url = packages[1][0].index_url
        for i, version in enumerate(fresh):
            previous = gone[min(i, len(gone) - 1)] if gone else old_versions[-1]
            changed.append(PinChange(packages[0], previous, version, index_url))
    added = tuple(p for name, (_, ps) in after.items() if name not in before for p in ps)
    removed = tuple(p for name, (_, ps) in before.items() if name not in after for p in ps)
    return LockDelta(tuple(changed), added, removed, unchanged)


def _versions(parsed: ParsedInput) -> dict[str, tuple[str, list[LockedPackage]]]:
    found: dict[str, tuple[str, list[LockedPackage]]] = {}
    for package in parsed.packages:
        if package.source is SourceKind.REGISTRY and package.version is not None:
            found.setdefault(package.normalized_name, (package.name, []))[1].append(package)
    return found


def _order(version: str) -> tuple[int, object]:
    from packaging.version import InvalidVersion, Version

    try:
        return 0, Version(version)
    except InvalidVersion:
        return 1, version
