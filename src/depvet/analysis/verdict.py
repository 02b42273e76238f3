"""Combine findings into a score and a verdict that explains itself.

Severities already carry where the code runs (``detector.weigh``): a rule's severity holds for
code that runs on its own (a ``.pth``, ``setup.py``, import time), one level less in a function
nobody calls at install or import time, two less under tests/, docs/, examples/. Combinations
(a secret read whose data reaches a network send, a download that is executed) are rules of
their own and reach ``critical``. So the verdict reads straight off the worst finding:

- ``malicious``: at least one critical finding;
- ``suspicious``: at least one high finding;
- ``clean``: nothing above medium (medium and lower findings are still listed).
"""

from __future__ import annotations

from collections.abc import Sequence

from depvet.model import Finding, Severity, Verdict

WEIGHTS = {
    Severity.CRITICAL: 40.0,
    Severity.HIGH: 15.0,
    Severity.MEDIUM: 4.0,
    Severity.LOW: 1.0,
    Severity.INFO: 0.0,
}
MAX_SCORE = 100.0
MAX_REASONS = 3


def decide(findings: Sequence[Finding]) -> tuple[Verdict, float, tuple[str, ...]]:
    """Verdict, a 0-100 score (distinct rules weighted by severity) and the reasons for it."""
    best_per_rule: dict[str, Finding] = {}
    for finding in findings:
        current = best_per_rule.get(finding.rule_id)
        if current is None or finding.severity.rank > current.severity.rank:
            best_per_rule[finding.rule_id] = finding
    score = min(MAX_SCORE, sum(WEIGHTS[f.severity] for f in best_per_rule.values()))
    worst = max((f.severity.rank for f in findings), default=0)
    if worst >= Severity.CRITICAL.rank:
        verdict = Verdict.MALICIOUS
    elif worst >= Severity.HIGH.rank:
        verdict = Verdict.SUSPICIOUS
    else:
        verdict = Verdict.CLEAN
    return verdict, round(score, 1), _reasons(findings, verdict)


def _reasons(findings: Sequence[Finding], verdict: Verdict) -> tuple[str, ...]:
    if verdict is Verdict.CLEAN:
        return ()
    floor = Severity.CRITICAL if verdict is Verdict.MALICIOUS else Severity.HIGH
    reasons: list[str] = []
    for finding in findings:
        if finding.severity.rank < floor.rank:
            break
        where = f"{finding.path}:{finding.line}" if finding.line else finding.path
        text = f"{finding.severity} {finding.rule_id} {finding.title} ({finding.context.described}, {where})"
        if text not in reasons:
            reasons.append(text)
        if len(reasons) == MAX_REASONS:
            break
    return tuple(reasons)
