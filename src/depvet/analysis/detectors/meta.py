"""Rules about depvet's own analysis: what it could not finish is reported, never silently clean."""

from __future__ import annotations

import base64
from typing import ClassVar

from depvet.analysis.detector import ArtifactContext, Detector
from depvet.model import Category, Severity
from depvet.rules import Example, Rule


def _nested_exec(layers: int) -> str:
    code = "print('innermost')"
    for _ in range(layers):
        code = f"import base64; exec(base64.b64decode({base64.b64encode(code.encode()).decode()!r}))"
    return code + "\n"


ANALYSIS_INCOMPLETE = Rule(
    id="DV001",
    name="analysis-incomplete",
    title="Part of this file could not be analysed",
    severity=Severity.LOW,
    category=Category.ANALYSIS,
    description=(
        "depvet stopped analysing a file before the end: it hit the per-file time cap, the file "
        "is too large to parse, or its code is encoded more deeply than depvet decodes. The rest "
        "of the artifact was scanned; this file's result is partial."
    ),
    bad=Example(path="pkg/__init__.py", code=_nested_exec(12)),
    good=Example(path="pkg/__init__.py", code=_nested_exec(3)),
    context_weighted=False,
)


class MetaDetector(Detector):
    rules: ClassVar[tuple[Rule, ...]] = (ANALYSIS_INCOMPLETE,)

    def on_artifact(self, ctx: ArtifactContext) -> None:
        """Reported by the engine through ``report_incomplete``."""


def report_incomplete(ctx: ArtifactContext, incomplete: list[tuple[str, str]]) -> None:
    for path, reason in incomplete:
        ctx.report(ANALYSIS_INCOMPLETE, path, reason)
