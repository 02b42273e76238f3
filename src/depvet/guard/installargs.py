"""What the user typed after ``depvet pip install`` or ``depvet uv pip install``.

Every option of ``pip install`` and ``uv pip install`` is listed here with its role: does it
steer the resolution (which releases, from where), the final install (where and how the
verified files land), both, or does the guard refuse it. An option that is not listed is
refused too: the guard cannot tell whether an unknown option would make the installer fetch,
build or install something it did not verify, so it does not guess.

Nothing here runs an installer. Requirement files are read (never executed) to refuse what
would make the resolver build code: editables, directories, VCS checkouts, source archives
when sdists are not allowed, and pip's ``--no-binary`` lines that would undo
``--only-binary :all:``.
"""

from __future__ import annotations

import enum
import shlex
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from depvet.errors import InputError, UsageError
from depvet.inputs._common import read_text, shorten
from depvet.inputs._pip_lines import logical_lines
from depvet.inputs._pip_requirement import VCS_PREFIXES, is_url, looks_like_path

SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
# How deep ``-r`` files may include each other before the guard gives up reading them.
MAX_INCLUDE_DEPTH = 20


class Tool(enum.StrEnum):
    PIP = "pip"
    UV = "uv"


class Role(enum.Enum):
    RESOLVE = "resolve"  # only the resolution: what to install and from where
    INSTALL = "install"  # only the final install of the verified files
    BOTH = "both"  # both runs of the installer
    REFUSE = "refuse"  # the guard will not run with it
    PYTHON = "python"  # the target interpreter: the guard passes it itself
    DRY_RUN = "dry-run"  # vet, report, install nothing
    REQUIREMENTS = "requirements"  # a requirements file: read by the guard, then resolved
    CONSTRAINTS = "constraints"  # a constraints file: read by the guard, then resolved
    NO_BINARY = "no-binary"  # builds sdists: refused unless the policy allows sdists
    NO_BUILD = "no-build"  # uv: what the guard passes anyway when sdists are not allowed
    CUTOFF = "cutoff"  # the user's own upload-time cutoff: the guard then adds none


@dataclass(frozen=True, slots=True)
class Option:
    names: tuple[str, ...]  # the long name first: what the guard passes on
    takes_value: bool
    role: Role
    why: str = ""  # for a refused option: one line the user reads

    @property
    def name(self) -> str:
        return self.names[0]


_EDITABLE = (
    "an editable install links a source tree that the guard cannot verify as a file: install "
    "its dependencies through the guard, then the project itself with --no-deps"
)
_HELP = "the guard's own options are in 'depvet pip --help'; the installer's in its own --help"


def _opts(role: Role, takes_value: bool, *groups: tuple[str, ...], why: str = "") -> list[Option]:
    return [Option(names, takes_value, role, why) for names in groups]


# pip install 23.x to 26.x: the install options, the index options and the general options.
PIP_OPTIONS: tuple[Option, ...] = (
    *_opts(Role.REQUIREMENTS, True, ("--requirement", "-r")),
    *_opts(Role.CONSTRAINTS, True, ("--constraint", "-c")),
    *_opts(Role.DRY_RUN, False, ("--dry-run",)),
    *_opts(Role.PYTHON, True, ("--python",)),
    *_opts(Role.NO_BINARY, True, ("--no-binary",)),
    *_opts(Role.CUTOFF, True, ("--uploaded-prior-to",)),
    *_opts(Role.REFUSE, True, ("--editable", "-e"), why=_EDITABLE),
    *_opts(
        Role.REFUSE,
        True,
        ("--report",),
        why="the guard writes pip's report itself; 'depvet pip install --dry-run' vets without installing",
    ),
    *_opts(Role.REFUSE, False, ("--help", "-h"), why=_HELP),
    *_opts(Role.REFUSE, False, ("--version", "-V"), why="not an install: run pip --version"),
    *_opts(
        Role.RESOLVE,
        False,
        ("--no-deps",),
        ("--pre",),
        ("--prefer-binary",),
        ("--require-hashes",),
        ("--no-index",),
    ),
    *_opts(
        Role.RESOLVE,
        True,
        ("--src",),
        ("--upgrade-strategy",),
        ("--group",),
        ("--all-releases",),
        ("--only-final",),
        ("--requirements-from-script",),
        ("--resume-retries",),
        ("--index-url", "-i"),
        ("--extra-index-url",),
        ("--find-links", "-f"),
        ("--keyring-provider",),
        ("--proxy",),
        ("--retries",),
        ("--timeout",),
        ("--trusted-host",),
        ("--cert",),
        ("--client-cert",),
    ),
    *_opts(
        Role.BOTH,
        True,
        ("--target", "-t"),
        ("--platform",),
        ("--python-version",),
        ("--implementation",),
        ("--abi",),
        ("--prefix",),
        ("--config-settings", "-C"),
        ("--global-option",),
        ("--build-option",),
        ("--build-constraint",),
        ("--only-binary",),
        ("--root-user-action",),
        ("--log",),
        ("--exists-action",),
        ("--cache-dir",),
        ("--use-feature",),
        ("--use-deprecated",),
    ),
    *_opts(
        Role.BOTH,
        False,
        ("--user",),
        ("--upgrade", "-U"),
        ("--force-reinstall",),
        ("--ignore-installed", "-I"),
        ("--ignore-requires-python",),
        ("--no-build-isolation",),
        ("--use-pep517",),
        ("--no-use-pep517",),
        ("--check-build-dependencies",),
        ("--break-system-packages",),
        ("--no-clean",),
        ("--debug",),
        ("--isolated",),
        ("--require-virtualenv",),
        ("--no-input",),
        ("--no-cache-dir",),
        ("--disable-pip-version-check",),
        ("--no-color",),
        ("--no-python-version-warning",),
    ),
    *_opts(Role.INSTALL, True, ("--root",), ("--progress-bar",)),
    *_opts(
        Role.INSTALL,
        False,
        ("--compile",),
        ("--no-compile",),
        ("--no-warn-script-location",),
        ("--no-warn-conflicts",),
        ("--verbose", "-v"),
        ("--quiet", "-q"),
    ),
)

# uv pip install 0.13.
UV_OPTIONS: tuple[Option, ...] = (
    *_opts(Role.REQUIREMENTS, True, ("--requirements", "--requirement", "-r")),
    *_opts(Role.CONSTRAINTS, True, ("--constraints", "--constraint", "-c")),
    *_opts(Role.DRY_RUN, False, ("--dry-run",)),
    *_opts(Role.PYTHON, True, ("--python", "-p")),
    *_opts(Role.NO_BINARY, True, ("--no-binary",)),
    *_opts(Role.NO_BUILD, False, ("--no-build",)),
    *_opts(Role.CUTOFF, True, ("--exclude-newer",)),
    *_opts(Role.REFUSE, True, ("--editable", "-e"), why=_EDITABLE),
    *_opts(
        Role.REFUSE,
        False,
        ("--no-verify-hashes",),
        why="it turns off the hash checks that make the installer take only the verified files",
    ),
    *_opts(
        Role.REFUSE,
        True,
        ("--python-version",),
        ("--python-platform",),
        why="the guard picks each package's wheel for the target interpreter; resolving for "
        "another Python or platform is not supported",
    ),
    *_opts(
        Role.REFUSE,
        False,
        ("--exact",),
        why="an exact sync would remove every package the resolution does not name",
    ),
    *_opts(Role.REFUSE, False, ("--check",), why="not an install: run uv pip install --check"),
    *_opts(
        Role.REFUSE,
        True,
        ("--output-format",),
        why="the guard reads the resolution itself; 'depvet uv pip install --dry-run' reports it",
    ),
    *_opts(
        Role.REFUSE,
        True,
        ("--directory",),
        ("--project",),
        why="change to that directory first, then run the guard",
    ),
    *_opts(Role.REFUSE, False, ("--help", "-h"), why=_HELP),
    *_opts(
        Role.RESOLVE,
        False,
        ("--no-editable",),
        ("--all-extras",),
        ("--no-deps",),
        ("--require-hashes",),
        ("--verify-hashes",),
        ("--require-build-hashes",),
        ("--no-index",),
        ("--upgrade", "-U"),
        ("--pre",),
        ("--no-sources",),
        ("--refresh",),
        ("--system-certs",),
        ("--native-tls",),
        ("--offline",),
    ),
    *_opts(
        Role.RESOLVE,
        True,
        ("--no-editable-package",),
        ("--overrides", "--override"),
        ("--excludes", "--exclude"),
        ("--extra",),
        ("--group",),
        ("--cert",),
        ("--torch-backend",),
        ("--index",),
        ("--default-index",),
        ("--index-url", "-i"),
        ("--extra-index-url",),
        ("--find-links", "-f"),
        ("--index-strategy",),
        ("--keyring-provider",),
        ("--upgrade-package", "-P"),
        ("--upgrade-group",),
        ("--resolution",),
        ("--prerelease",),
        ("--prerelease-package",),
        ("--fork-strategy",),
        ("--exclude-newer-package",),
        ("--no-sources-package",),
        ("--refresh-package",),
        ("--allow-insecure-host", "--trusted-host"),
    ),
    *_opts(
        Role.BOTH,
        True,
        ("--build-constraints", "--build-constraint", "-b"),
        ("--only-binary",),
        ("--config-setting", "--config-settings", "-C"),
        ("--config-settings-package",),
        ("--no-build-isolation-package",),
        ("--cache-dir",),
        ("--color",),
        ("--config-file",),
    ),
    *_opts(
        Role.BOTH,
        False,
        ("--system",),
        ("--no-build-isolation",),
        ("--no-cache", "-n"),
        ("--managed-python",),
        ("--no-managed-python",),
        ("--no-python-downloads",),
        ("--no-progress",),
        ("--no-config",),
    ),
    *_opts(Role.INSTALL, True, ("--target", "-t"), ("--prefix",), ("--reinstall-package",), ("--link-mode",)),
    *_opts(
        Role.INSTALL,
        False,
        ("--break-system-packages",),
        ("--no-break-system-packages",),
        ("--strict",),
        ("--user",),
        ("--reinstall",),
        ("--compile-bytecode", "--compile"),
        ("--quiet", "-q"),
        ("--verbose", "-v"),
    ),
)


# Where packages come from and how to reach it (both installers' spellings): what an sdist's
# build needs in the final install to fetch its build dependencies.
INDEX_OPTIONS = frozenset(
    {
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--index",
        "--default-index",
        "--index-strategy",
        "--keyring-provider",
        "--trusted-host",
        "--allow-insecure-host",
        "--cert",
        "--client-cert",
        "--proxy",
        "--system-certs",
        "--native-tls",
    }
)


@dataclass(frozen=True, slots=True)
class GivenOption:
    option: Option
    spelled: str  # as the user typed it, for messages
    value: str | None

    def tokens(self) -> list[str]:
        """The option for the installer's command line; ``--name=value`` so a value may start with '-'."""
        if self.value is None:
            return [self.option.name]
        return [f"{self.option.name}={self.value}"]


@dataclass(frozen=True, slots=True)
class InstallArgs:
    tool: Tool
    options: tuple[GivenOption, ...]
    requirements: tuple[str, ...]  # the positional arguments: specifiers, archive paths or URLs

    def tokens(self, *roles: Role) -> list[str]:
        return [token for given in self.options if given.option.role in roles for token in given.tokens()]

    def values(self, name: str) -> list[str]:
        """Every value given to option ``name`` (its long name), in order."""
        return [g.value for g in self.options if g.option.name == name and g.value is not None]

    def has(self, name: str) -> bool:
        return any(g.option.name == name for g in self.options)

    def having(self, role: Role) -> list[GivenOption]:
        return [g for g in self.options if g.option.role is role]

    def index_tokens(self) -> list[str]:
        """The options that say where packages come from and how to reach them."""
        return [token for g in self.options if g.option.name in INDEX_OPTIONS for token in g.tokens()]

    @property
    def python(self) -> str | None:
        found = self.values("--python")
        return found[-1] if found else None

    @property
    def dry_run(self) -> bool:
        return bool(self.having(Role.DRY_RUN))

    @property
    def requirement_files(self) -> list[str]:
        return [g.value for g in self.having(Role.REQUIREMENTS) if g.value is not None]

    @property
    def constraint_files(self) -> list[str]:
        return [g.value for g in self.having(Role.CONSTRAINTS) if g.value is not None]


def options_of(tool: Tool) -> tuple[Option, ...]:
    return PIP_OPTIONS if tool is Tool.PIP else UV_OPTIONS


def parse_install_args(tool: Tool, argv: Sequence[str]) -> InstallArgs:
    """Split ``argv`` into known options and positional requirements; an unknown option is an error.

    Both installers accept options anywhere, ``--name=value``, ``--name value``, ``-xVALUE``,
    ``-x VALUE`` and clusters of short flags (``-qU``); pip (optparse) also accepts an
    unambiguous prefix of a long option, uv (clap) does not.
    """
    table = options_of(tool)
    by_name = {name: option for option in table for name in option.names}
    words = list(argv)
    given: list[GivenOption] = []
    positional: list[str] = []
    while words:
        word = words.pop(0)
        if word == "--":
            positional += words
            break
        if word.startswith("--"):
            given.append(_long_option(tool, word, words, by_name))
        elif word.startswith("-") and word != "-":
            given += _short_options(tool, word, words, by_name)
        else:
            positional.append(word)
    return InstallArgs(tool, tuple(given), tuple(positional))


def _long_option(tool: Tool, word: str, rest: list[str], by_name: dict[str, Option]) -> GivenOption:
    spelled, equals, value = word.partition("=")
    option = by_name.get(spelled)
    if option is None and tool is Tool.PIP:
        matches = {o for name, o in by_name.items() if name.startswith(spelled) and name.startswith("--")}
        option = matches.pop() if len(matches) == 1 else None
    if option is None:
        raise UsageError(
            f"{tool} install option {shorten(spelled)} is not one the guard knows: it refuses options "
            "it cannot classify rather than risk one that skips verification"
        )
    if not option.takes_value:
        if equals:
            raise UsageError(f"{spelled} takes no value")
        return GivenOption(option, spelled, None)
    if not equals:
        if not rest:
            raise UsageError(f"{spelled} needs a value")
        value = rest.pop(0)
    return GivenOption(option, spelled, value)


def _short_options(tool: Tool, word: str, rest: list[str], by_name: dict[str, Option]) -> list[GivenOption]:
    found: list[GivenOption] = []
    position = 1
    while position < len(word):
        spelled = "-" + word[position]
        option = by_name.get(spelled)
        if option is None:
            raise UsageError(
                f"{tool} install option {shorten(spelled)} is not one the guard knows: it refuses "
                "options it cannot classify rather than risk one that skips verification"
            )
        if not option.takes_value:
            found.append(GivenOption(option, spelled, None))
            position += 1
            continue
        # "-rfile", "-r file" and, for uv, "-r=file".
        value = word[position + 1 :]
        if tool is Tool.UV:
            value = value.removeprefix("=")
        if not value:
            if not rest:
                raise UsageError(f"{spelled} needs a value")
            value = rest.pop(0)
        found.append(GivenOption(option, spelled, value))
        break
    return found


# -- what the guard refuses -------------------------------------------------------------------------


@dataclass
class RequirementFacts:
    """What the requirement files say that the guard needs: the indexes they name."""

    index_urls: list[str] = field(default_factory=list)
    extra_index_urls: list[str] = field(default_factory=list)
    no_index: bool = False


def check_install_args(args: InstallArgs, *, allow_sdists: bool) -> RequirementFacts:
    """Refuse what would build, skip verification or cannot be verified; read the requirement files.

    Raises UsageError with one line naming the option or requirement and why.
    """
    for given in args.having(Role.REFUSE):
        raise UsageError(f"{args.tool} install {given.spelled}: {given.option.why}")
    if not allow_sdists:
        for given in args.having(Role.NO_BINARY):
            raise UsageError(
                f"{given.spelled} makes the installer build source distributions, which runs their "
                "code; set allow-sdists = true in the policy to allow it"
            )
    sources = ("--group", "--requirements-from-script")
    if not args.requirements and not args.requirement_files and not any(args.has(s) for s in sources):
        raise UsageError(f"{args.tool} install needs a requirement or -r FILE")
    for text in args.requirements:
        check_requirement(text, allow_sdists=allow_sdists, where="")
    facts = RequirementFacts(no_index=args.has("--no-index"))
    for name in args.requirement_files:
        _check_requirements_file(Path(name), args.tool, allow_sdists, facts, ())
    for name in args.constraint_files:
        _check_requirements_file(Path(name), args.tool, allow_sdists, facts, (), constraints=True)
    return facts


def check_requirement(text: str, *, allow_sdists: bool, where: str) -> None:
    """A positional requirement or a requirements-file line: named, or a wheel (sdist when allowed)."""
    shown = f"{where}{shorten(text)}"
    location = _location(text)
    if location is None:
        return  # a name with a version range: the index is asked
    if location.startswith(VCS_PREFIXES):
        raise UsageError(
            f"{shown}: a VCS requirement is built from a checkout, not a file the guard can verify"
        )
    path = location.split("#", 1)[0].split("?", 1)[0]
    lower = path.lower()
    if lower.endswith(".whl"):
        return
    if lower.endswith(SDIST_SUFFIXES):
        if allow_sdists:
            return
        raise UsageError(
            f"{shown}: a source archive is built to be installed, which runs its code; "
            "set allow-sdists = true in the policy to allow it"
        )
    raise UsageError(
        f"{shown}: a directory or project is built to be installed and is not a file the guard can "
        "verify; install its dependencies through the guard, then the project with --no-deps"
    )


def _location(text: str) -> str | None:
    """The URL or path a requirement points at; None for a plain ``name[extras] specifier``."""
    if is_url(text):
        # After a URL, markers need whitespace before the ';' (a URL may contain ';').
        return text.partition("; ")[0].strip()
    requirement = text.split(";", 1)[0].strip()
    try:
        parsed = Requirement(requirement)
    except InvalidRequirement:
        if looks_like_path(requirement) or Path(requirement).exists():
            return requirement
        raise UsageError(f"{shorten(text)}: not a requirement the guard can read") from None
    if parsed.url:
        return parsed.url
    if looks_like_path(requirement):
        return requirement
    return None


def _check_requirements_file(
    path: Path,
    tool: Tool,
    allow_sdists: bool,
    facts: RequirementFacts,
    chain: tuple[Path, ...],
    *,
    constraints: bool = False,
) -> None:
    display = shorten(str(path))
    if is_url(str(path)):
        raise UsageError(
            f"{display}: the guard reads requirement files before the installer does and does not "
            "fetch remote ones: download it and pass the local copy"
        )
    if tool is Tool.UV and path.name in ("setup.py", "setup.cfg"):
        raise UsageError(
            f"{display}: reading its requirements runs the project's build; use a requirements file"
        )
    if path.suffix == ".toml":
        return  # uv's pyproject.toml or pylock.toml: no options, and --only-binary stops any build
    if len(chain) > MAX_INCLUDE_DEPTH:
        raise UsageError(
            f"{display}: requirement files include each other more than {MAX_INCLUDE_DEPTH} deep"
        )
    resolved = path.resolve()
    if resolved in chain:
        return  # an include cycle: the installer reports it
    try:
        text = read_text(path, display)
    except InputError as exc:
        raise UsageError(str(exc)) from None
    for number, args, options in _lines(text, display):
        where = f"{display}:{number}: "
        if args and not constraints:
            check_requirement(args, allow_sdists=allow_sdists, where=where)
        for name, value in options:
            _file_option(name, value, where, path, tool, allow_sdists, facts, (*chain, resolved))


def _file_option(
    name: str,
    value: str | None,
    where: str,
    path: Path,
    tool: Tool,
    allow_sdists: bool,
    facts: RequirementFacts,
    chain: tuple[Path, ...],
) -> None:
    if name in ("-e", "--editable"):
        raise UsageError(f"{where}-e: {_EDITABLE}")
    if name == "--no-binary" and not allow_sdists:
        raise UsageError(
            f"{where}--no-binary makes the installer build source distributions, which runs their "
            "code; set allow-sdists = true in the policy to allow it"
        )
    if value is None:
        if name == "--no-index":
            facts.no_index = True
        return
    if name in ("-r", "--requirement", "-c", "--constraint"):
        include = Path(value) if Path(value).is_absolute() or is_url(value) else path.parent / value
        constraint = name in ("-c", "--constraint")
        _check_requirements_file(include, tool, allow_sdists, facts, chain, constraints=constraint)
    elif name in ("-i", "--index-url"):
        facts.index_urls.append(value)
    elif name == "--extra-index-url":
        facts.extra_index_urls.append(value)


# Options of requirement files that take a value (pip's and uv's share these spellings).
_FILE_VALUE_OPTIONS = frozenset(
    {
        "-r",
        "--requirement",
        "-c",
        "--constraint",
        "-e",
        "--editable",
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--no-binary",
        "--only-binary",
        "--trusted-host",
        "--use-feature",
        "--hash",
        "--global-option",
        "--config-settings",
        "-C",
    }
)


def _lines(text: str, display: str) -> Iterator[tuple[int, str, list[tuple[str, str | None]]]]:
    """Each logical line: its number, the requirement part and its options (name, value)."""
    for line in logical_lines(text):
        if not line.content:
            continue
        words = line.content.split(" ")
        first = next((i for i, w in enumerate(words) if w.startswith("-")), len(words))
        requirement = " ".join(words[:first]).strip()
        try:
            tokens = shlex.split(" ".join(words[first:]))
        except ValueError as exc:
            raise UsageError(f"{display}:{line.number}: cannot read its options: {exc}") from None
        yield line.number, requirement, list(_file_options(tokens))


def _file_options(tokens: list[str]) -> Iterator[tuple[str, str | None]]:
    while tokens:
        word = tokens.pop(0)
        if not word.startswith("-"):
            continue
        name, equals, value = word.partition("=")
        if not word.startswith("--") and len(word) > 2:
            name, value, equals = word[:2], word[2:], "="
        if name in _FILE_VALUE_OPTIONS:
            if not equals and tokens:
                value = tokens.pop(0)
            yield name, value
        else:
            yield name, None


def exact_pins(args: InstallArgs) -> list[tuple[str, str]]:
    """(name, version) of every positional requirement that names exactly one release (``==``)."""
    pins: list[tuple[str, str]] = []
    for text in args.requirements:
        if is_url(text) or looks_like_path(text):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        exact = [s for s in requirement.specifier if s.operator in ("==", "===") and "*" not in s.version]
        if requirement.url is None and len(exact) == 1:
            pins.append((str(canonicalize_name(requirement.name)), exact[0].version))
    return pins


def file_pins(args: InstallArgs) -> list[tuple[str, str]]:
    """(name, version) of every ``name==version`` line of the requirement files (and their includes).

    A file the guard cannot read as pip's format is skipped here: the installer reads it next
    and says what is wrong with it.
    """
    from depvet.inputs.model import SourceKind
    from depvet.inputs.requirements import parse_requirements

    pins: list[tuple[str, str]] = []
    for name in args.requirement_files:
        path = Path(name)
        if path.suffix == ".toml" or is_url(name):
            continue
        try:
            parsed = parse_requirements(read_text(path, name), path)
        except InputError:
            continue
        pins += [
            (str(p.normalized_name), p.version)
            for p in parsed.packages
            if p.source is SourceKind.REGISTRY and p.version is not None
        ]
    return pins
