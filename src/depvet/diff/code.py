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
_CODE_SUFFIXES = (".py", ".pyw", ".pth", ".sh", ".bash", ".js", ".ps1", ".bat", ".cmd", ".pyx")
_URL = re.compile(r"""\b(?:https?|wss?|ftp)://[^\s'"<>`)\]}\\]+""", re.IGNORECASE)
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")


def is_code(path: str) -> bool:
    return path.lower().endswith(_CODE_SUFFIXES)


def definitions(text: str) -> dict[str, str]:
    """Qualified name (``Class.method``) -> digest of the definition's text, for Python source.

    A definition runs from its ``def``/``class`` line to the next line indented as deeply or
    less (blank lines and comments aside); nested functions belong to their enclosing one.
    """
    lines = text.splitlines()
    lines_at = _LineCounter(text)
    starts = [
        (len(m.group(1).expandtabs()), m.group(2), lines_at(m.start()) - 1)
        for m in _DEFINITION.finditer(text)
    ]
    found: dict[str, str] = {}
    stack: list[tuple[int, str, bool]] = []  # (indent, name, is a function)
    for indent, name, line in starts:
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if any(is_function for _, _, is_function in stack):
            continue  # a nested function is part of the one around it
        qualified = ".".join([*(n for _, n, _ in stack), name])
        end = _definition_end(lines, line, indent)
        body = "\n".join(part.rstrip() for part in lines[line:end] if part.strip())
        found[qualified] = hashlib.sha1(
            body.encode("utf-8", "surrogatepass"), usedforsecurity=False
        ).hexdigest()
        is_function = not lines[line].lstrip().startswith("class")
        stack.append((indent, name, is_function))
    return found


def _definition_end(lines: list[str], start: int, indent: int) -> int:
    for line in range(start + 1, len(lines)):
        expanded = lines[line].expandtabs()
        stripped = expanded.strip()
        if stripped and not stripped.startswith("#") and len(expanded) - len(expanded.lstrip()) <= indent:
            return line
    return len(lines)


def endpoints(text: str) -> Iterator[tuple[str, str, int]]:
    """(kind, value, line) of URLs, their hosts and public IPv4 addresses in a source text."""
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
    line_of = _LineCounter(text)
    for match in _IPV4.finditer(text):
        value = match.group(0)
        if _is_ip(value) and not _private_ip(value):
            yield "ip", value, line_of(match.start())


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
