"""Text-level facts of source files that a diff compares: definitions and network endpoints.

Both work on text with regular expressions, not on a parse, so they cost little on large
releases and still work on files that do not parse.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

_DEFINITION = re.compile(r"^([ \t]*)(?:async[ \t]+def|def|class)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)
_NOT_A_STATEMENT = ("#", ")", "]", "}")
_DEFINITION_WORDS = ("def", "class", "async")
_CODE_SUFFIXES = (".py", ".pyw", ".pth", ".sh", ".bash", ".js", ".ps1", ".bat", ".cmd", ".pyx")
_URL = re.compile(r"""(?:[Hh][Tt][Tt][Pp][Ss]?|[Ww][Ss][Ss]?|[Ff][Tt][Pp])://[^\s'"<>`)\]}\\]+""")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")


def is_code(path: str) -> bool:
    return path.lower().endswith(_CODE_SUFFIXES)


def definitions(text: str) -> dict[str, str]:
    """Qualified name (``Class.method``) -> digest of the definition's text, for Python source.

    A definition runs from its ``def``/``class`` line to the next line indented as deeply or
    less (blank lines and comments aside); nested functions belong to their enclosing one.
    One pass over the lines, and lines deeper than the innermost open definition cost one
    comparison: a diff of transformers reads 80 MB of changed modules.
    """
    if "def " not in text and "class " not in text:
        return {}
    lines = text.splitlines()
    if "\t" in text:
        lines = [line.expandtabs() for line in lines]
    found: dict[str, str] = {}
    # Open definitions: (indent, qualified name or None for a nested function, first line).
    open_defs: list[tuple[int, str | None, int, bool]] = []
    innermost = -1  # indent of the innermost open definition
    for number, line in enumerate(lines):
        stripped = line.lstrip()
        # A closing bracket at the definition's indent ends its signature, not its body
        # (``) -> int:`` of a signature split over lines).
        if not stripped or stripped.startswith(_NOT_A_STATEMENT):
            continue
        indent = len(line) - len(stripped)
        if indent <= innermost:
            while open_defs and indent <= open_defs[-1][0]:
                _close(open_defs.pop(), lines, number, found)
            innermost = open_defs[-1][0] if open_defs else -1
        if not stripped.startswith(_DEFINITION_WORDS) or (match := _DEFINITION.match(line)) is None:
            continue
        inside_function = any(is_function for *_, is_function in open_defs)
        qualified = (
            None if inside_function else ".".join([*(q for _, q, _, _ in open_defs if q), match.group(2)])
        )
        open_defs.append((indent, qualified, number, not stripped.startswith("class")))
        innermost = indent
    while open_defs:
        _close(open_defs.pop(), lines, len(lines), found)
    return found


def _close(
    definition: tuple[int, str | None, int, bool], lines: list[str], end: int, found: dict[str, str]
) -> None:
    _, qualified, start, is_function = definition
    if qualified is None:
        return
    if not is_function:
        # A class is known by name: its methods say what changed, and hashing it whole would
        # read every line of a large class once more.
        found[qualified] = ""
        return
    # The blank lines before the next statement are not the definition's.
    while end > start and not lines[end - 1].strip():
        end -= 1
    body = "\n".join(lines[start:end])
    found[qualified] = hashlib.sha1(body.encode("utf-8", "surrogatepass"), usedforsecurity=False).hexdigest()


def lines_missing_from(text: str, other: str) -> tuple[list[int], str]:
    """The lines of ``text`` that ``other`` lacks: their 1-based numbers, and their text.

    Indentation counts: code moved out of a function into module level runs on import.
    """
    known = set(other.splitlines())
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line not in known]
    return [n for n, _ in numbered], "\n".join(line for _, line in numbered)


def endpoints(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, value, line) of URLs, their hosts and public IPv4 addresses in a source text."""
    if "://" not in text:
        return _ips(text)
    return _urls_and_ips(text)


def _urls_and_ips(text: str) -> Iterator[tuple[str, str, int]]:
    line_of = _LineCounter(text)
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(".,;:")
        line = line_of(match.start())
        yield "url", url, line
        try:
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:
            continue
        if host and not _private_ip(host):
            yield ("ip" if _is_ip(host) else "domain"), host, line
    yield from _ips(text)


def _ips(text: str) -> Iterator[tuple[str, str, int]]:
    line_of = _LineCounter(text)
    for match in _IPV4.finditer(text):
        start, end = match.span()
        # A version such as 1.2.3.4.5 or a longer number is not an address.
        if (start and (text[start - 1].isalnum() or text[start - 1] == ".")) or (
            end < len(text) and (text[end].isalnum() or text[end] == ".")
        ):
            continue
        value = match.group(0)
        if _is_ip(value) and not _private_ip(value):
            yield "ip", value, line_of(start)


class _LineCounter:
    """1-based line of increasing offsets into one text, counting each newline once."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1

    def __call__(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _is_ip(value: str) -> bool:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


def _private_ip(value: str) -> bool:
    """Loopback, private, link-local... addresses: nowhere data could be sent to from outside."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    # Cloud metadata (169.254.169.254) is link-local but is what a stealer asks for credentials.
    if str(address) == "169.254.169.254":
        return False
    return not address.is_global
