"""What a detector sees and how it reports: typed contexts in, findings and marks out.

A detector subscribes to resolved call names, to string literals matching its pattern, to
whole modules, to non-Python text, or to the whole artifact. The engine reads, parses and walks
each file once and hands every detector only what it asked for.
"""

from __future__ import annotations

import ast
import bisect
import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from depvet.analysis.files import FileKind
from depvet.analysis.prefilter import TokenIndex, line_starts, token_index
from depvet.analysis.pyfacts import CallSite, ModuleFacts, Scope, StringLit, resolver
from depvet.analysis.staticeval import StaticEvaluator, Value, as_payload_text
from depvet.model import ArtifactKind, Finding, ReadIssue, RunContext, Severity
from depvet.rules import Rule

MAX_EVIDENCE = 200
MAX_SAME_RULE_PER_FILE = 5


class Cap(enum.StrEnum):
    """Capabilities detectors mark on code, for rules about combinations and data flow."""

    # a credential file, token store or metadata endpoint (a capability name, not a password)
    SECRET_READ = "secret-read"  # noqa: S105
    ENV_BULK = "env-bulk"  # the whole environment
    SYSINFO = "sysinfo"  # host, user and network facts
    NETWORK_SEND = "network-send"  # data leaves the machine
    NETWORK_FETCH = "network-fetch"  # something is downloaded
    PROCESS = "process"  # a process or shell is started
    DYNAMIC_EXEC = "dynamic-exec"  # exec/eval/compile of something not literal
    FILE_WRITE = "file-write"
    MAKE_EXECUTABLE = "make-executable"
    DECODE = "decode"
    PERSISTENCE = "persistence"


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str  # the member path; decoded payloads keep the path of the file they came from
    kind: FileKind
    context: RunContext  # when module-level code of this file runs
    artifact_kind: ArtifactKind
    setup_script: bool = False
    top_level_init: bool = False
    layer: int = 0  # 0 for a real file, N for code decoded N times from it
    origin_line: int | None = None  # decoded payloads: the line of the original file
    chain: tuple[str, ...] = ()  # decoders applied to reach this payload


@dataclass(frozen=True, slots=True)
class Mark:
    cap: Cap
    path: str
    line: int
    context: RunContext
    detail: str
    scope: Scope | None = None
    node: ast.AST | None = None
    payload: tuple[ast.expr, ...] = ()  # NETWORK_SEND / PROCESS: the expressions that leave
    layer: int = 0
    local_line: int = 0  # the line in the module's own (possibly decoded) text


class Sink:
    """Collects findings of one artifact: applies context weighting, de-duplicates, caps floods."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str, int | None, str]] = set()
        self._per_file: dict[tuple[str, str], int] = {}

    def add(
        self,
        rule: Rule,
        *,
        path: str,
        line: int | None,
        evidence: str,
        context: RunContext,
        decoded: str | None = None,
    ) -> None:
        evidence = _clip(evidence)
        key = (rule.id, path, line, evidence)
        if key in self._seen:
            return
        count_key = (rule.id, path)
        if self._per_file.get(count_key, 0) >= MAX_SAME_RULE_PER_FILE:
            return
        self._seen.add(key)
        self._per_file[count_key] = self._per_file.get(count_key, 0) + 1
        self.findings.append(
            Finding(
                rule_id=rule.id,
                severity=weigh(rule, context),
                category=rule.category,
                title=rule.title,
                path=path,
                line=line,
                evidence=evidence,
                context=context,
                decoded=decoded,
                base_severity=rule.severity,
            )
        )

    def forget(self, path: str) -> None:
        """Drop what was found in ``path``: the file is about to be read again in another context."""
        self.findings = [f for f in self.findings if f.path != path]
        self._seen = {key for key in self._seen if key[1] != path}
        self._per_file = {key: n for key, n in self._per_file.items() if key[1] != path}


def weigh(rule: Rule, context: RunContext) -> Severity:
    """A rule's severity for code that runs in ``context``."""
    if context is RunContext.NON_RUNTIME:
        return rule.severity.lowered(2)
    if context is RunContext.CALLED and rule.context_weighted:
        return rule.severity.lowered(1)
    return rule.severity


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_EVIDENCE else text[: MAX_EVIDENCE - 1] + "…"


@functools.lru_cache(maxsize=64)
def hint_index(hints: tuple[str, ...]) -> TokenIndex:
    """One automaton per hint list of a text rule, built on first use."""
    return token_index(hints)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


class _Located:
    """Shared reporting for contexts that point at lines of one (possibly decoded) file."""

    file: FileInfo
    text: str
    sink: Sink
    _line_starts: list[int] | None = None
    _lower: str | None = None

    def line_text(self, line: int) -> str:
        starts = self._starts()
        if not 1 <= line <= len(starts):
            return ""
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[starts[line - 1] : end]

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._starts(), offset)

    def hint_lines(self, hints: Iterable[str], limit: int = 400) -> set[int]:
        """Line numbers holding any of ``hints`` (lower case), by substring search.

        Text rules look only at these lines: a minified bundle or a generated module has
        hundreds of thousands of lines and a handful worth a regular expression.
        """
        lower = self.lower_text()
        found: set[int] = set()
        for start, _ in hint_index(tuple(hints)).find_all(lower):
            found.add(self.line_of(start))
            if len(found) >= limit:
                break
        return found

    def lower_text(self) -> str:
        """The text in lower case, offsets unchanged; computed once."""
        if self._lower is None:
            lower = self.text.lower()
            # Some characters lower-case to two: keep offsets exact.
            self._lower = lower if len(lower) == len(self.text) else self.text.translate(_ASCII_LOWER)
        return self._lower

    def _starts(self) -> list[int]:
        if self._line_starts is None:
            self._line_starts = line_starts(self.text)
        return self._line_starts

    def report(self, rule: Rule, line: int | None, evidence: str, context: RunContext | None = None) -> None:
        """A finding at ``line`` of this file; decoded payloads report at their origin line."""
        file = self.file
        where = line
        decoded = None
        if file.layer:
            where = file.origin_line
            snippet = self.line_text(line).strip() if line else ""
            decoded = _clip(snippet or self.text[:MAX_EVIDENCE])
            evidence = f"[decoded, layer {file.layer}: {' > '.join(file.chain)}] {evidence}"
        self.sink.add(
            rule,
            path=file.path,
            line=where,
            evidence=evidence,
            context=context or file.context,
            decoded=decoded,
        )


class TextContext(_Located):
    """A non-Python file, a ``.pth``, a decoded non-Python payload, or Python that would not parse."""

    def __init__(self, file: FileInfo, text: str, sink: Sink, marks: list[Mark]) -> None:
        self.file = file
        self.text = text
        self.sink = sink
        self.marks = marks

    def mark(self, cap: Cap, line: int, detail: str) -> None:
        self.marks.append(
            Mark(
                cap,
                self.file.path,
                self.file.origin_line or line,
                self.file.context,
                detail,
                layer=self.file.layer,
                local_line=line,
            )
        )


class PyContext(_Located):
    """A parsed Python module with its facts, for one detector pass."""

    def __init__(
        self,
        file: FileInfo,
        text: str,
        facts: ModuleFacts,
        evaluator: StaticEvaluator,
        sink: Sink,
        marks: list[Mark],
        line_starts: list[int] | None = None,
    ) -> None:
        self.file = file
        self.text = text
        self._line_starts = line_starts  # the prefilter's, when it already split this text
        self.facts = facts
        self.evaluator = evaluator
        self.sink = sink
        self.marks = marks
        self.module_marks: list[Mark] = []
        self.payloads: list[Payload] = []
        self._values: dict[int, tuple[Value | None, tuple[str, ...]]] = {}
        self._resolve = resolver(facts)

    def context_of(self, scope: Scope) -> RunContext:
        # Decoded code was walked with the context of the call that decoded it as its base.
        if self.file.context is RunContext.NON_RUNTIME:
            return RunContext.NON_RUNTIME
        return scope.context

    def facts_resolve(self, node: ast.expr) -> str | None:
        """The dotted name an expression resolves to through this module's imports."""
        return self._resolve(node)

    def evaluate(self, node: ast.expr) -> Value | None:
        """The static value of an expression (None when it cannot be known without running it)."""
        return self._evaluated(node)[0]

    def decoders_of(self, node: ast.expr) -> tuple[str, ...]:
        """The decoding steps (base64, zlib, chr-codes, reversal...) its static value went through."""
        return self._evaluated(node)[1]

    def _evaluated(self, node: ast.expr) -> tuple[Value | None, tuple[str, ...]]:
        key = id(node)
        cached = self._values.get(key)
        if cached is None:
            value = self.evaluator.evaluate(node)
            cached = (value, tuple(self.evaluator.stats.decoders) if value is not None else ())
            self._values[key] = cached
        return cached

    def text_value(self, node: ast.expr) -> str | None:
        """The static value of an expression as text (str, or mostly printable bytes)."""
        return as_payload_text(self.evaluate(node))

    def report_at(self, rule: Rule, site: CallSite | StringLit | Mark, evidence: str | None = None) -> None:
        scope = site.scope
        context = self.context_of(scope) if scope is not None else self.file.context
        line = site.line
        self.report(rule, line, evidence if evidence is not None else self.line_text(line).strip(), context)

    def mark(
        self,
        cap: Cap,
        site: CallSite | StringLit,
        detail: str,
        payload: Sequence[ast.expr] = (),
        node: ast.AST | None = None,
    ) -> None:
        mark = Mark(
            cap,
            self.file.path,
            self.file.origin_line or site.line,
            self.context_of(site.scope),
            detail,
            site.scope,
            node if node is not None else site.node,
            tuple(payload),
            self.file.layer,
            site.line,
        )
        self.marks.append(mark)
        self.module_marks.append(mark)

    def marks_of(self, *caps: Cap) -> list[Mark]:
        """This module's marks of the given capabilities."""
        return [m for m in self.module_marks if m.cap in caps]

    def call_args(self, call: CallSite) -> list[ast.expr]:
        return [*call.node.args, *(k.value for k in call.node.keywords)]

    def kwarg(self, call: CallSite, name: str) -> ast.expr | None:
        for keyword in call.node.keywords:
            if keyword.arg == name:
                return keyword.value
        return None


@dataclass(frozen=True, slots=True)
class Payload:
    """Code or text that depvet decoded statically from a literal in this module."""

    text: str
    line: int
    chain: tuple[str, ...]
    executed: bool  # passed to exec/eval/compile or a process
    scope: Scope


@dataclass
class ArtifactIndex:
    """What the engine saw of the whole artifact, for rules about the artifact itself."""

    kind: ArtifactKind
    filename_name: str | None
    filename_version: str | None
    metadata_name: str | None = None
    metadata_version: str | None = None
    metadata_path: str | None = None
    filename_tag: str | None = None  # the artifact's file name, for its wheel tags
    paths: list[str] = field(default_factory=list)
    kinds: dict[str, FileKind] = field(default_factory=dict)
    native: dict[str, str] = field(default_factory=dict)  # path -> format
    issues: list[ReadIssue] = field(default_factory=list)
    has_c_sources: bool = False
    has_ext_modules: bool = False
    # Short string literals of modules that start processes or load libraries: which shipped
    # binary the package's own code starts.
    launch_strings: set[str] = field(default_factory=set)
    # A release pinned by a lockfile: the hash the lock recorded and the one of these bytes.
    locked_sha256: str | None = None
    sha256: str | None = None


class ArtifactContext:
    def __init__(self, index: ArtifactIndex, sink: Sink, marks: list[Mark]) -> None:
        self.index = index
        self.sink = sink
        self.marks = marks

    def report(
        self,
        rule: Rule,
        path: str,
        evidence: str,
        line: int | None = None,
        context: RunContext = RunContext.DATA,
    ) -> None:
        self.sink.add(rule, path=path, line=line, evidence=evidence, context=context)


class Detector:
    """Base class: override the hooks you subscribe to; the rest are no-ops."""

    rules: ClassVar[tuple[Rule, ...]] = ()
    # Resolved call names ('subprocess.Popen') or, with a leading dot, method names on any
    # receiver ('.read_text').
    calls: ClassVar[frozenset[str]] = frozenset()
    # String literals (not docstrings) matching this pattern go to on_string.
    strings: ClassVar[re.Pattern[str] | None] = None
    # Substrings that make a Python file worth parsing on their own (rare in benign code) ...
    tokens: ClassVar[tuple[str, ...]] = ()
    # ... and ones that do so only next to a process, network or environment token. Together
    # they must cover every string ``strings`` can match (see analysis/prefilter.py).
    context_tokens: ClassVar[tuple[str, ...]] = ()
    # Non-Python files (and unparseable Python) of these kinds go to on_text.
    text_kinds: ClassVar[frozenset[FileKind]] = frozenset()

    def on_call(self, call: CallSite, ctx: PyContext) -> None:
        """A call whose resolved name or method name the detector subscribed to."""

    def on_string(self, lit: StringLit, match: re.Match[str], ctx: PyContext) -> None:
        """A string literal matching ``strings``."""

    def on_module(self, ctx: PyContext) -> None:
        """After every call and string of the module was dispatched."""

    def on_text(self, ctx: TextContext) -> None:
        """A file of one of ``text_kinds``."""

    def on_artifact(self, ctx: ArtifactContext) -> None:
        """Once, after every file of the artifact."""


def rules_of(detectors: Iterable[Detector]) -> list[Rule]:
    return [rule for detector in detectors for rule in detector.rules]


def short(node: ast.AST, limit: int = 120) -> str:
    """Source-like text of a node for evidence."""
    try:
        text = ast.unparse(node)
    except (ValueError, RecursionError, AttributeError):
        return type(node).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
