"""Detector family: persistence (rules to be written)."""

from __future__ import annotations

from typing import ClassVar

from depvet.analysis.detector import Detector
from depvet.rules import Rule


class PersistenceDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = ()
