"""Is a version affected? OSV ``versions`` lists and ``ECOSYSTEM`` ranges, read with PEP 440.

Explicit versions compare by their canonical form (``1.0`` and ``1.0.0`` are one release).
A local version (``1.82.8+cpu``) is a rebuild of its public version and is affected where
that one is, as ``==1.82.8`` would match it. Range events follow the OSV evaluation: walk
the events in version order; ``introduced`` turns "affected" on, ``fixed`` at or below the
version and ``last_affected`` below it turn it off, a ``limit`` at or below it ends the range.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from packaging.utils import canonicalize_version
from packaging.version import InvalidVersion, Version

from depvet.advisories.osv import Affected, RangeEvent

# OSV writes "0" for "since the first release"; PEP 440 sorts every real version above it.
_ZERO = Version("0")


def canonical(version: str) -> str:
    """The key explicit versions are stored and compared under."""
    return canonicalize_version(version.strip())


def affects(affected: Affected, version: str, canonical_versions: Iterable[str] | None = None) -> bool:
    """Whether ``version`` of ``affected.name`` is affected.

    ``canonical_versions`` is ``affected.versions`` already passed through :func:`canonical`
    (as the database stores them); given, it saves canonicalising each on every query.
    """
    listed = set(canonical_versions if canonical_versions is not None else map(canonical, affected.versions))
    key = canonical(version)
    if key in listed:
        return True
    parsed = _version(version)
    if parsed is not None and parsed.local is not None and canonical(parsed.public) in listed:
        return True
    if parsed is None:
        return False  # a legacy version string: only an explicit listing can name it
    public = Version(parsed.public) if parsed.local is not None else None
    return any(_in_range(r, parsed) or (public is not None and _in_range(r, public)) for r in affected.ranges)


@cache  # advisories of one project repeat the same event versions over and over
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _in_range(events: tuple[tuple[RangeEvent, str], ...], version: Version) -> bool:
    ordered: list[tuple[Version, int, RangeEvent]] = []
    for kind, text in events:
        parsed = _ZERO if kind is RangeEvent.INTRODUCED and text == "0" else _version(text)
        if parsed is None:
            return False  # a range we cannot order; its explicit versions still match above
        # At equal versions "introduced" comes first, so "introduced: X, fixed: X" is empty.
        ordered.append((parsed, 0 if kind is RangeEvent.INTRODUCED else 1, kind))
    ordered.sort(key=lambda item: (item[0], item[1]))
    affected = False
    for at, _, kind in ordered:
        if kind is RangeEvent.INTRODUCED:
            if version >= at:
                affected = True
        elif kind is RangeEvent.FIXED:
            if version >= at:
                affected = False
        elif kind is RangeEvent.LAST_AFFECTED:
            if version > at:
                affected = False
        elif version >= at:  # limit
            return False
    return affected
