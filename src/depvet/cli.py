"""Command line: parse, call the library, map errors to messages and exit codes in one place.

Exit codes: 0 nothing at or above ``--fail-on``; 1 something is; 2 usage, input or internal
error (including any target that could not be scanned).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import io
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, assert_never

from depvet import __version__
from depvet.errors import DepvetError, InputError, UsageError
from depvet.model import NotScanned, ScanResult, Severity, Verdict

if TYPE_CHECKING:
    from depvet.advisories.store import AdvisoryStore
    from depvet.artifacts.targets import ArtifactRef
    from depvet.checking import CheckOptions, Release, UploadTimes
    from depvet.diff.model import ReleaseDiff
    from depvet.inputs import ParsedInput
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
    _add_report_options(scan, quiet_help="no progress bar")
    scan.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: CPU count)")
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
    inputs.add_argument(
        "--baseline",
        metavar="OLD_LOCK",
        help="scan only the pins that are new or changed since OLD_LOCK, and diff each changed one "
        "against its previous release (a pull request's dependency bump)",
    )

    _add_check_options(scan)

    check = sub.add_parser(
        "check",
        help="are the releases a lock or environment names known-bad? (offline, no downloads)",
        description=(
            "Check every release that lockfiles, requirements, SBOMs, environments or artifact file "
            "names pin against the known-bad database, and optionally a cooldown and the name check. "
            "Nothing is downloaded; only --min-age asks the index for upload times the lock lacks."
        ),
    )
    check.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="uv.lock, pylock.toml, poetry.lock, Pipfile.lock, requirements, CycloneDX SBOM, venv, "
        "site-packages, a project directory (its lock), a wheel or sdist file name",
    )
    _add_report_options(check, quiet_help="no progress or notes")
    check.add_argument(
        "--input-type", choices=[k.value for k in _input_kinds()], help="the format, when not detected"
    )
    check.add_argument(
        "--env", action="store_true", help="also check the environment of the Python running depvet"
    )
    check.add_argument(
        "-i", "--index-url", metavar="URL", help="the index asked for upload times (--min-age)"
    )
    _add_check_options(check)

    diff = sub.add_parser(
        "diff",
        help="compare two releases: did the update turn the package bad?",
        description=(
            "Compare two releases of a package: files, functions, capabilities, detector findings, "
            "URLs, metadata, dependencies and, from the index, upload times and PEP 740 provenance. "
            "Verdict: tainted-update-suspected or ordinary. Give OLD NEW (wheels, sdists or "
            "directories), NAME OLD_VERSION NEW_VERSION (fetched from the index), or with --locks "
            "two lockfiles ('-' reads one from stdin: "
            "git show HEAD~1:uv.lock | depvet diff --locks - uv.lock)."
        ),
    )
    diff.add_argument("operands", nargs="+", metavar="ARG", help="OLD NEW, or NAME OLD_VERSION NEW_VERSION")
    diff.add_argument(
        "--locks", action="store_true", help="OLD and NEW are lockfiles: diff every changed pin"
    )
    diff.add_argument(
        "--artifact",
        choices=["auto", "wheel", "sdist", "all"],
        default="auto",
        help="which files of releases fetched from the index to compare (default: the wheel this "
        "machine would install, else the sdist; all: the sdists and every wheel both have)",
    )
    diff.add_argument(
        "--format", choices=[f.value for f in OutputFormat], default=OutputFormat.TERMINAL.value
    )
    diff.add_argument("-o", "--output", metavar="FILE", type=Path, help="write the report to FILE")
    diff.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")
    diff.add_argument(
        "--details",
        action="store_true",
        help="terminal: files, functions, capabilities, metadata of every diff",
    )
    diff.add_argument(
        "-i",
        "--index-url",
        metavar="URL",
        help="the package index (as pip's --index-url); with two local files, also asked about "
        "new dependencies",
    )
    diff.add_argument(
        "--extra-index-url", metavar="URL", action="append", default=[], help="more indexes (repeatable)"
    )
    diff.add_argument(
        "--input-type",
        choices=[k.value for k in _input_kinds()],
        help="--locks: the format, when not detected",
    )
    diff.add_argument("-j", "--jobs", type=int, default=0, help="worker processes (default: CPU count)")

    db = sub.add_parser(
        "db",
        help="update or describe the known-bad and vulnerability database",
        description="The advisory database (OSV records) that check and scan match releases against.",
    )
    db_sub = db.add_subparsers(dest="db_command", required=True, parser_class=_Parser)
    update = db_sub.add_parser(
        "update",
        help="import OSV records (incremental, atomic)",
        description="Import the PyPI records of an OSV export zip, a directory of OSV JSON files "
        "(such as a checkout of ossf/malicious-packages) or a URL. Only changed records are written; "
        "a failed import leaves the database as it was.",
    )
    update.add_argument(
        "--from",
        dest="source",
        metavar="SOURCE",
        help="zip, directory, .json file or URL (default: OSV's PyPI export)",
    )
    update.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    info = db_sub.add_parser("info", help="counts and freshness", description="Counts and freshness.")
    info.add_argument("--format", choices=["terminal", "json"], default="terminal")

    cache = sub.add_parser(
        "cache", help="show or clear the download and results cache", description="The cache."
    )
    cache.add_argument("action", choices=["info", "clear"])

    policy = sub.add_parser(
        "policy",
        help="show the install policy in effect",
        description="The policy of the install guard and the proxy: depvet.toml or [tool.depvet] of "
        "pyproject.toml, found from the working directory up, else the defaults. See docs/policy.md.",
    )
    policy.add_argument("--policy", metavar="FILE", type=Path, help="read this policy file")
    policy.add_argument(
        "--format",
        choices=["terminal", "json", "markdown"],
        default="terminal",
        help="markdown: the policy reference (docs/policy.md)",
    )

    from depvet.guard.install import add_parsers as add_install_guard_parsers

    add_install_guard_parsers(sub)
    from depvet.guard import proxy_cli

    proxy_cli.add_parser(sub)

    hunt = sub.add_parser(
        "hunt",
        help="find compromised installs and indicators; list the secrets to rotate",
        description="Search the home, every Python environment and the pip, uv and poetry caches (or the "
        "PATHS given: folders, venvs, site-packages, docker save tarballs, OCI layouts) for releases "
        "recorded as malicious, start-up code, tampered files and indicators of compromise; list the "
        "secrets a payload running as this user could read (paths only) and what to rotate. Exit 1 "
        "when something is found.",
    )
    hunt.add_argument(
        "paths", nargs="*", metavar="PATH", type=Path, help="where to search instead of the defaults"
    )
    hunt.add_argument(
        "--home",
        type=Path,
        help="the home to search instead of the current user's (then neither this interpreter's "
        "environment nor this process's variables are part of the search)",
    )
    hunt.add_argument(
        "--system-root",
        type=Path,
        default=Path("/"),
        help="where /etc, /var/spool/cron and /tmp are (a mounted disk image; default: /)",
    )
    hunt.add_argument(
        "--iocs",
        metavar="FILE",
        type=Path,
        action="append",
        default=[],
        help="more indicators (same TOML shape)",
    )
    hunt.add_argument("--format", choices=["terminal", "json", "html"], default="terminal")
    hunt.add_argument("-o", "--output", metavar="FILE", type=Path, help="write the report to FILE")
    hunt.add_argument("-q", "--quiet", action="store_true", help="no progress bar or notes")

    rules = sub.add_parser("rules", help="list the rules, or show one", description="The rule registry.")
    rules.add_argument("rule_id", nargs="?", help="a rule id such as DV101")
    rules.add_argument("--format", choices=["terminal", "json", "markdown"], default="terminal")
    return parser


def _add_report_options(parser: argparse.ArgumentParser, *, quiet_help: str) -> None:
    """What scan and check share: more targets from a file, the report and the exit code."""
    parser.add_argument(
        "--from-file",
        metavar="LIST",
        type=Path,
        help="read more targets from LIST, one per line ('-' for stdin)",
    )
    parser.add_argument(
        "--format", choices=[f.value for f in OutputFormat], default=OutputFormat.TERMINAL.value
    )
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, help="write the report to FILE")
    parser.add_argument(
        "--fail-on",
        choices=[f.value for f in FailOn],
        default=FailOn.HIGH.value,
        help="exit 1 when a finding is at least this severe (default: high)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)
    parser.add_argument(
        "--min-severity",
        choices=[s.value for s in Severity],
        default=Severity.LOW.value,
        help="lowest severity listed in the terminal report (default: low)",
    )


def _add_check_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "known-bad, cooldown and names",
        "Releases are matched against the curated tainted releases shipped with depvet and the "
        "OSV records imported by 'depvet db update'.",
    )
    group.add_argument(
        "--vulns", action="store_true", help="also report known vulnerabilities (as pip-audit does)"
    )
    group.add_argument(
        "--min-age",
        metavar="AGE",
        help="report releases uploaded less than AGE ago (7d, 36h, 2w): a cooldown",
    )
    group.add_argument(
        "--as-of",
        metavar="TIME",
        help="evaluate --min-age at this date or RFC 3339 time instead of now (replay an incident)",
    )
    group.add_argument(
        "--no-name-check",
        action="store_true",
        help="do not report names one step from a popular project's",
    )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        command = _COMMANDS.get(args.command)
        if command is None:
            raise UsageError(f"unknown command {args.command!r}")
        return command(args)
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


def _pip(args: argparse.Namespace) -> int:
    from depvet.guard.install import run_pip

    return run_pip(args)


def _uv(args: argparse.Namespace) -> int:
    from depvet.guard.install import run_uv

    return run_uv(args)


def _proxy(args: argparse.Namespace) -> int:
    from depvet.guard import proxy_cli

    return proxy_cli.run(args)


def _hunt(args: argparse.Namespace) -> int:
    from depvet.hunt.iocs import load_iocs
    from depvet.hunt.run import HuntRequest, hunt, plan_hunt
    from depvet.report.progress import progress_bar

    for path in [*args.paths, *([args.home] if args.home else [])]:
        if not path.exists():
            # A hunt that could not look where it was asked must not read as "nothing found".
            raise InputError(f"{path}: no such file or directory")
    iocs = load_iocs(args.iocs)
    # Another home (a mounted disk, a colleague's account) is searched on its own: this process's
    # interpreter, environment variables and tool settings belong to the current user.
    own = args.home is None
    request = HuntRequest(
        paths=tuple(args.paths),
        home=args.home or Path.home(),
        system_root=args.system_root,
        env=dict(os.environ) if own else {},
        include_interpreter=own,
    )
    plan = plan_hunt(request)
    with (
        _advisory_store(quiet=args.quiet) as store,
        progress_bar(plan.steps, enabled=not args.quiet, verb="hunting") as advance,
    ):
        report = hunt(request, iocs, store, plan=plan, progress=advance)
    if args.format == "json":
        from depvet.report.hunt_json import hunt_json

        _write(hunt_json(report), args.output)
    elif args.format == "html":
        from depvet.report.hunt_html import hunt_html

        _write(hunt_html(report), args.output)
    else:
        from depvet.report.hunt_terminal import render_hunt

        if args.output is not None:
            buffer = io.StringIO()
            render_hunt(report, buffer, color=False)
            _write(buffer.getvalue(), args.output)
        else:
            render_hunt(report, sys.stdout)
    named = {str(p) for p in args.paths}
    unread = [s for s in report.skipped if s.path in named]
    for item in unread:
        _error(f"{item.path}: {item.reason}")
    if unread:
        # A named image or folder that could not be read is not a clean result.
        return EXIT_ERROR
    return EXIT_FINDINGS if report.compromised else EXIT_OK


def entry() -> NoReturn:
    sys.exit(main())


def _policy(args: argparse.Namespace) -> int:
    from depvet.policy import load_policy
    from depvet.report import policy_report

    if args.format == "markdown":
        sys.stdout.write(policy_report.policy_markdown())
        return EXIT_OK
    policy = load_policy(args.policy)
    if args.format == "json":
        sys.stdout.write(policy_report.policy_json(policy))
        return EXIT_OK
    from depvet.report.styles import report_console

    report_console(sys.stdout, width=None, color=None).print(policy_report.policy_table(policy))
    for exemption in policy.expired_exemptions():
        _note(f"exemption for {exemption.requirement} expired on {exemption.expires}: it lifts nothing")
    return EXIT_OK


def _error(message: str) -> None:
    print(f"depvet: error: {message}", file=sys.stderr)


def _targets(args: argparse.Namespace) -> list[str]:
    """The command's TARGETs, those of --from-file, and with --env the running environment."""
    targets = list(args.targets)
    if args.from_file is not None:
        targets += _read_target_list(args.from_file)
    if args.env:
        targets.append(sys.prefix)
    if not targets:
        raise UsageError(f"{args.command} needs at least one TARGET, --from-file LIST or --env")
    return targets


def _read_target_list(path: Path) -> list[str]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read --from-file {path}: {exc.strerror}") from exc
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _scan(args: argparse.Namespace) -> int:
    from depvet.checking import with_check_findings
    from depvet.scanning import default_jobs, expand_targets, scan_all

    targets = _targets(args)
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    jobs = args.jobs or default_jobs()
    output_format = OutputFormat(args.format)
    options = _check_options(args)
    baseline = _baseline(args)
    updates: list[tuple[str, str, str, str | None]] = []
    with _advisory_store(quiet=args.quiet) as store:
        items: list[ArtifactRef | ScanResult] = []
        not_scanned: list[NotScanned] = []
        from_inputs: dict[tuple[str, str, str], Release] = {}
        for target in targets if args.source else map(_project_lock, targets):
            if _is_input(target):
                items += _input_items(target, args, not_scanned, store, from_inputs, baseline, updates)
            else:
                items += expand_targets([target])
        from depvet.report.progress import progress_reporter

        with progress_reporter(total=len(items), enabled=not args.quiet) as on_result:
            if args.no_cache:
                results = scan_all(items, jobs=jobs, on_result=on_result)
            else:
                with _result_cache() as cache:
                    results = scan_all(items, jobs=jobs, on_result=on_result, cache=cache)
        results, age_unknown = with_check_findings(
            results, store, options, from_inputs, upload_times=_upload_times(args)
        )
    not_scanned += age_unknown
    diffs = _baseline_diffs(args, updates) if baseline is not None else None
    text = _render(results, output_format, Severity(args.min_severity), args.output, not_scanned, diffs=diffs)
    _write(text, args.output)
    for result in results:
        if result.verdict is Verdict.ERROR:
            error = result.error or "could not be scanned"
            _error(error if error.startswith(result.target) else f"{result.target}: {error}")
    code = exit_code(results, FailOn(args.fail_on))
    return code if diffs is None else max(code, _diff_exit_code(diffs))


def _baseline(args: argparse.Namespace) -> ParsedInput | None:
    """The lock of --baseline, parsed (no resolution: it must pin releases)."""
    if args.baseline is None:
        return None
    from depvet.inputs import InputKind, parse_input

    kind = InputKind(args.input_type) if args.input_type else None
    return parse_input(Path(args.baseline), kind=kind, resolve=False)


def _baseline_diffs(
    args: argparse.Namespace, updates: list[tuple[str, str, str, str | None]]
) -> list[ReleaseDiff]:
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.diff.fetch import ArtifactChoice
    from depvet.diffing import DiffRequest, diff_updates
    from depvet.scanning import default_jobs

    if not updates:
        return []
    request = DiffRequest(
        operands=(),
        choice=ArtifactChoice.AUTO,
        config=resolve_index_config(args.index_url, args.extra_index_url),
        workers=args.jobs or default_jobs(),
    )
    return diff_updates(updates, request, not args.quiet, args.baseline).diffs


def _diff_exit_code(diffs: Sequence[ReleaseDiff]) -> int:
    from depvet.diff.model import DiffVerdict

    if any(d.verdict is DiffVerdict.ERROR for d in diffs):
        return EXIT_ERROR
    return EXIT_FINDINGS if any(d.verdict is DiffVerdict.TAINTED for d in diffs) else EXIT_OK


def _check(args: argparse.Namespace) -> int:
    from depvet.checking import check_releases

    targets = _targets(args)
    options = _check_options(args)
    releases: list[Release] = []
    not_checked: list[NotScanned] = []
    for target in map(_project_lock, targets):
        found, skipped = _releases_of(target, args)
        releases += found
        not_checked += skipped
    with _advisory_store(quiet=args.quiet) as store:
        results, unknown_age = check_releases(releases, store, options, upload_times=_upload_times(args))
    not_checked += unknown_age
    text = _render(
        results,
        OutputFormat(args.format),
        Severity(args.min_severity),
        args.output,
        not_checked,
        verb="checked",
    )
    _write(text, args.output)
    if not args.quiet:
        for item in not_checked:
            where = f"{item.input_path}:{item.line}" if item.line else item.input_path
            _note(f"{where}: {item.requirement}: {item.reason}: not checked")
    return exit_code(results, FailOn(args.fail_on))


def _diff(args: argparse.Namespace) -> int:
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.diff.fetch import ArtifactChoice
    from depvet.diffing import DiffRequest, run_diffs
    from depvet.scanning import default_jobs

    operands = list(args.operands)
    if args.locks and len(operands) != 2:
        raise UsageError("diff --locks takes two lockfiles: OLD_LOCK NEW_LOCK")
    if not args.locks and len(operands) not in (2, 3):
        raise UsageError("diff takes OLD NEW (two artifacts) or NAME OLD_VERSION NEW_VERSION")
    if operands.count("-") > 1:
        raise UsageError("only one of the two locks can be read from stdin ('-')")
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    request = DiffRequest(
        operands=tuple(operands),
        locks=args.locks,
        choice=ArtifactChoice(args.artifact),
        config=resolve_index_config(args.index_url, args.extra_index_url),
        explicit_index=args.index_url is not None,
        input_type=args.input_type,
        workers=args.jobs or default_jobs(),
    )
    outcome = run_diffs(request, show_progress=not args.quiet)
    if not args.quiet:
        for note in outcome.notes:
            _note(note)
    output_format = OutputFormat(args.format)
    from depvet.report import diff_report

    match output_format:
        case OutputFormat.JSON:
            text = diff_report.render_json(outcome.diffs, outcome.lock_changes)
        case OutputFormat.SARIF:
            text = diff_report.render_sarif(outcome.diffs)
        case OutputFormat.TERMINAL:
            color = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
            text = diff_report.render_terminal(
                outcome.diffs, outcome.lock_changes, details=args.details, color=color or None
            )
        case _:
            assert_never(output_format)
    _write(text, args.output)
    for diff in outcome.diffs:
        if diff.error is not None:
            _error(f"{diff.new.target}: {diff.error}")
    return _diff_exit_code(outcome.diffs)


def _check_options(args: argparse.Namespace) -> CheckOptions:
    from depvet.checking import CheckOptions, parse_duration, parse_time

    if args.as_of is not None and args.min_age is None:
        raise UsageError("--as-of only applies with --min-age")
    return CheckOptions(
        vulnerabilities=args.vulns,
        min_age=parse_duration(args.min_age) if args.min_age is not None else None,
        as_of=parse_time(args.as_of) if args.as_of is not None else None,
        name_risk=not args.no_name_check,
    )


def _upload_times(args: argparse.Namespace) -> UploadTimes:
    """Upload times the lock lacks, from its own index, else --index-url, else pip's and uv's."""
    from depvet.checking import index_upload_times

    index_url: str | None = getattr(args, "index_url", None)
    return lambda releases: index_upload_times(releases, index_url)


def _releases_of(target: str, args: argparse.Namespace) -> tuple[list[Release], list[NotScanned]]:
    from depvet.checking import release_of_artifact, releases_of_environment, releases_of_input

    path = Path(target)
    if _is_input(target):
        from depvet.inputs import InputKind, parse_input

        kind = InputKind(args.input_type) if args.input_type else None
        return releases_of_input(parse_input(path, kind=kind, resolve=False))
    if path.is_dir():
        from depvet.artifacts.installed import is_environment

        if is_environment(path):
            return releases_of_environment(path)
        raise InputError(f"{target}: neither an environment nor a project with a lockfile")
    if path.is_file():
        release = release_of_artifact(path)
        if release is None:
            raise InputError(f"{target}: not a lockfile, requirements file, SBOM, wheel or sdist")
        return [release], []
    raise InputError(f"{target}: no such file or directory")


@contextlib.contextmanager
def _advisory_store(*, quiet: bool) -> Iterator[AdvisoryStore | None]:
    from depvet.advisories.store import readonly_store

    with readonly_store(None if quiet else _note) as store:
        yield store


def _db(args: argparse.Namespace) -> int:
    from depvet.advisories.store import AdvisoryStore, default_db_path

    if args.db_command == "info":
        with AdvisoryStore(default_db_path(), readonly=True) as store:
            info = store.info()
        from depvet.advisories.curated import curated_advisories
        from depvet.report.dbinfo import render_info

        sys.stdout.write(render_info(info, len(curated_advisories()), args.format))
        return EXIT_OK
    from depvet.advisories.importer import OSV_PYPI_EXPORT, import_osv
    from depvet.report.dbinfo import render_import

    source = args.source or OSV_PYPI_EXPORT
    with AdvisoryStore(default_db_path()) as store, _import_progress(not args.quiet) as on_record:
        report = import_osv(store, source, on_record=on_record)
        info = store.info()
    sys.stdout.write(render_import(report, info))
    return EXIT_OK


@contextlib.contextmanager
def _import_progress(enabled: bool) -> Iterator[Callable[[int, int | None], None] | None]:
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def advance(done: int, total: int | None) -> None:
            if done % 500 == 0 or done == total:
                progress.update(task, completed=done, total=total)

        yield advance


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
    from depvet.artifacts.kinds import artifact_kind_of

    return artifact_kind_of(path.name) is None


def _input_items(
    target: str,
    args: argparse.Namespace,
    not_scanned: list[NotScanned],
    store: AdvisoryStore | None,
    from_inputs: dict[tuple[str, str, str], Release],
    baseline: ParsedInput | None = None,
    updates: list[tuple[str, str, str, str | None]] | None = None,
) -> list[ArtifactRef | ScanResult]:
    """The pinned releases of a lockfile, fetched (or found in the cache) and ready to scan.

    With a ``baseline`` lock, only pins it does not have; the changed ones go to ``updates``.

    A release already known to be malicious is not fetched: its result is the check's, and
    the index has usually removed it anyway.
    """
    from packaging.utils import canonicalize_name

    from depvet.artifacts.cache import ArtifactCache
    from depvet.artifacts.download import download_all
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.artifacts.simpleindex import SimpleIndexClient
    from depvet.checking import CheckOptions, check_releases, input_release_key, releases_of_input
    from depvet.inputs import InputKind, parse_input
    from depvet.lockscan import downloaded_refs, plan_fetches
    from depvet.report.progress import progress_bar
    from depvet.userdirs import user_cache_dir

    kind = InputKind(args.input_type) if args.input_type else None
    config = resolve_index_config(args.index_url, args.extra_index_url)
    parsed = parse_input(
        Path(target), kind=kind, index_url=config.index_url, extra_index_urls=config.extra_index_urls
    )
    if baseline is not None:
        parsed = _since_baseline(parsed, baseline, updates)
    releases, _ = releases_of_input(parsed)
    from_inputs.update((input_release_key(r), r) for r in releases)
    known_bad, _ = check_releases(releases, store, CheckOptions(name_risk=False))
    bad = [r for r in known_bad if r.findings]
    skip = {(canonicalize_name(r.name or ""), r.version) for r in bad}
    parsed = dataclasses.replace(
        parsed,
        packages=tuple(p for p in parsed.packages if (p.normalized_name, p.version) not in skip),
    )
    plan = plan_fetches(parsed, config, SimpleIndexClient(), all_artifacts=args.all_artifacts)
    for note in plan.notes:
        _note(note)
    not_scanned += plan.not_scanned
    with progress_bar(len(plan.requests), enabled=not args.quiet, verb="fetching") as advance:
        downloads = download_all(
            plan.requests, ArtifactCache(user_cache_dir()), on_done=lambda done: advance(done.request.label)
        )
    return [*bad, *plan.problems, *downloaded_refs(plan, downloads)]


def _since_baseline(
    parsed: ParsedInput, baseline: ParsedInput, updates: list[tuple[str, str, str, str | None]] | None
) -> ParsedInput:
    from packaging.utils import canonicalize_name

    from depvet.diff.locks import lock_delta

    delta = lock_delta(baseline, parsed)
    if updates is not None:
        updates += [(c.name, c.old_version, c.new_version, c.index_url) for c in delta.changed]
    fresh = {(p.normalized_name, p.version) for p in delta.added}
    fresh |= {(canonicalize_name(c.name), c.new_version) for c in delta.changed}
    _note(
        f"{parsed.path}: {len(delta.changed)} changed and {len(delta.added)} new pins since "
        f"{baseline.path} ({delta.unchanged} unchanged, not scanned)"
    )
    kept = tuple(p for p in parsed.packages if (p.normalized_name, p.version) in fresh)
    return dataclasses.replace(parsed, packages=kept, unpinned=())


@contextlib.contextmanager
def _result_cache() -> Iterator[ResultCache]:
    from depvet.resultcache import ResultCache
    from depvet.userdirs import user_cache_dir

    with ResultCache(user_cache_dir() / "results.sqlite3") as cache:
        yield cache


def _cache(args: argparse.Namespace) -> int:
    from depvet.artifacts.cache import ArtifactCache
    from depvet.userdirs import user_cache_dir

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
    *,
    verb: str = "scanned",
    diffs: Sequence[ReleaseDiff] | None = None,
) -> str:
    """The report; ``diffs`` (scan --baseline) are added after the results in every format."""
    match output_format:
        case OutputFormat.JSON:
            from depvet.report import json_report

            text = json_report.render(results, not_scanned)
            if diffs is None:
                return text
            from depvet.report import diff_report

            document = json.loads(text)
            document["diffs"] = diff_report.diff_document(diffs)["diffs"]
            return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
        case OutputFormat.SARIF:
            from depvet.report import sarif

            extra: list[ScanResult] = []
            if diffs:
                from depvet.report import diff_report

                extra = diff_report.as_scan_results(diffs)
            return sarif.render([*results, *extra], not_scanned=not_scanned)
        case OutputFormat.TERMINAL:
            from depvet.report import terminal

            color = output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
            text = terminal.render(
                results,
                min_severity=min_severity,
                color=color or None,
                verb=verb,
                show_clean=verb == "scanned",
            )
            if diffs:
                from depvet.report import diff_report

                text += "\n" + diff_report.render_terminal(diffs, color=color or None)
            return text
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


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "scan": _scan,
    "check": _check,
    "diff": _diff,
    "db": _db,
    "cache": _cache,
    "policy": _policy,
    "pip": _pip,
    "uv": _uv,
    "proxy": _proxy,
    "hunt": _hunt,
    "rules": _rules,
}
