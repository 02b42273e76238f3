"""Which advisories a pinned or installed release is affected by: curated incidents and the database.

Records that describe the same thing (an OSV ``MAL-`` record and our curated incident, or a
``PYSEC-`` record and its ``GHSA-`` alias) are reported once: the most specific record leads
and the others are listed as aliases.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.utils import canonicalize_name

from depvet.advisories.curated import curated_advisories
from depvet.advisories.osv import Advisory, AdvisoryKind, Affected
from depvet.advisories.store import AdvisoryStore
from depvet.advisories.versions import affects

# Which record leads a group of aliases: our own write-up, then malware records, then the rest.
_PREFERENCE = ("DEPVET-", "MAL-", "GHSA-", "PYSEC-")


@dataclass(frozen=True, slots=True)
class AdvisoryMatch:
    advisory: Advisory
    also_known_as: tuple[str, ...]  # the other ids of the same advisory
    kind: AdvisoryKind  # malicious when any record of the group says so


Release = tuple[str, str]  # (name as written, version)


def match_releases(
    releases: Iterable[Release],
    store: AdvisoryStore | None,
    *,
    vulnerabilities: bool,
    curated: Sequence[Advisory] | None = None,
) -> dict[Release, list[AdvisoryMatch]]:
    """The advisories affecting each release, for the releases affected by at least one."""
    wanted = {(canonicalize_name(name), version): (name, version) for name, version in releases}
    by_name: dict[str, list[tuple[Advisory, Affected, frozenset[str] | None]]] = {}
    for advisory in curated_advisories() if curated is None else curated:
        for affected in advisory.affected:
            by_name.setdefault(affected.name, []).append((advisory, affected, None))
    if store is not None:
        for name, rows in store.affecting(wanted, vulnerabilities=vulnerabilities).items():
            for row in rows:
                by_name.setdefault(name, []).append((row.advisory, row.affected, row.canonical_versions))
    matches: dict[Release, list[AdvisoryMatch]] = {}
    for (name, version), release in wanted.items():
        hits = [
            advisory
            for advisory, affected, versions in by_name.get(name, ())
            if affects(affected, version, versions)
        ]
        if hits:
            matches[release] = _grouped(hits)
    return matches


def _grouped(advisories: list[Advisory]) -> list[AdvisoryMatch]:
    groups: list[tuple[set[str], list[Advisory]]] = []
    for advisory in advisories:
        ids = {advisory.id, *advisory.aliases}
        joined = [g for g in groups if g[0] & ids]
        for group in joined:
            groups.remove(group)
            ids |= group[0]
        members = [advisory, *(a for g in joined for a in g[1])]
        groups.append((ids, members))
    matches: list[AdvisoryMatch] = []
    for ids, members in groups:
        lead = min(members, key=_rank)
        kind = (
            AdvisoryKind.MALICIOUS
            if any(m.kind is AdvisoryKind.MALICIOUS for m in members)
            else AdvisoryKind.VULNERABILITY
        )
        matches.append(AdvisoryMatch(lead, tuple(sorted(ids - {lead.id})), kind))
    return sorted(matches, key=lambda m: (m.kind is not AdvisoryKind.MALICIOUS, m.advisory.id))


def _rank(advisory: Advisory) -> tuple[int, str]:
    prefix = next((i for i, p in enumerate(_PREFERENCE) if advisory.id.startswith(p)), len(_PREFERENCE))
    return prefix, advisory.id


@dataclass(frozen=True, slots=True)
class KnownBad:
    """The ids of the advisories naming one release."""

    malicious: tuple[str, ...]
    vulnerable: tuple[str, ...]


class KnownBadLookup:
    """One release at a time, remembered: the guard, the proxy and hunt ask again and again.

    Thread-safe. With ``ttl``, an answer older than that is asked again, so a long-running
    process sees what ``depvet db update`` added.
    """

    def __init__(
        self, store: AdvisoryStore | None, *, vulnerabilities: bool, ttl: timedelta | None = None
    ) -> None:
        self.store = store
        self.vulnerabilities = vulnerabilities
        self.ttl = ttl
        self._known: dict[Release, tuple[KnownBad, datetime | None]] = {}
        self._lock = threading.Lock()

    def get(self, name: str, version: str, now: datetime | None = None) -> KnownBad:
        key = (name, version)
        with self._lock:
            cached = self._known.get(key)
            if cached is not None and (
                self.ttl is None or now is None or cached[1] is None or now - cached[1] < self.ttl
            ):
                return cached[0]
            matches = match_releases([key], self.store, vulnerabilities=self.vulnerabilities).get(key, [])
            found = KnownBad(
                tuple(m.advisory.id for m in matches if m.kind is AdvisoryKind.MALICIOUS),
                tuple(m.advisory.id for m in matches if m.kind is AdvisoryKind.VULNERABILITY),
            )
            self._known[key] = (found, now)
            return found
