"""requirements.txt (pip's format): pins and hashes, includes, index options, pip-compile's graph.

Included files (``-r``) are read relative to the file that names them; constraints files
(``-c``) are read too, but what they pin becomes a note: pip installs nothing from them.
"""

from __future__ import annotations

import shlex
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from depvet.errors import InputError
from depvet.inputs._common import (
    STDIN,
    checked_sha256,
    display_name,
    identity,
    printable,
    read_text,
    redact,
    shorten,
    unique,
)
from depvet.inputs._pip_lines import LogicalLine, logical_lines, via_parents
from depvet.inputs._pip_requirement import EDITABLE_REASON, RequirementLine, classify, is_url
from depvet.inputs.model import InputKind, LockedPackage, ParsedInput, Unpinned

# pip's options in requirement files: long name -> whether it takes a value.
_TAKES_VALUE = {
    "--requirement": True,
    "--constraint": True,
    "--editable": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--no-index": False,
    "--find-links": True,
    "--no-binary": True,
    "--only-binary": True,
    "--prefer-binary": False,
    "--require-hashes": False,
    "--pre": False,
    "--trusted-host": True,
    "--use-feature": True,
    # Per-requirement options, written after the requirement on its line.
    "--hash": True,
    "--global-option": True,
    "--config-settings": True,
}
_SHORT = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-e": "--editable",
    "-i": "--index-url",
    "-f": "--find-links",
    "-C": "--config-settings",
}
_HASH_ALGORITHMS = ("sha256", "sha384", "sha512")  # what pip accepts for --hash
_NOTE_LIST_LIMIT = 10


@dataclass(frozen=True, slots=True)
class _Option:
    name: str  # the long name, whatever spelling the file used
    value: str | None


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    display: str
    constraint: bool  # read as constraints: pins become notes
    chain: tuple[tuple[str, str], ...]  # (identity, display) of each file being read, outermost first

    @property
    def is_top(self) -> bool:
        # Line numbers are reported for the file the user named only: a bare number cannot say
        # which included file it belongs to.
        return len(self.chain) == 1


@dataclass
class _Collected:
    packages: list[LockedPackage] = field(default_factory=list)
    unpinned: list[Unpinned] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    index_urls: list[str] = field(default_factory=list)
    extra_index_urls: list[str] = field(default_factory=list)
    read: set[tuple[str, bool]] = field(default_factory=set)


def parse_requirements(text: str, path: Path) -> ParsedInput:
    display = display_name(path)
    top = display if str(path) == STDIN else identity(path, display)
    found = _Collected()
    _read_file(text, _File(path, display, constraint=False, chain=((top, display),)), found)
    return ParsedInput(
        path=str(path),
        kind=InputKind.REQUIREMENTS,
        packages=tuple(found.packages),
        unpinned=tuple(found.unpinned),
        index_urls=unique(found.index_urls),
        extra_index_urls=unique(found.extra_index_urls),
        notes=tuple(found.notes),
    )


def _read_file(text: str, current: _File, found: _Collected) -> None:
    found.read.add((current.chain[-1][0], current.constraint))
    lines = list(logical_lines(text))
    requirement_lines = {line.number for line in lines if line.content and not line.content.startswith("-")}
    parents = via_parents(lines, requirement_lines)
    constraints: list[str] = []
    for line in lines:
        if not line.content:
            continue
        where = f"{current.display}:{line.number}"
        args, options = _split_line(line.content, where)
        if args:
            result = _requirement(args, options, where, line, parents.get(line.number, ()), current, found)
            if current.constraint:
                constraints.append(_as_constraint(result))
            elif isinstance(result, LockedPackage):
                found.packages.append(result)
            else:
                found.unpinned.append(result)
        else:
            _option_line(options, where, line, current, found)
    if constraints:
        more = ", …" if len(constraints) > _NOTE_LIST_LIMIT else ""
        shown = ", ".join(constraints[:_NOTE_LIST_LIMIT]) + more
        found.notes.append(
            f"{current.display}: {len(constraints)} constraint(s), not installed by themselves: {shown}"
        )


def _split_line(content: str, where: str) -> tuple[str, list[str]]:
    """pip's break_args_options: the requirement is everything before the first '-' word."""
    words = content.split(" ")
    first_option = next((i for i, word in enumerate(words) if word.startswith("-")), len(words))
    args = " ".join(words[:first_option]).strip()
    try:
        options = shlex.split(" ".join(words[first_option:]))
    except ValueError as exc:
        raise InputError(f"{where}: cannot parse options: {exc}") from None
    return args, options


def _requirement(
    args: str,
    words: list[str],
    where: str,
    line: LogicalLine,
    parents: tuple[str, ...],
    current: _File,
    found: _Collected,
) -> LockedPackage | Unpinned:
    options, stray = _parse_options(words, where)
    if stray:
        found.notes.append(f"{where}: pip ignores '{shorten(' '.join(stray))}' after an option")
    # Other options after a requirement are accepted by pip and have no effect there.
    hashes = [option.value or "" for option in options if option.name == "--hash"]
    request = RequirementLine(
        text=args,
        sha256s=unique(_sha256s(hashes, where, found)),
        where=where,
        line=line.number if current.is_top else None,
        parents=parents,
    )
    return classify(request)


def _sha256s(values: list[str], where: str, found: _Collected) -> list[str]:
    digests = []
    for value in values:
        algorithm, sep, digest = value.partition(":")
        if not sep or algorithm not in _HASH_ALGORITHMS or not digest:
            raise InputError(f"{where}: --hash must be sha256, sha384 or sha512, ':', then the digest")
        if algorithm == "sha256":
            digests.append(checked_sha256(digest, where))
        else:
            found.notes.append(f"{where}: only sha256 hashes are kept; a {algorithm} hash is ignored")
    return digests


def _option_line(words: list[str], where: str, line: LogicalLine, current: _File, found: _Collected) -> None:
    options, stray = _parse_options(words, where)
    if stray:
        # pip ignores words after an option's value; a requirement there is never installed.
        found.notes.append(f"{where}: pip ignores '{shorten(' '.join(stray))}' after an option")
    for option in options:
        value = option.value or ""
        if option.name in ("--requirement", "--constraint"):
            constraint = current.constraint or option.name == "--constraint"
            _include(value, constraint, where, line, current, found)
        elif option.name == "--editable":
            if current.constraint:
                raise InputError(f"{where}: editable requirements are not allowed as constraints")
            line_number = line.number if current.is_top else None
            found.unpinned.append(
                Unpinned(text=f"-e {redact(value)}", reason=EDITABLE_REASON, line=line_number)
            )
        elif option.name == "--index-url":
            found.index_urls.append(value)
        elif option.name == "--extra-index-url":
            found.extra_index_urls.append(value)
        elif option.name == "--find-links":
            found.notes.append(f"{where}: --find-links {shorten(value)}: pip may take packages from there")
        elif option.name == "--no-index":
            found.notes.append(f"{where}: --no-index: pip uses no package index")


def _parse_options(words: list[str], where: str) -> tuple[list[_Option], list[str]]:
    """optparse's rules, for pip's options only; returns the options and any stray words."""
    options: list[_Option] = []
    stray: list[str] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if not word.startswith("-") or word == "-":
            stray.append(word)
            continue
        name, value = _option_name(word, where)
        if _TAKES_VALUE[name] and value is None:
            if not queue:
                raise InputError(f"{where}: {name} needs a value")
            value = queue.pop(0)
        elif not _TAKES_VALUE[name] and value is not None:
            raise InputError(f"{where}: {name} takes no value")
        options.append(_Option(name, value))
    return options, stray


def _option_name(word: str, where: str) -> tuple[str, str | None]:
    if not word.startswith("--"):
        name = _SHORT.get(word[:2])
        if name is None:
            raise InputError(f"{where}: unknown option '{shorten(word)}'")
        return name, word[2:] or None
    given, equals, value = word.partition("=")
    # optparse accepts any unambiguous prefix of a long option ("--extra-index").
    matches = [given] if given in _TAKES_VALUE else [n for n in _TAKES_VALUE if n.startswith(given)]
    if len(matches) != 1:
        raise InputError(f"{where}: unknown option '{shorten(given)}'")
    return matches[0], value if equals else None


def _include(
    value: str, constraint: bool, where: str, line: LogicalLine, current: _File, found: _Collected
) -> None:
    flag = "-c" if constraint else "-r"
    if is_url(value) and not value.startswith("file:"):
        found.unpinned.append(
            Unpinned(
                text=f"{flag} {redact(value)}",
                reason="remote requirements file, not fetched",
                line=line.number if current.is_top else None,
            )
        )
        return
    target = _local_path(value, current.path)
    display = printable(str(target))
    resolved = identity(target, where)
    if any(resolved == seen for seen, _ in current.chain):
        cycle = " -> ".join([*(shown for _, shown in current.chain), display])
        raise InputError(f"{where}: include cycle: {cycle}")
    if (resolved, constraint) in found.read:
        return  # included twice (a diamond): its entries are already in
    try:
        text = read_text(target, display)
    except InputError as exc:
        raise InputError(f"{where}: cannot read included file: {exc}") from None
    found.notes.append(f"{where}: read {'constraints' if constraint else 'requirements'} from {display}")
    included = _File(target, display, constraint, (*current.chain, (resolved, display)))
    _read_file(text, included, found)


def _local_path(value: str, including: Path) -> Path:
    if value.startswith("file:"):
        value = urllib.parse.unquote(urllib.parse.urlsplit(value).path)
    path = Path(value)
    # An include names a path relative to the file that includes it (stdin: the working directory).
    return path if path.is_absolute() else including.parent / path


def _as_constraint(result: LockedPackage | Unpinned) -> str:
    if isinstance(result, LockedPackage):
        return f"{result.name}=={result.version}"
    return result.text
