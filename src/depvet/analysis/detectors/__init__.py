"""The detector families, in the order their hooks run (combinations last)."""

from __future__ import annotations

from depvet.analysis.detector import Detector
from depvet.analysis.detectors.anomalies import AnomaliesDetector
from depvet.analysis.detectors.credentials import CredentialsDetector
from depvet.analysis.detectors.execution import ExecutionDetector
from depvet.analysis.detectors.exfiltration import ExfiltrationDetector
from depvet.analysis.detectors.flow import FlowDetector
from depvet.analysis.detectors.lateral import LateralMovementDetector
from depvet.analysis.detectors.meta import MetaDetector
from depvet.analysis.detectors.obfuscation import ObfuscationDetector
from depvet.analysis.detectors.persistence import PersistenceDetector
from depvet.analysis.detectors.startup import StartupDetector
from depvet.rules import Rule


def all_detectors() -> list[Detector]:
    # Families that mark capabilities (credentials, exfiltration...) run before the ones that
    # read marks in on_module (start-up, flow); flow reads every other family's marks.
    return [
        CredentialsDetector(),
        ExfiltrationDetector(),
        ExecutionDetector(),
        PersistenceDetector(),
        LateralMovementDetector(),
        ObfuscationDetector(),
        StartupDetector(),
        AnomaliesDetector(),
        FlowDetector(),
        MetaDetector(),
    ]


def all_rules() -> list[Rule]:
    """Every rule depvet reports: the detectors', those of ``depvet check`` and of ``depvet diff``."""
    from depvet.advisories.rules import CHECK_RULES
    from depvet.diff.rules import DIFF_RULES

    detector_rules = (rule for d in all_detectors() for rule in d.rules)
    return sorted([*detector_rules, *CHECK_RULES, *DIFF_RULES], key=lambda r: r.id)


def rule_by_id(rule_id: str) -> Rule | None:
    return next((r for r in all_rules() if r.id == rule_id.upper()), None)
