"""Command line: parse, call the library, map errors to messages and exit codes in one place.

Exit codes: 0 nothing at or above ``--fail-on``; 1 something is; 2 usage, input or internal
error (including any target that could not be scanned).
"""

from __future__ import annotations

import argparse
import contextlib
import enum
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, assert_never

from depvet import __version__
from depvet.errors import DepvetError, UsageError
from depvet.model import NotScanned, ScanResult, Severity, Verdict

if TYPE_CHECKING:
    from depvet.artifacts.targets import ArtifactRef
    from depvet.resultcache import ResultCache

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


class OutputFormat(enum.StrEnum):
    TERMINAL = "terminal"
    JSON = "json"
    SARIF = "sarif"


class FailOn(enum.StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    NEVER = "never"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="depvet", description="Static supply-chain defence for Python packages.")
    parser.add_argument("--version", action="version", version=f"depvet {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    scan = sub.add_parser(
        "scan",
        help="scan wheels, sdists, package directories or environments",
        description="Statically scan every file of each artifact for malicious code.",
    )
    scan.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="wheel, sdist (.tar.gz/.tgz/.tar.bz2/.zip), package directory, venv or site-packages",
    )
    scan.add_argument(
        "--from-file",
        metavar="LIST",
        type=Path,
        help="read more targets from LIST, one per line ('-' for stdin)",
    )
    scan.add_argument(
        "--format", choices=[f.value for f in OutputFormat], default=OutputFormat.TERMINAL.value
    )
    scan.add_argument("-o", "--output", metavar="FILE", type=Path, help="write the report to FILE")
    scan.add_argument(
        "--fail-on",
        choices=[f.value for f in FailOn],
        default=FailOn.HIGH.value,
        help="exit 1 when a finding is at least this severe (default: high)",
    )
    scan.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: CPU count)")
    scan.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    scan.add_argument(
        "--min-severity",
        choices=[s.value for s in Severity],
        default=Severity.LOW.value,
        help="lowest severity listed in the terminal report (default: low)",
    )
    inputs = scan.add_argument_group(
        "lockfiles and requirements",
        "A TARGET may be a requirements file, pylock.toml, uv.lock, poetry.lock, Pipfile.lock or a "
        "CycloneDX JSON SBOM ('-' reads one from stdin): each pinned release is fetched from the "
        "index, checked against the lock's sha256 and scanned.",
    )
    inputs.add_argument(
        "--input-type", choices=[k.value for k in _input_kinds()], help="the format, when not detected"
    )
    inputs.add_argument(
        "--env", action="store_true", help="also scan the environment of the Python running depvet"
    )
    inputs.add_argument(
        "--source",
        action="store_true",
        help="scan a directory's own files even when it holds a lockfile (by default: the lock)",
    )
    inputs.add_argument("-i", "--index-url", metavar="URL", help="the package index (as pip's --index-url)")
    inputs.add_argument(
        "--extra-index-url", metavar="URL", action="append", default=[], help="more indexes (repeatable)"
    )
    inputs.add_argument(
        "--all-artifacts",
        action="store_true",
        help="scan every file of each release, not only the one this machine would install",
    )
    inputs.add_argument(
        "--no-cache", action="store_true", help="neither read nor store scan results in the cache"
    )

    cache = sub.add_parser(
        "cache", help="show or clear the download and results cache", description="The cache."
    )
    cache.add_argument("action", choices=["info", "clear"])

    rules = sub.add_parser("rules", help="list the rules, or show one", description="The rule registry.")
    rules.add_argument("rule_id", nargs="?", help="a rule id such as DV101")
    rules.add_argument("--format", choices=["terminal", "json", "markdown"], default="terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command == "scan":
            return _scan(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "cache":
            return _cache(args)
        raise UsageError(f"unknown command {args.command!r}")
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    except UsageError as exc:
        _error(f"{exc} (see depvet --help)")
        return EXIT_ERROR
    except DepvetError as exc:
        _error(str(exc))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_ERROR
    except Exception as exc:  # a bug must not exit 1, which means "findings"
        _error(f"internal error: {type(exc).__name__}: {exc}")
        return EXIT_ERROR


def entry() -> NoReturn:
    sys.exit(main())


def _error(message: str) -> None:
    print(f"depvet: error: {message}", file=sys.stderr)


def _read_target_list(path: Path) -> list[str]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --from-file {path}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _scan(args: argparse.Namespace) -> int:
    from depvet.scanning import default_jobs, expand_targets, scan_all

    targets = list(args.targets)
    if args.from_file is not None:
        targets += _read_target_list(args.from_file)
    if args.env:
        targets.append(sys.prefix)
    if not targets:
        raise UsageError("scan needs at least one TARGET, --from-file LIST or --env")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    jobs = args.jobs or default_jobs()
    output_format = OutputFormat(args.format)
    items: list[ArtifactRef | ScanResult] = []
    not_scanned: list[NotScanned] = []
    for target in targets if args.source else map(_project_lock, targets):
        if _is_input(target):
            items += _input_items(target, args, not_scanned)
        else:
            items += expand_targets([target])
    from depvet.report.progress import progress_reporter

    with progress_reporter(total=len(items), enabled=not args.quiet) as on_result:
        if args.no_cache:
            results = scan_all(items, jobs=jobs, on_result=on_result)
        else:
            with _result_cache() as cache:
                results = scan_all(items, jobs=jobs, on_result=on_result, cache=cache)
    text = _render(results, output_format, Severity(args.min_severity), args.output, not_scanned)
    _write(text, args.output)
    for result in results:
        if result.verdict is Verdict.ERROR:
            error = result.error or "could not be scanned"
            _error(error if error.startswith(result.target) else f"{result.target}: {error}")
    return exit_code(results, FailOn(args.fail_on))


def _input_kinds() -> list[enum.StrEnum]:
    from depvet.inputs import InputKind

    return list(InputKind)


# Looked for, in this order, in a directory given as a target (a project checkout).
PROJECT_LOCKS = ("uv.lock", "pylock.toml", "poetry.lock", "Pipfile.lock")


def _project_lock(target: str) -> str:
    """A project directory's lockfile instead of the directory; anything else unchanged.

    Only lockfiles: a folder with just a pyproject.toml or requirements.txt is more often a
    package's source tree, scanned as such; name the manifest to resolve it instead.
    """
    path = Path(target)
    if not path.is_dir() or target == "-":
        return target
    from depvet.artifacts.installed import find_site_packages

    if find_site_packages(path):
        return target
    for name in PROJECT_LOCKS:
        if (path / name).is_file():
            _note(f"{target}: scanning its {name} (--source scans the directory's own files)")
            return str(path / name)
    return target


def _is_input(target: str) -> bool:
    """A lockfile, requirements file or SBOM, rather than an artifact, directory or environment."""
    if target == "-":
        return True
    path = Path(target)
    if not path.is_file():
        return False
    from depvet.artifacts.targets import artifact_kind_of

    return artifact_kind_of(path.name) is None


def _input_items(
    target: str, args: argparse.Namespace, not_scanned: list[NotScanned]
) -> list[ArtifactRef | ScanResult]:
    """The pinned releases of a lockfile, fetched (or found in the cache) and ready to scan."""
    from depvet.artifacts.cache import ArtifactCache, user_cache_dir
    from depvet.artifacts.download import download_all
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.artifacts.simpleindex import SimpleIndexClient
    from depvet.inputs import InputKind, parse_input
    from depvet.lockscan import downloaded_refs, plan_fetches
    from depvet.report.progress import progress_bar

    kind = InputKind(args.input_type) if args.input_type else None
    config = resolve_index_config(args.index_url, args.extra_index_url)
    parsed = parse_input(
        Path(target), kind=kind, index_url=config.index_url, extra_index_urls=config.extra_index_urls
    )
    plan = plan_fetches(parsed, config, SimpleIndexClient(), all_artifacts=args.all_artifacts)
    for note in plan.notes:
        _note(note)
    not_scanned += plan.not_scanned
    with progress_bar(len(plan.requests), enabled=not args.quiet, verb="fetching") as advance:
        downloads = download_all(
            plan.requests, ArtifactCache(user_cache_dir()), on_done=lambda done: advance(done.request.label)
        )
    return [*plan.problems, *downloaded_refs(plan, downloads)]


@contextlib.contextmanager
def _result_cache() -> Iterator[ResultCache]:
    from depvet.artifacts.cache import user_cache_dir
    from depvet.resultcache import ResultCache

    with ResultCache(user_cache_dir() / "results.sqlite3") as cache:
        yield cache


def _cache(args: argparse.Namespace) -> int:
    from depvet.artifacts.cache import ArtifactCache, user_cache_dir

    root = user_cache_dir()
    artifacts = ArtifactCache(root)
    with _result_cache() as results:
        if args.action == "clear":
            files, removed = artifacts.count(), results.clear()
            artifacts.clear()
            print(f"removed {files} downloaded artifacts and {removed} scan results from {root}")
            return EXIT_OK
        current, total = results.count()
    print(f"cache: {root}")
    print(f"  downloaded artifacts: {artifacts.count()} ({artifacts.size_bytes() / 2**20:.1f} MiB)")
    print(f"  scan results: {current} for this version of the analysis, {total} in all")
    return EXIT_OK


def _note(message: str) -> None:
    print(f"depvet: note: {message}", file=sys.stderr)


def _render(
    results: list[ScanResult],
    output_format: OutputFormat,
    min_severity: Severity,
    output: Path | None,
    not_scanned: Sequence[NotScanned] = (),
) -> str:
    match output_format:
        case OutputFormat.JSON:
            from depvet.report import json_report

            return json_report.render(results, not_scanned)
        case OutputFormat.SARIF:
            from depvet.report import sarif

            return sarif.render(results)
        case OutputFormat.TERMINAL:
            from depvet.report import terminal

            color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
            return terminal.render(results, min_severity=min_severity, color=color or None)
        case _:
            assert_never(output_format)


def _write(text: str, output: Path | None) -> None:
    # File names read from archives may carry surrogate escapes of undecodable bytes.
    data = text.encode("utf-8", "backslashreplace")
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    directory = output.parent
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp_name).replace(output)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {exc.strerror}") from exc


def exit_code(results: Sequence[ScanResult], fail_on: FailOn) -> int:
    if any(r.verdict is Verdict.ERROR for r in results):
        return EXIT_ERROR
    if fail_on is FailOn.NEVER:
        return EXIT_OK
    threshold = Severity(fail_on.value).rank
    worst = max((f.severity.rank for r in results for f in r.findings), default=-1)
    return EXIT_FINDINGS if worst >= threshold else EXIT_OK


def _rules(args: argparse.Namespace) -> int:
    from depvet.report import rules_doc

    text = rules_doc.render(args.format, args.rule_id)
    sys.stdout.write(text)
    return EXIT_OK
