"""The detector families, in the order their hooks run (combinations last)."""

from __future__ import annotations

from depvet.analysis.detector import Detector
from depvet.analysis.detectors.meta import MetaDetector
from depvet.analysis.detectors.startup import StartupDetector
from depvet.rules import Rule


def all_detectors() -> list[Detector]:
    return [
        StartupDetector(),
        MetaDetector(),
    ]


def all_rules() -> list[Rule]:
    return sorted((rule for d in all_detectors() for rule in d.rules), key=lambda r: r.id)


def rule_by_id(rule_id: str) -> Rule | None:
    return next((r for r in all_rules() if r.id == rule_id.upper()), None)
