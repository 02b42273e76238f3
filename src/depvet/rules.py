"""The rule record. Each detector module defines its rules; ``registry`` gathers them.

A rule's text lives only here-in-its-detector: docs, SARIF metadata and the tests'
expectations are all read from these records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from depvet.model import Category, Severity

RULE_ID = re.compile(r"^DV\d{3}$")
MATCHING = "matching"
# An example that is a lockfile given to ``depvet check`` (files under osv/ are imported first)
# rather than a package to scan.
CHECK = "check"
# An example that is a pair of releases given to ``depvet diff``: ``before`` holds the previous
# release's files, ``path``/``code``/``extra`` the new one's.
DIFF = "diff"


@dataclass(frozen=True, slots=True, kw_only=True)
class Example:
    """A file of a package, as inert text: where it sits decides when it would run.

    ``extra`` adds more files; ``artifact`` says how the test builds the package
    ("directory", "wheel", "sdist" or "installed"), since some rules only apply to one kind.
    ``"check"`` is a lockfile for ``depvet check`` with ``args``; its ``extra`` files under
    ``osv/`` are OSV records imported into the example's own database first. ``"diff"`` is the
    new release of a pair given to ``depvet diff``, ``before`` the previous one.
    ``links`` adds archive members that are links (``target`` ``"<device>"`` makes a device
    file). ``locked_sha256`` scans the artifact as a release a lockfile pinned with that hash.
    For "installed", an ``extra`` path starting with ``+`` is written after RECORD (tampered or
    unlisted), and one starting with ``-`` is listed in RECORD but absent.
    """

    path: str
    code: str
    extra: tuple[tuple[str, str], ...] = ()
    artifact: str = "directory"
    links: tuple[tuple[str, str], ...] = ()
    # The sha256 a lockfile recorded for the built artifact; MATCHING stands for its own.
    locked_sha256: str | None = None
    # For artifact CHECK: the options given to ``depvet check`` with the file at ``path``.
    args: tuple[str, ...] = ()
    # For artifact DIFF: the previous release's files (both are built as wheels of "sample").
    before: tuple[tuple[str, str], ...] = ()
    # For artifact DIFF: what the index says about the releases, which makes the test publish
    # both on a local index and diff them by name. Keys: "provenance VERSION" (a PEP 740
    # provenance object), "upload VERSION" (an RFC 3339 time; a version without files is listed
    # as an earlier release), "project NAME" (another project's only release's upload time).
    index: tuple[tuple[str, str], ...] = ()

    def files(self) -> dict[str, str]:
        return {self.path: self.code, **dict(self.extra)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    id: str
    name: str  # kebab-case, stable
    title: str  # one line, shown next to each finding
    severity: Severity  # for code that runs without being called (install, import, start-up)
    category: Category
    description: str  # what it detects and why that is dangerous
    bad: Example  # must trigger
    good: Example  # a benign look-alike that must not
    false_positives: str = ""
    references: tuple[str, ...] = ()
    # Whether the severity is weighed by where the code runs (a function nobody calls at
    # install or import time counts one level less; tests, docs, examples two).
    context_weighted: bool = True

    def __post_init__(self) -> None:
        if not RULE_ID.match(self.id):
            raise ValueError(f"rule id {self.id!r} is not DV + three digits")
