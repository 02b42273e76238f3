"""Skip parsing the definitions of a big module that hold nothing a detector looks at.

Parsing is the largest cost of a scan (about 5 MB/s), and half the lines of the files that are
parsed sit in functions and methods with no prefilter token on any line: the fact walker does
not enter them anyway. Each such definition is replaced by a one-line stub of the same name on
its first line, every other line kept, so line numbers stay true. A class with no token on any
line is a stub too (generated API models are whole files of them): its body runs on import but
holds nothing a detector looks for, and the calls its methods make are still read from the
original text when something instantiates it.

Where a definition ends is read from indentation, which is only sound outside string
literals: a ``def`` at column 0 inside a docstring is text, and blanking from there could
leave a quote unbalanced and turn later code into a string. So a lexer finds the string
literals first (in Python 3.11 they are a regular language; from 3.12 an f-string may nest
quotes, and files with f-strings are then parsed whole), and the caller checks that every stub
came back as the definition it stands for before it trusts the trimmed tree.
"""

from __future__ import annotations

import ast
import bisect
import re
import sys
from dataclasses import dataclass
from functools import cache

from depvet.analysis.prefilter import line_starts

MIN_CHARS = 4_000  # below this the bookkeeping costs more than the parse it saves (measured)
MIN_LINES = 4  # a definition shorter than this is not worth a stub

_LEXEMES = re.compile(
    r"#[^\n]*"
    r'|"""[^"\\]*(?:(?:\\.|"(?!""))[^"\\]*)*"""'
    r"|'''[^'\\]*(?:(?:\\.|'(?!''))[^'\\]*)*'''"
    r'|"[^"\\\n]*(?:\\.[^"\\\n]*)*"'
    r"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'",
    re.DOTALL,
)
_FSTRING = re.compile(r"(?<![\w])(?:[fF][rR]?|[rR][fF])['\"]")
_DEFINITION = re.compile(r"(async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)")
_NOT_A_STATEMENT = "#)]}"
_CALLED = re.compile(r"([A-Za-z_]\w*)\s*\(")
_PASSED = re.compile(r"[(,=]\s*([A-Za-z_]\w*)\s*[,)]")
# After a header's colon: blank lines and comments, then a string prefix (not f) before a quote.
_BODY_START = re.compile(r"(?:\s|#[^\n]*)*(?:[rRuU](?=['\"]))?")
_STATEMENT_END = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")


@dataclass(frozen=True, slots=True)
class Trimmed:
    text: str
    stubs: dict[int, tuple[str, int]]  # stub line -> (name, last line of the original definition)

    def extents(self) -> dict[int, int]:
        return {line: end for line, (_, end) in self.stubs.items()}

    def verified_by(self, tree: ast.Module) -> bool:
        """Every stub parsed as a definition of its name at its line, at module or class level.

        A stub that is not there means a boundary was misread; only then could kept code have
        been read differently from the original, so the caller parses the whole file instead.
        """
        found: set[tuple[int, str]] = set()
        for node in tree.body:
            if isinstance(node, _DEFINITIONS):
                found.add((node.lineno, node.name))
                if isinstance(node, ast.ClassDef):
                    found.update(
                        (child.lineno, child.name) for child in node.body if isinstance(child, _DEFINITIONS)
                    )
        return all((line, name) in found for line, (name, _) in self.stubs.items())


_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def trim_cold_definitions(
    text: str,
    hot_lines: frozenset[int],
    starts: list[int] | None = None,
    weak_lines: frozenset[int] = frozenset(),
) -> Trimmed | None:
    """``text`` with cold functions, methods and classes stubbed, or None when nothing is worth it.

    A function whose only hot lines are ``weak_lines`` (lines with nothing but a weak token, such
    as a library's name) inside its own docstring is cold too: prose runs nothing.
    """
    if len(text) < MIN_CHARS or "\r" in text or "\x0c" in text:
        return None
    if sys.version_info >= (3, 12) and _FSTRING.search(text):
        return None
    lines = text.split("\n")
    starts = starts if starts is not None else line_starts(text)
    inside_string = bytearray(len(lines) + 1)  # 1-based: the line begins inside a string
    for match in _LEXEMES.finditer(text):
        begin, end = match.span()
        if text.find("\n", begin, end) != -1:
            first = bisect.bisect_right(starts, begin)
            last = bisect.bisect_right(starts, end - 1)
            inside_string[first + 1 : last + 1] = b"\x01" * (last - first)
    trimmer = _Trimmer(text, starts, lines, inside_string, sorted(hot_lines), weak_lines)
    trimmer.level("", 1, len(lines) + 1, nested=False)
    if not trimmer.stubs:
        return None
    return Trimmed("\n".join(lines), trimmer.stubs)


@cache
def _statement_start(indent: str) -> re.Pattern[str]:
    """A line with exactly ``indent`` before something that can start a statement."""
    return re.compile(rf"^{re.escape(indent)}[^\s#)\]}}]", re.MULTILINE)


class _Trimmer:
    def __init__(
        self,
        text: str,
        starts: list[int],
        lines: list[str],
        inside_string: bytearray,
        hot: list[int],
        weak: frozenset[int],
    ) -> None:
        self.text = text
        self.starts = starts
        self.lines = lines
        self.inside_string = inside_string
        self.hot = hot
        self.stubs: dict[int, tuple[str, int]] = {}
        self.weak = weak
        self._local_names: frozenset[str] | None = None
        self._boundary_cache: dict[tuple[str, int, int], list[int]] = {}

    def level(self, indent: str, first: int, stop: int, *, nested: bool) -> None:
        """Stub the cold definitions among the statements at ``indent`` in lines [first, stop)."""
        boundaries = self._boundaries(indent, first, stop)
        for i, number in enumerate(boundaries):
            end = (boundaries[i + 1] if i + 1 < len(boundaries) else stop) - 1
            match = _DEFINITION.match(self.lines[number - 1], len(indent))
            if match is None:
                continue
            keyword, name = match.groups()
            cold = end - number + 1 >= MIN_LINES and (
                (
                    not self._hot_between(number, end)
                    and (keyword != "class" or self._inert_class(number, end))
                )
                or (keyword != "class" and self._hot_only_in_docstring(number, end))
            )
            if keyword == "class" and not cold:
                if not nested:
                    body_indent = self._body_indent(number + 1, end + 1, indent)
                    if body_indent is not None:
                        self.level(body_indent, number + 1, end + 1, nested=True)
                continue
            if cold:
                self.lines[number - 1] = f"{indent}{keyword} {name}{'' if keyword == 'class' else '()'}: pass"
                for blank in range(number, end):
                    self.lines[blank] = ""
                self.stubs[number] = (name, end)

    def _body_indent(self, first: int, stop: int, indent: str) -> str | None:
        for number in range(first, stop):
            line = self.lines[number - 1]
            stripped = line.lstrip()
            if self.inside_string[number] or not stripped or stripped[0] in _NOT_A_STATEMENT:
                continue
            body_indent = line[: len(line) - len(stripped)]
            return body_indent if len(body_indent) > len(indent) else None
        return None

    def _boundaries(self, indent: str, first: int, stop: int) -> list[int]:
        """Lines in [first, stop) that start a statement at ``indent``."""
        key = (indent, first, stop)
        if key not in self._boundary_cache:
            self._boundary_cache[key] = self._find_boundaries(indent, first, stop)
        return self._boundary_cache[key]

    def _find_boundaries(self, indent: str, first: int, stop: int) -> list[int]:
        starts = self.starts
        limit = starts[stop - 1] if stop - 1 < len(starts) else len(self.text)
        boundaries = []
        # The pattern runs on the original text: lines blanked so far lie outside this range.
        for found in _statement_start(indent).finditer(self.text, starts[first - 1], limit):
            number = bisect.bisect_right(starts, found.start(), first - 1)
            if not self.inside_string[number]:
                boundaries.append(number)
        return boundaries

    def local_names(self) -> frozenset[str]:
        """The functions and classes the module defines at its top level."""
        if self._local_names is None:
            lines = self.lines
            found = (_DEFINITION.match(lines[n - 1]) for n in self._boundaries("", 1, len(lines) + 1))
            self._local_names = frozenset(match.group(2) for match in found if match is not None)
        return self._local_names

    def _inert_class(self, first: int, last: int) -> bool:
        """A class whose creation reaches no function or class of this module: its header calls
        nothing, and neither its own statements, decorators and method headers name one. Its body
        runs on import; what it calls there would run on import too, and must stay visible."""
        header = self.lines[first - 1]
        if header.count("(") > 1 or not header.rstrip().endswith(":"):
            return False
        body_indent = self._body_indent(first + 1, last + 1, header[: len(header) - len(header.lstrip())])
        if body_indent is None:
            return False
        boundaries = self._boundaries(body_indent, first + 1, last + 1)
        for i, number in enumerate(boundaries):
            line = self.lines[number - 1]
            end = boundaries[i + 1] - 1 if i + 1 < len(boundaries) else last
            limit = self.starts[end] if end < len(self.starts) else len(self.text)
            definition = _DEFINITION.match(line, len(body_indent))
            if definition is not None:
                # A nested class's body runs with this one's; a method's defaults do too.
                colon = self._header_colon(number, limit)
                if definition.group(1) == "class" or colon is None:
                    return False
                limit = colon
            statement = _LEXEMES.sub('""', self.text[self.starts[number - 1] : limit])
            # What the fact walker follows: a module's own function called, or handed to a runner.
            reached = {*_CALLED.findall(statement), *_PASSED.findall(statement)}
            if not self.local_names().isdisjoint(reached):
                return False
        return True

    def _hot_only_in_docstring(self, first: int, last: int) -> bool:
        hot = self.hot[bisect.bisect_left(self.hot, first) : bisect.bisect_right(self.hot, last)]
        if not self.weak or any(line not in self.weak for line in hot):
            return False
        span = self._docstring_lines(first, last)
        return span is not None and all(span[0] <= line <= span[1] for line in hot)

    def _docstring_lines(self, first: int, last: int) -> tuple[int, int] | None:
        """First and last line of the docstring of the definition on lines [first, last]."""
        text, starts = self.text, self.starts
        limit = starts[last] if last < len(starts) else len(text)
        position = self._header_colon(first, limit)
        if position is None:
            return None
        body = _BODY_START.match(text, position + 1, limit)
        if body is None:
            return None
        begin = body.end()
        end = self._string_end(begin)
        # Only a plain literal that is the whole statement: "".format(...) or an f-string runs code.
        if end is None or not _STATEMENT_END.match(text, end):
            return None
        return bisect.bisect_right(starts, begin), bisect.bisect_right(starts, end - 1)

    def _string_end(self, position: int) -> int | None:
        """Where the string literal whose quote is at ``position`` ends (a header or a docstring
        starts outside any string, so the lexer may start there)."""
        found = _LEXEMES.match(self.text, position)
        return found.end() if found is not None and self.text[position] != "#" else None

    def _header_colon(self, first: int, limit: int) -> int | None:
        """Where the header of the definition on line ``first`` ends: its colon, past brackets,
        strings and comments."""
        text = self.text
        line = self.lines[first - 1]
        stripped = line.rstrip()
        if (
            stripped.endswith(":")
            and not any(c in line for c in "'\"#")
            and line.count("(") == line.count(")")
            and line.count("[") == line.count("]")
            and line.count("{") == line.count("}")
        ):  # the usual one-line header: its colon ends the line
            return self.starts[first - 1] + len(stripped) - 1
        position, depth = self.starts[first - 1], 0
        while position < limit:
            char = text[position]
            if char in "'\"":
                position = self._string_end(position) or -1
                if position == -1:
                    return None
                continue
            if char == "#":
                position = text.find("\n", position)
                if position == -1:
                    return None
                continue
            if char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            elif char == ":" and depth == 0:
                return position
            position += 1
        return None

    def _hot_between(self, first: int, last: int) -> bool:
        i = bisect.bisect_left(self.hot, first)
        return i < len(self.hot) and self.hot[i] <= last
