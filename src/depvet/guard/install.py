"""``depvet pip install ARGS…`` and ``depvet uv pip install ARGS…``: the install guard.

The installer resolves without running package code (wheels only, dry run); depvet judges each
release it picked (deny list, known-bad records, cooldown) before downloading anything, fetches
the exact files with their hashes checked, scans them, judges each file, and only then has the
installer install those files and nothing else. When the policy keeps a release out, the
resolver is asked again without it; when nothing passes, nothing is installed and the command
exits 1. See docs/install-guard.md.

``add_parsers`` registers the two commands on depvet's sub-parsers; ``run_pip`` and ``run_uv``
run them and return the exit code (0 installed or nothing to do, 1 blocked). Errors are
``DepvetError`` (one line; the CLI exits 2); an installer's own message is printed before.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from depvet.errors import UsageError

# The command line builds every parser at each start: only argparse is needed for that, so the
# guard's modules are imported when a command runs.
if TYPE_CHECKING:
    from depvet.advisories.store import AdvisoryStore
    from depvet.guard.installargs import InstallArgs, RequirementFacts, Tool
    from depvet.guard.installers import Installer, ResolutionFailed
    from depvet.guard.judge import Clock
    from depvet.guard.vetting import Outcome
    from depvet.policy import Policy
    from depvet.resultcache import ResultCache

EXIT_OK = 0
EXIT_BLOCKED = 1  # cli.EXIT_FINDINGS: something was kept out and nothing was installed


def add_parsers(subparsers: argparse._SubParsersAction[Any]) -> None:
    """``depvet pip [OPTIONS] install ARGS…`` and ``depvet uv [OPTIONS] pip install ARGS…``."""
    pip = subparsers.add_parser(
        "pip",
        help="pip install, after vetting every file it would install",
        description=(
            "Resolve with pip (dry run, wheels only), judge and scan every file it picked, then "
            "install exactly those files. ARGS are pip install's own (requirements, -r, -c, "
            "-i, --extra-index-url, --target, --upgrade …); options that would build code or "
            "skip verification are refused. Exit 0 installed, 1 blocked (nothing installed), 2 error."
        ),
    )
    _guard_options(pip, python_help="the target interpreter (default: $VIRTUAL_ENV's, else depvet's own)")
    pip_actions = pip.add_subparsers(dest="pip_action", required=True, parser_class=type(pip))
    _install_parser(pip_actions, "pip install's options and requirements")

    uv = subparsers.add_parser(
        "uv",
        help="uv pip install, after vetting every file it would install",
        description=(
            "Resolve with uv pip compile (pylock.toml, wheels only), judge and scan every file, "
            "then uv pip install exactly those files. ARGS are uv pip install's own. Exit 0 "
            "installed, 1 blocked (nothing installed), 2 error."
        ),
    )
    _guard_options(
        uv,
        python_help="the target interpreter (default: uv's -p/--python, $VIRTUAL_ENV, ./.venv)",
    )
    uv_tools = uv.add_subparsers(dest="uv_tool", required=True, parser_class=type(uv))
    uv_pip = uv_tools.add_parser("pip", help="uv's pip interface", description="uv's pip interface.")
    uv_actions = uv_pip.add_subparsers(dest="pip_action", required=True, parser_class=type(uv))
    _install_parser(uv_actions, "uv pip install's options and requirements")


def _guard_options(parser: argparse.ArgumentParser, *, python_help: str) -> None:
    parser.add_argument("--python", metavar="PY", help=python_help)
    parser.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="depvet.toml or pyproject.toml with [tool.depvet] (default: found from here up)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars, notes or summary")
    parser.add_argument("-j", "--jobs", type=int, default=0, help="scan processes (default: CPU count)")


def _install_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser], what: str) -> None:
    # Every word after "install" belongs to the installer: this parser knows no option at all.
    install = actions.add_parser(
        "install", help="vet, then install", description=f"ARGS: {what}.", add_help=False, prefix_chars="\0"
    )
    install.add_argument("install_args", nargs=argparse.REMAINDER, metavar="ARGS")


def run_pip(args: argparse.Namespace) -> int:
    from depvet.guard.installargs import Tool

    return run_guard(Tool.PIP, args)


def run_uv(args: argparse.Namespace) -> int:
    from depvet.guard.installargs import Tool

    return run_guard(Tool.UV, args)


def run_guard(tool: Tool, args: argparse.Namespace, *, clock: Clock | None = None) -> int:
    """One guarded install; ``clock`` is "now" for the cooldown (tests may fix it)."""
    from depvet.guard.installargs import check_install_args, parse_install_args
    from depvet.guard.judge import utc_now
    from depvet.policy import load_policy

    clock = clock or utc_now
    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    policy = load_policy(args.policy)
    install_args = parse_install_args(tool, args.install_args)
    facts = check_install_args(install_args, allow_sdists=policy.allow_sdists)
    installer = _installer(tool, args.python, install_args, policy.allow_sdists)
    if not args.quiet:
        _expired_exemptions(policy, clock)
    with (
        _advisory_store(quiet=args.quiet) as store,
        _result_cache() as results,
        tempfile.TemporaryDirectory(prefix="depvet-guard-") as workdir,
    ):
        outcome = _vet(installer, install_args, facts, policy, store, results, Path(workdir), args, clock)
        _report(outcome, tool, install_args, quiet=args.quiet)
        if not outcome.allowed:
            return EXIT_BLOCKED
        if install_args.dry_run or not outcome.verified:
            return EXIT_OK
        from depvet.guard.vetting import stage

        wheels = Path(workdir) / "verified"
        installer.install(install_args, stage(outcome.verified, wheels), wheels, Path(workdir))
    return EXIT_OK


def _vet(
    installer: Installer,
    install_args: InstallArgs,
    facts: RequirementFacts,
    policy: Policy,
    store: AdvisoryStore | None,
    results: ResultCache,
    workdir: Path,
    args: argparse.Namespace,
    clock: Clock,
) -> Outcome:
    from depvet.artifacts.cache import ArtifactCache
    from depvet.artifacts.simpleindex import SimpleIndexClient
    from depvet.guard.installers import GuardError, ResolutionFailed
    from depvet.guard.judge import Judge
    from depvet.guard.vetting import Guard, IndexListings
    from depvet.scanning import default_jobs
    from depvet.userdirs import user_cache_dir

    guard = Guard(
        installer=installer,
        judge=Judge(policy, store, clock),
        cache=ArtifactCache(user_cache_dir()),
        listings=IndexListings(SimpleIndexClient(), _indexes(install_args, facts)),
        jobs=args.jobs or default_jobs(),
        results=results,
        show_progress=not args.quiet,
    )
    try:
        return guard.vet(install_args, workdir)
    except ResolutionFailed as failure:
        from depvet.report.rules_doc import visible

        print(visible(failure.output, keep_newlines=True), file=sys.stderr)
        raise GuardError(f"{failure}: {_why_unresolved(failure, policy.allow_sdists)}") from None


def _why_unresolved(failure: ResolutionFailed, allow_sdists: bool) -> str:
    """The one depvet line under the installer's message."""
    output = failure.output.lower()
    no_file = (
        "no matching distribution" in output
        or "could not find a version" in output
        or "no usable wheels" in output
        or "has no wheels" in output
        or "building source distributions is disabled" in output
    )
    if no_file and not allow_sdists:
        return (
            "depvet resolves with wheels only (--only-binary :all:), since building an sdist runs "
            "its code: a project with no wheel for this interpreter cannot be installed through the "
            "guard unless the policy sets allow-sdists = true. Nothing was installed"
        )
    if "do not match the hashes" in output or "hash mismatch" in output:
        return (
            "a file differs from the sha256 its index lists (a tampered or broken mirror); "
            "nothing was installed"
        )
    return "its message is above; nothing was installed"


def _installer(
    tool: Tool, python_option: str | None, install_args: InstallArgs, allow_sdists: bool
) -> Installer:
    from depvet.guard.installargs import Tool
    from depvet.guard.installers import PipInstaller, UvInstaller, find_uv

    if tool is Tool.PIP:
        return PipInstaller(_pip_python(python_option, install_args), allow_sdists)
    uv = find_uv()
    return UvInstaller(uv, _uv_python(uv, python_option, install_args), allow_sdists)


def _one_python(python_option: str | None, install_args: InstallArgs) -> str | None:
    given = install_args.python
    if python_option and given and python_option != given:
        raise UsageError(f"--python {python_option} and {install_args.tool}'s --python {given} disagree")
    return python_option or given


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _pip_python(python_option: str | None, install_args: InstallArgs) -> Path:
    """--python, else the active virtual environment's, else the interpreter running depvet."""
    from depvet.guard.installers import check_python

    chosen = _one_python(python_option, install_args)
    if chosen:
        return check_python(chosen)
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        return check_python(str(_venv_python(Path(active))))
    return Path(sys.executable)


def _uv_python(uv: Path, python_option: str | None, install_args: InstallArgs) -> Path:
    """As ``uv pip install`` finds its target: --python, $VIRTUAL_ENV, .venv here or above, or
    with --system (or --target/--prefix) the first Python on PATH."""
    from depvet.guard.installers import check_python

    chosen = _one_python(python_option, install_args)
    if chosen:
        if Path(chosen).expanduser().is_file() or shutil.which(chosen):
            return check_python(chosen)
        return _uv_find(uv, chosen)  # a version request such as "3.12"
    active = os.environ.get("VIRTUAL_ENV")
    if active:
        return check_python(str(_venv_python(Path(active))))
    for folder in [Path.cwd(), *Path.cwd().parents]:
        candidate = _venv_python(folder / ".venv")
        if candidate.is_file():
            return candidate
    if install_args.has("--system") or install_args.has("--target") or install_args.has("--prefix"):
        found = shutil.which("python3") or shutil.which("python")
        if found:
            return Path(found)
    raise UsageError(
        "no virtual environment found for uv pip install: activate one, create .venv, or pass --python"
    )


def _uv_find(uv: Path, request: str) -> Path:
    import subprocess

    done = subprocess.run(
        [str(uv), "python", "find", request], capture_output=True, text=True, check=False, timeout=60
    )
    if done.returncode != 0 or not done.stdout.strip():
        raise UsageError(f"--python {request}: uv finds no such interpreter")
    return Path(done.stdout.strip().splitlines()[-1])


def _indexes(install_args: InstallArgs, facts: RequirementFacts) -> tuple[str, ...]:
    """The indexes the resolver may have taken files from, to find each file's upload time."""
    from depvet.artifacts.indexconfig import resolve_index_config
    from depvet.guard.installargs import Tool

    if facts.no_index:
        return ()
    if install_args.tool is Tool.PIP:
        primary = [*install_args.values("--index-url"), *facts.index_urls]
        extra = [*install_args.values("--extra-index-url"), *facts.extra_index_urls]
    else:
        primary = [*install_args.values("--default-index"), *install_args.values("--index-url")]
        extra = [
            *(_uv_index_url(v) for v in install_args.values("--index")),
            *install_args.values("--extra-index-url"),
            *facts.index_urls,
            *facts.extra_index_urls,
        ]
    config = resolve_index_config(primary[-1] if primary else None, extra)
    return (config.index_url, *config.extra_index_urls)


def _uv_index_url(value: str) -> str:
    """uv's ``--index name=URL``: the URL (a name holds no ':')."""
    name, sep, url = value.partition("=")
    return url if sep and ":" not in name else value


def _report(outcome: Outcome, tool: Tool, install_args: InstallArgs, *, quiet: bool) -> None:
    from depvet.guard import guard_report

    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    text = guard_report.render(outcome, tool, dry_run=install_args.dry_run, quiet=quiet, color=color or None)
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


def _expired_exemptions(policy: Policy, clock: Clock) -> None:
    for exemption in policy.expired_exemptions(clock().date()):
        _note(
            f"the exemption for {exemption.requirement} expired on {exemption.expires}: no longer applied "
            f"({policy.source})"
        )


def _note(message: str) -> None:
    print(f"depvet: note: {message}", file=sys.stderr)


@contextlib.contextmanager
def _advisory_store(*, quiet: bool) -> Iterator[AdvisoryStore | None]:
    from depvet.advisories.store import readonly_store

    with readonly_store(None if quiet else _note) as store:
        yield store


@contextlib.contextmanager
def _result_cache() -> Iterator[ResultCache]:
    from depvet.resultcache import ResultCache
    from depvet.userdirs import user_cache_dir

    with ResultCache(user_cache_dir() / "results.sqlite3") as cache:
        yield cache
