"""From the reasons of a diff to its verdict: explainable, and hard to reach for an ordinary update.

Findings about one file count once (its worst), so the detector's finding and the diff's own
reason about the same new code do not add up; medium and low reasons are capped, so a large
release with many small novelties never outweighs one strong signal.
"""

from __future__ import annotations

from collections.abc import Sequence

from depvet.diff.model import DiffVerdict
from depvet.model import Finding, RunContext, Severity

TAINTED_SCORE = 10.0
_WEIGHT = {
    Severity.CRITICAL: 10.0,
    Severity.HIGH: 5.0,
    Severity.MEDIUM: 2.0,
    Severity.LOW: 0.5,
    Severity.INFO: 0.0,
}
_CAPS = {Severity.MEDIUM: 4.0, Severity.LOW: 1.0}


def decide(reasons: Sequence[Finding]) -> tuple[DiffVerdict, float]:
    worst: dict[str, Severity] = {}
    for reason in reasons:
        # Facts about the release (provenance, upload time, a dependency) stand on their own.
        group = f"{reason.rule_id} {reason.evidence}" if reason.context is RunContext.RELEASE else reason.path
        if group not in worst or reason.severity.rank > worst[group].rank:
            worst[group] = reason.severity
    totals: dict[Severity, float] = {}
    for severity in worst.values():
        totals[severity] = totals.get(severity, 0.0) + _WEIGHT[severity]
    score = sum(min(total, _CAPS.get(severity, total)) for severity, total in totals.items())
    verdict = DiffVerdict.TAINTED if score >= TAINTED_SCORE else DiffVerdict.ORDINARY
    return verdict, round(score, 1)
