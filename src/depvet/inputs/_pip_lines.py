"""pip's rules for cutting a requirements file into logical lines, and pip-compile's ``# via``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# pip's COMMENT_RE: a '#' at the start or after whitespace; "x.whl#sha256=..." is not a comment.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")
_ENTRY = re.compile(r"(\S+)(?: \(.*\))?")


@dataclass(frozen=True, slots=True)
class LogicalLine:
    number: int  # 1-based physical line the logical line starts on
    content: str  # continuations joined, comment removed, stripped; "" for blank or comment lines
    comment: str | None  # the comment's text after '#', stripped

    @property
    def is_blank(self) -> bool:
        return not self.content and self.comment is None


def logical_lines(text: str) -> Iterator[LogicalLine]:
    for number, joined in _join(text.splitlines()):
        match = _COMMENT.search(joined)
        comment = match.group(0).strip()[1:].strip() if match else None
        yield LogicalLine(number, _COMMENT.sub("", joined).strip(), comment)


def _join(lines: list[str]) -> Iterator[tuple[int, str]]:
    """pip's join_lines: a trailing backslash continues a line; a comment line ends it."""
    start = 0
    pending: list[str] = []
    for number, line in enumerate(lines, 1):
        comment_line = _COMMENT.match(line) is not None
        if line.endswith("\\") and not comment_line:
            if not pending:
                start = number
            pending.append(line[:-1])
            continue
        # A leading space keeps a comment line matchable once joined after the text before it.
        text = " " + line if comment_line else line
        if pending:
            yield start, "".join([*pending, text])
            pending = []
        else:
            yield number, text
    if pending:
        yield start, "".join(pending)


def via_parents(lines: Iterable[LogicalLine], owners: set[int]) -> dict[int, tuple[str, ...]]:
    """Parents pip-compile wrote for each requirement, keyed by the requirement's line number.

    Both forms are read: ``# via a, b`` (on the requirement's line or the next one) and ``# via``
    followed by one ``#   name`` line per parent. ``-r file.in`` entries are not packages.
    ``owners`` are the line numbers of requirement lines; any other content ends a ``via`` block.
    """
    found: dict[int, list[str]] = {}
    owner: int | None = None
    listing = False
    for line in lines:
        if line.content or line.is_blank:
            owner = line.number if line.number in owners else None
            listing = False
        if owner is None or line.comment is None:
            continue
        head, _, rest = line.comment.partition(" ")
        if head == "via":
            found.setdefault(owner, []).extend(_names(rest.split(",")))
            listing = not rest.strip()
        elif listing:
            found.setdefault(owner, []).extend(_names([line.comment]))
    return {number: tuple(dict.fromkeys(names)) for number, names in found.items()}


def _names(items: Iterable[str]) -> Iterator[str]:
    for item in items:
        # "mypkg (pyproject.toml)" names the project whose metadata asked for the package; an
        # entry of several words is prose (pip-compile's "The following packages are ...").
        match = _ENTRY.fullmatch(item.strip())
        if match and _NAME.fullmatch(match.group(1)):
            yield match.group(1)
