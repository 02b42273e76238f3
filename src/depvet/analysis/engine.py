"""Scan one artifact: a pure function of its bytes and the ruleset.

prefilter (one regex pass) -> parse once -> facts (one walk) -> decode payloads -> dispatch to
the detectors that subscribed -> recurse into decoded payloads -> artifact-level rules ->
verdict. No network, no global state, nothing from the artifact is ever executed.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from depvet.analysis.capabilities import tag_calls
from depvet.analysis.decode import find_payloads
from depvet.analysis.detector import (
    ArtifactContext,
    ArtifactIndex,
    Cap,
    Detector,
    FileInfo,
    Mark,
    Payload,
    PyContext,
    Sink,
    TextContext,
)
from depvet.analysis.files import FileKind, classify, decode_text, package_dirs, pth_line_runs
from depvet.analysis.imports import IMPORT_MARK, imported_modules, module_parts, runs_on_import
from depvet.analysis.prefilter import Prefilter
from depvet.analysis.pyfacts import extract_facts, resolver
from depvet.analysis.pysource import ParsedSource, parse_tolerant
from depvet.analysis.staticeval import StaticEvaluator
from depvet.analysis.trim import trim_cold_definitions
from depvet.artifacts.limits import DEFAULT_LIMITS, Limits
from depvet.artifacts.targets import ArtifactRef, open_artifact
from depvet.errors import DepvetError
from depvet.metadata import name_and_version
from depvet.model import FileEntry, Finding, RunContext, ScanResult, Verdict

MAX_LAYERS = 8
MAX_PARSE_BYTES = 4 * 1024 * 1024  # larger Python files get text rules only
MAX_TEXT_BYTES = 16 * 1024 * 1024
FILE_SECONDS = 5.0

_PYTHON_TEXT_KINDS = frozenset({FileKind.PYTHON})
_SOURCE_SUFFIXES = (
    ".c",
    ".cc",
    ".cpp",
    ".cxx",
    ".h",
    ".hpp",
    ".pyx",
    ".pxd",
    ".rs",
    ".f",
    ".f90",
    ".go",
    ".zig",
    ".cu",
)
_BUILD_MARKERS = (
    "Extension(",
    "ext_modules",
    "cythonize",
    "CMakeLists",
    "setuptools_rust",
    "maturin",
    "scikit-build",
    "mesonpy",
    "meson-python",
    "build_ext",
    "pybind11",
    "cffi_modules",
)


@dataclass
class Ruleset:
    """The detectors of one scan, with the dispatch tables built once."""

    detectors: Sequence[Detector]
    by_call: dict[str, list[Detector]] = field(default_factory=dict)
    by_attr: dict[str, list[Detector]] = field(default_factory=dict)
    string_detectors: list[Detector] = field(default_factory=list)
    prefilter: Prefilter = field(init=False)

    def __post_init__(self) -> None:
        tokens: set[str] = set()
        context_tokens: set[str] = set()
        for detector in self.detectors:
            for name in detector.calls:
                table = self.by_attr if name.startswith(".") else self.by_call
                table.setdefault(name.lstrip("."), []).append(detector)
            if detector.strings is not None:
                self.string_detectors.append(detector)
            tokens.update(detector.tokens)
            context_tokens.update(detector.context_tokens)
        self.prefilter = Prefilter(tokens, context_tokens, hints=(IMPORT_MARK,))


def default_ruleset() -> Ruleset:
    from depvet.analysis.detectors import all_detectors

    return Ruleset(all_detectors())


# A release diff's files to analyse: path -> the lines that changed, or None to read it whole.
Focus = Mapping[str, frozenset[int] | None]

# Calls that load or start a binary without a process mark of their own.
_LOADERS = ("CDLL", "WinDLL", "LoadLibrary", "startfile", "ShellExecuteW", "ShellExecuteA")


class _TimeUp(BaseException):
    """A file's time cap ran out; a BaseException so no detector's ``except Exception`` hides it."""


def _raise_time_up(signum: int, frame: object) -> None:
    raise _TimeUp


@contextlib.contextmanager
def _alarm_handler() -> Iterator[None]:
    """While active, SIGALRM raises ``_TimeUp`` (where signals can be used at all).

    Installed once around a whole artifact, so each file's cap costs one timer, not four calls.
    Signals reach only the main thread; elsewhere the cooperative deadline checks remain (the
    handler is not installed there, so ``_arm_alarm`` arms nothing).
    """
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGALRM) is _raise_time_up
    ):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _raise_time_up)
    try:
        yield
    finally:
        signal.signal(signal.SIGALRM, previous)


_MAIN_THREAD = threading.main_thread().ident


def _arm_alarm(seconds: float) -> bool:
    """Start the per-file alarm where ``_alarm_handler`` is active (a plain call: 60,000 files)."""
    # Another thread must not arm it: the alarm would interrupt the main thread's own scan.
    if signal.getsignal(signal.SIGALRM) is not _raise_time_up or threading.get_ident() != _MAIN_THREAD:
        return False
    signal.setitimer(signal.ITIMER_REAL, seconds)
    return True


def _parse(
    text: str,
    hot: frozenset[int] | None,
    info: FileInfo,
    starts: list[int] | None,
    weak: frozenset[int] = frozenset(),
) -> tuple[ParsedSource | None, dict[int, int]]:
    """The module's tree, with cold definitions stubbed where that is safe; their extents."""
    if len(text) > MAX_PARSE_BYTES:
        return None, {}
    # A package's top-level __init__ runs on import whole: its side effects are all read.
    if hot is not None and not info.top_level_init:
        trimmed = trim_cold_definitions(text, hot, starts, weak)
        if trimmed is not None:
            parsed = parse_tolerant(trimmed.text)
            if parsed is not None and not parsed.repaired_lines and trimmed.verified_by(parsed.tree):
                return parsed, trimmed.extents()
    return parse_tolerant(text), {}


class ArtifactScan:
    """State of scanning one artifact: findings, marks and the artifact index."""

    def __init__(self, ruleset: Ruleset, index: ArtifactIndex, *, focus: Focus | None = None) -> None:
        self.ruleset = ruleset
        self.index = index
        # With a focus (a release diff), only these files are analysed, and their runtime code
        # whole: what matters is everything they can do, not only what a prefilter finds
        # suspicious. The other files are still indexed for the artifact-level rules.
        self.focus = focus
        self.sink = Sink()
        self.marks: list[Mark] = []
        self.files_scanned = 0
        self.incomplete: list[tuple[str, str]] = []
        self.packages: frozenset[str] | None = None
        name = index.filename_name
        self.own = name.lower().replace("-", "_").replace(".", "_") if name else None
        # Non-runtime Python worth parsing, kept in case runtime code turns out to import it.
        self.deferred: list[tuple[FileInfo, str]] = []
        self.imported: set[tuple[str, ...]] = set()

    # -- files -----------------------------------------------------------------------------

    def scan_file(self, entry: FileEntry) -> None:
        cls = classify(entry.path, entry.data[:1024], self.index.kind, self.packages, self.own)
        index = self.index
        index.paths.append(entry.path)
        index.kinds[entry.path] = cls.kind
        self.files_scanned += 1
        lower = entry.path.lower()
        if lower.endswith(_SOURCE_SUFFIXES) or lower.endswith(
            ("cmakelists.txt", "meson.build", "cargo.toml")
        ):
            index.has_c_sources = True
        if cls.kind is FileKind.NATIVE:
            from depvet.artifacts.archive import describe_binary

            index.native[entry.path] = describe_binary(entry.data[:4096]) or "native library"
            return
        if cls.kind in (FileKind.BINARY, FileKind.BYTECODE):
            return
        if cls.kind is FileKind.METADATA:
            self._metadata(entry)
            return
        if cls.kind in (FileKind.TEXT, FileKind.CONFIG):
            if cls.kind is FileKind.CONFIG and lower.endswith(("pyproject.toml", "setup.cfg")):
                self._note_build(decode_text(entry.data))
            return
        if cls.kind is FileKind.PYTHON and b"\x00" in entry.data[:4096]:
            self.incomplete.append((entry.path, "binary data in a Python source file: scanned as data only"))
            return
        build_script = cls.kind is FileKind.PYTHON and (cls.setup_script or lower.endswith("setup.py"))
        if self.focus is not None and entry.path not in self.focus and not build_script:
            return
        text = decode_text(entry.data[:MAX_TEXT_BYTES])
        if len(entry.data) > MAX_TEXT_BYTES:
            self.incomplete.append(
                (entry.path, f"only the first {MAX_TEXT_BYTES // 2**20} MiB of the text was analysed")
            )
        info = FileInfo(entry.path, cls.kind, cls.context, index.kind, cls.setup_script, cls.top_level_init)
        if build_script:
            self._note_build(text)
        if self.focus is None or entry.path in self.focus:
            # ASCII bytes are their text character for character: the prefilter reads them as
            # bytes, which skips the automaton's conversion of the text to UTF-8 and back.
            ascii_bytes = entry.data if len(entry.data) == len(text) and entry.data.isascii() else None
            self._capped(info, text, ascii_bytes)

    def _capped(self, info: FileInfo, text: str, ascii_bytes: bytes | None = None) -> None:
        deadline = time.monotonic() + FILE_SECONDS
        # The alarm is a last resort a little after the deadline the loops check themselves.
        armed = _arm_alarm(FILE_SECONDS + 1.0)
        try:
            try:
                if info.kind is FileKind.PYTHON:
                    self.scan_python(info, text, deadline, ascii_bytes=ascii_bytes)
                else:
                    self.scan_text(info, text)
                    if info.kind is FileKind.PTH:
                        self._pth_code(info, text, deadline)
            finally:
                if armed:
                    signal.setitimer(signal.ITIMER_REAL, 0)
        except _TimeUp:
            self.incomplete.append((info.path, f"analysis stopped after {FILE_SECONDS:.0f} s"))
        except RecursionError:
            self.incomplete.append((info.path, "analysis stopped: the code nests too deeply"))

    def _rescan_imported(self) -> None:
        """Read again, as import-time code, the non-runtime modules runtime code imports."""
        with _alarm_handler():
            for info, text in self.deferred:
                if runs_on_import(module_parts(info.path), self.imported):
                    self.sink.forget(info.path)
                    self.marks[:] = [m for m in self.marks if m.path != info.path]
                    self._capped(replace(info, context=RunContext.IMPORT), text)
        self.deferred.clear()

    def _note_build(self, text: str) -> None:
        if any(marker in text for marker in _BUILD_MARKERS):
            self.index.has_ext_modules = True

    def _metadata(self, entry: FileEntry) -> None:
        name = entry.path.rsplit("/", 1)[-1]
        if name not in ("METADATA", "PKG-INFO") or self.index.metadata_name:
            return
        # The distribution's own metadata sits at dist-info/METADATA or name-version/PKG-INFO.
        depth = entry.path.count("/")
        if "!" in entry.path or depth > 1:
            return
        declared_name, version = name_and_version(decode_text(entry.data[:65536]))
        if declared_name is not None:
            self.index.metadata_name = declared_name
            self.index.metadata_path = entry.path
        if version is not None:
            self.index.metadata_version = version

    def _pth_code(self, info: FileInfo, text: str, deadline: float) -> None:
        lines = text.split("\n")
        code = [line if pth_line_runs(line) else "" for line in lines]
        if any(code):
            self.scan_python(info, "\n".join(code), deadline, force=True)

    # -- python ----------------------------------------------------------------------------

    def scan_python(
        self,
        info: FileInfo,
        text: str,
        deadline: float,
        *,
        force: bool = False,
        ascii_bytes: bytes | None = None,
    ) -> None:
        screen = None
        thorough = self.focus is not None and info.context not in (RunContext.NON_RUNTIME, RunContext.DATA)
        # A changed module of a release diff: the definitions holding a changed line or a token
        # are walked; the others are the same in both releases and hold nothing a token shows.
        changed = self.focus.get(info.path) if thorough and self.focus and info.layer == 0 else None
        if changed is not None:
            screen = self.ruleset.prefilter.screen(text, ascii_bytes)
        elif info.layer == 0 and not force and not thorough:
            screen = self.ruleset.prefilter.screen(text, ascii_bytes)
            if screen.hint_positions and info.context not in (RunContext.NON_RUNTIME, RunContext.DATA):
                self.imported |= imported_modules(info.path, text, screen.hint_positions)
            if info.context in (RunContext.NON_RUNTIME, RunContext.DATA):
                # Tests, docs, examples and type stubs never run on install or import: text
                # rules only, and only where a strong token says there is something to look at.
                if screen.strong:
                    self.scan_text(info, screen.strong_lines_only(), fallback=True)
                if screen.wants and info.kind is FileKind.PYTHON:
                    self.deferred.append((info, text))
                return
            if not info.setup_script and not screen.wants:
                return
        # setup.py, decoded payloads and .pth code are small and all suspect: walk them whole.
        whole = force or info.layer > 0 or info.setup_script or (thorough and changed is None)
        hot = None if whole or screen is None else screen.hot_lines() | (changed or frozenset())
        # Weak tokens alone in a function's docstring (an HTTP client's "urllib3" in every
        # method's prose) leave it cold; a changed line of a diff never is.
        weak = (
            frozenset() if hot is None or screen is None else screen.weak_lines() - (changed or frozenset())
        )
        starts = None if screen is None else screen.line_starts()
        parsed, extents = _parse(text, hot, info, starts, weak)
        if parsed is None:
            if len(text) > MAX_PARSE_BYTES:
                self.incomplete.append(
                    (info.path, f"{len(text) // 1024} KiB of Python: only text rules applied")
                )
            self.scan_text(info, text, fallback=True)
            return
        facts = extract_facts(
            parsed.tree,
            info.context,
            setup_script=info.setup_script,
            hot_lines=hot,
            source=text,
            extents=extents,
            weak_lines=weak,
        )
        evaluator = StaticEvaluator(resolver(facts), facts.binding)
        ctx = PyContext(info, text, facts, evaluator, self.sink, self.marks, starts)
        ctx.payloads = find_payloads(ctx)
        tag_calls(ctx)
        self._dispatch(ctx, deadline)
        self._note_launches(ctx)
        if info.layer < MAX_LAYERS:
            for payload in ctx.payloads:
                self._scan_payload(ctx, payload, deadline)
        elif ctx.payloads:
            self.incomplete.append((info.path, f"more than {MAX_LAYERS} layers of encoded code"))

    def _note_launches(self, ctx: PyContext) -> None:
        launches = any(m.cap is Cap.PROCESS for m in ctx.module_marks) or any(
            (call.attr or call.name or "").endswith(_LOADERS) for call in ctx.facts.calls
        )
        if launches:
            self.index.launch_strings.update(
                lit.value for lit in ctx.facts.strings if 3 <= len(lit.value) <= 260 and not lit.docstring
            )

    def _dispatch(self, ctx: PyContext, deadline: float) -> None:
        ruleset = self.ruleset
        by_call, by_attr = ruleset.by_call, ruleset.by_attr
        for i, call in enumerate(ctx.facts.calls):
            if i % 256 == 0 and time.monotonic() > deadline:
                raise _TimeUp
            if call.name is not None:
                for detector in by_call.get(call.name, ()):
                    detector.on_call(call, ctx)
            if call.attr is not None:
                for detector in by_attr.get(call.attr, ()):
                    detector.on_call(call, ctx)
        string_detectors = ruleset.string_detectors
        for i, lit in enumerate(ctx.facts.strings):
            if i % 256 == 0 and time.monotonic() > deadline:
                raise _TimeUp
            if lit.docstring:
                continue
            for detector in string_detectors:
                assert detector.strings is not None
                match = detector.strings.search(lit.value)
                if match is not None:
                    detector.on_string(lit, match, ctx)
        for detector in ruleset.detectors:
            if time.monotonic() > deadline:
                raise _TimeUp
            detector.on_module(ctx)

    def _scan_payload(self, ctx: PyContext, payload: Payload, deadline: float) -> None:
        parent = ctx.file
        context = ctx.context_of(payload.scope)
        info = FileInfo(
            parent.path,
            FileKind.PYTHON,
            context,
            parent.artifact_kind,
            layer=parent.layer + 1,
            origin_line=parent.origin_line or payload.line,
            chain=parent.chain + payload.chain,
        )
        parsed_ok = (
            parse_tolerant(payload.text) is not None if len(payload.text) <= MAX_PARSE_BYTES else False
        )
        if parsed_ok:
            self.scan_python(info, payload.text, deadline, force=True)
        else:
            kind = FileKind.POWERSHELL if "powershell" in payload.chain[-1] else FileKind.SHELL
            self.scan_text(
                FileInfo(
                    info.path,
                    kind,
                    info.context,
                    info.artifact_kind,
                    layer=info.layer,
                    origin_line=info.origin_line,
                    chain=info.chain,
                ),
                payload.text,
            )

    # -- text ------------------------------------------------------------------------------

    def scan_text(self, info: FileInfo, text: str, *, fallback: bool = False) -> None:
        ctx = TextContext(info, text, self.sink, self.marks)
        kind = FileKind.PYTHON if fallback else info.kind
        for detector in self.ruleset.detectors:
            if kind in detector.text_kinds:
                detector.on_text(ctx)

    # -- artifact --------------------------------------------------------------------------

    def finish(self) -> list[Finding]:
        self._rescan_imported()
        self.index.issues = list(self.index.issues)
        actx = ArtifactContext(self.index, self.sink, self.marks)
        for detector in self.ruleset.detectors:
            detector.on_artifact(actx)
        from depvet.analysis.detectors.meta import report_incomplete

        report_incomplete(actx, self.incomplete)
        return self.sink.findings


CONTEXT_ORDER = {ctx: i for i, ctx in enumerate(RunContext)}  # most automatic first


def order_findings(findings: list[Finding]) -> tuple[Finding, ...]:
    """Worst first; among equals, what runs most automatically (a .pth) first."""
    return tuple(
        sorted(
            findings,
            key=lambda f: (-f.severity.rank, CONTEXT_ORDER[f.context], f.path, f.line or 0, f.rule_id),
        )
    )


def analyse_entries(
    entries: Iterable[FileEntry],
    index: ArtifactIndex,
    ruleset: Ruleset,
    *,
    names: Sequence[str] = (),
    focus: Focus | None = None,
) -> ArtifactScan:
    """Every file through the detectors (only ``focus`` ones, when given); ``finish`` is the caller's.

    ``focus`` maps a path to the lines that changed in it, or to None for a file analysed whole.
    """
    scan = ArtifactScan(ruleset, index, focus=focus)
    if names:
        scan.packages = package_dirs(list(names))
    with _alarm_handler():
        for entry in entries:
            scan.scan_file(entry)
    return scan


def scan_artifact(
    ref: ArtifactRef, ruleset: Ruleset | None = None, limits: Limits = DEFAULT_LIMITS
) -> ScanResult:
    """Scan one artifact; never raises for a bad artifact, which becomes an ``error`` result."""
    from depvet.analysis.verdict import decide

    started = time.monotonic()
    ruleset = ruleset or default_ruleset()
    try:
        opened = open_artifact(ref, limits)
        index = ArtifactIndex(
            ref.kind,
            opened.filename_name,
            opened.filename_version,
            filename_tag=Path(ref.path).name,
            locked_sha256=ref.locked_sha256,
            sha256=opened.sha256,
        )
        scan = analyse_entries(opened.entries, index, ruleset, names=opened.names)
        index.issues = opened.reader.budget.issues
        if scan.files_scanned == 0 and not index.issues:
            raise DepvetError("empty archive: it holds no files to scan")
        findings = scan.finish()
    except DepvetError as exc:
        return ScanResult(
            ref.target,
            None,
            None,
            None,
            Verdict.ERROR,
            0.0,
            error=str(exc),
            seconds=time.monotonic() - started,
        )
    except Exception as exc:
        return ScanResult(
            ref.target,
            None,
            None,
            None,
            Verdict.ERROR,
            0.0,
            error=f"internal error while scanning: {type(exc).__name__}: {exc}",
            seconds=time.monotonic() - started,
        )
    ordered = order_findings(findings)
    verdict, score, reasons = decide(ordered)
    return ScanResult(
        target=ref.target,
        name=index.metadata_name or opened.filename_name,
        version=index.metadata_version or opened.filename_version,
        sha256=opened.sha256,
        verdict=verdict,
        score=score,
        findings=ordered,
        reasons=reasons,
        files_scanned=scan.files_scanned,
        seconds=time.monotonic() - started,
    )
