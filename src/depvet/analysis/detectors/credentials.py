"""Detector family: credentials (rules to be written)."""

from __future__ import annotations

from typing import ClassVar

from depvet.analysis.detector import Detector
from depvet.rules import Rule


class CredentialsDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = ()
