"""Parse Python source that may not be valid Python 3.

Much real malware ships Python 2 ``setup.py`` files (``print "x"``, ``exec code``, ``except E, e``).
Rather than give up on a file, the parser rewrites the offending line in the way Python 2 meant
it, or neutralises it, and tries again; the line numbers of the rest stay true.
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

MAX_REPAIRS = 60

_PRINT = re.compile(r"^(\s*)print\b\s*(?!\()(>>\s*[^,]+,\s*)?(.*?)(,?)\s*$")
_EXEC = re.compile(r"^(\s*)exec\s+(?!\()(.+?)(\s+in\s+.+)?\s*$")
_EXCEPT = re.compile(r"^(\s*except\s+[^,:]+),\s*(\w+)\s*:")
_RAISE = re.compile(r"^(\s*raise\s+[\w.]+)\s*,\s*(.+)$")
_OCTAL = re.compile(r"(?<![\w.])0(\d+)(?![\w.])")
_BACKTICK = re.compile(r"`([^`]*)`")
_UR_PREFIX = re.compile(r"(?<![\w])[uU][rR](['\"])")
_LONG = re.compile(r"(?<=\d)[lL]\b")


@dataclass(frozen=True, slots=True)
class ParsedSource:
    tree: ast.Module
    repaired_lines: tuple[int, ...]  # lines rewritten or neutralised to make the file parse


def parse_tolerant(text: str, filename: str = "<scanned>") -> ParsedSource | None:
    """The module's AST, repairing up to ``MAX_REPAIRS`` lines; None if it still cannot parse."""
    lines = text.split("\n")
    repaired: list[int] = []
    last_error: tuple[int, str] | None = None
    for _ in range(MAX_REPAIRS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # invalid escape sequences and the like
                tree = ast.parse("\n".join(lines), filename=filename)
            return ParsedSource(tree, tuple(repaired))
        except SyntaxError as exc:
            lineno = exc.lineno or 0
            if not 1 <= lineno <= len(lines):
                return None
            key = (lineno, lines[lineno - 1])
            index = lineno - 1
            if key == last_error:
                # The py2 rewrite did not help: neutralise the line.
                lines[index] = _neutralise(lines[index])
            else:
                lines[index] = _py2_rewrite(lines[index])
                if lines[index] == key[1]:
                    lines[index] = _neutralise(lines[index])
            last_error = (lineno, lines[index])
            repaired.append(lineno)
        except (ValueError, RecursionError, MemoryError):
            return None  # null bytes, absurd nesting
    return None


def _py2_rewrite(line: str) -> str:
    if (m := _EXCEPT.match(line)) is not None:
        return f"{m.group(1)} as {m.group(2)}:" + line[m.end() :]
    if (m := _EXEC.match(line)) is not None:
        return f"{m.group(1)}exec({m.group(2)})"
    if (m := _PRINT.match(line)) is not None and m.group(3):
        return f"{m.group(1)}print({m.group(3)})"
    if (m := _RAISE.match(line)) is not None:
        return f"{m.group(1)}({m.group(2)})"
    rewritten = _OCTAL.sub(r"0o\1", line)
    rewritten = _BACKTICK.sub(r"repr(\1)", rewritten)
    rewritten = _UR_PREFIX.sub(r"r\1", rewritten)
    return _LONG.sub("", rewritten)


def _neutralise(line: str) -> str:
    indent = line[: len(line) - len(line.lstrip())]
    stripped = line.strip()
    if stripped.endswith(":") and not stripped.startswith("#"):
        return f"{indent}if 1:"
    return f"{indent}pass" if stripped else line
