"""One place where the install guard and the index firewall decide about a release and a file.

A release is judged from what the index and the advisories tell (deny list, known-bad records,
cooldown) before anything is downloaded; a file from its name, its hash and its scan. Both
answers come with the policy's exemptions applied.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from depvet.advisories.match import KnownBad, KnownBadLookup
from depvet.advisories.store import AdvisoryStore
from depvet.model import ScanResult
from depvet.policy import Decision, Policy

Clock = Callable[[], datetime]
KNOWN_BAD_TTL = timedelta(minutes=10)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Judge:
    """Thread-safe: the proxy asks from many requests at once.

    ``store`` is the advisory database (None: the curated tainted releases only). ``clock`` is
    "now" for the cooldown; tests inject one.
    """

    def __init__(self, policy: Policy, store: AdvisoryStore | None = None, clock: Clock = utc_now) -> None:
        self.policy = policy
        self.store = store
        self.clock = clock
        # Asked again after a while: a long-running proxy sees what `depvet db update` added
        # without a restart.
        self._known = KnownBadLookup(store, vulnerabilities=policy.block_known_vulnerable, ttl=KNOWN_BAD_TTL)

    def known_bad(self, name: str, version: str) -> KnownBad:
        return self._known.get(name, version, self.clock())

    def release(self, name: str, version: str, upload_time: datetime | None) -> Decision:
        """Before any download: the deny list, known-bad records and the cooldown."""
        known = self.known_bad(name, version)
        now = self.clock()
        blocks = self.policy.release_blocks(
            name,
            version,
            upload_time=upload_time,
            malicious=known.malicious,
            vulnerable=known.vulnerable,
            now=now,
        )
        return self.policy.decide(name, version, blocks, now.date())

    def file(
        self, name: str, version: str, filename: str, sha256: str | None, scan: ScanResult | None
    ) -> Decision:
        """One file: sdists, a missing hash, and its scan (None: not scanned yet)."""
        blocks = self.policy.file_blocks(name, version, filename, sha256=sha256, scan=scan)
        return self.policy.decide(name, version, blocks, self.clock().date())
