"""Decide in one cheap pass whether a Python file is worth parsing, and which lines are.

Measured on the 50,000 ``.py`` files of the 300 most downloaded packages: each strong token
below occurs in under 1 % of files; the weak groups (processes 3 %, network 10 %, environment
5 %) are common in benign code and matter only together, in module-level code, or next to a
detector's context token (a secret path, a webhook host). Every token is found in one pass of
an Aho-Corasick automaton (a regex alternation with look-arounds ran at 6 MB/s).

A detector's ``tokens`` make a file worth parsing on their own; its ``context_tokens`` only
together with a weak group. Both must cover every string its ``strings`` pattern can match,
because function bodies without a token line are not walked.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

STRONG = (
    "execfile",
    "__import__",
    "__builtins__",
    "b64decode",
    "b32decode",
    "b16decode",
    "b85decode",
    "a85decode",
    "decodebytes",
    "decodestring",
    "a2b_base64",
    "decompress(",
    "unhexlify",
    "fromhex",
    "marshal",
    "rot13",
    "rot_13",
    "codecs.decode",
    "import pty",
    "pty.spawn",
    "from pty",
    "chmod",
    "spawnl",
    "spawnv",
    "os.exec",
    "dup2",
    "gethostbyname",
    "getaddrinfo",
    "dns.resolver",
    "powershell",
    "/dev/tcp",
    "nc -e",
)
WEAK_GROUPS: dict[str, tuple[str, ...]] = {
    "process": ("subprocess", "os.system", "system(", "popen", "Popen", "commands.get"),
    "network": (
        "requests.",
        "urlopen",
        "urlretrieve",
        "socket",
        "httpx",
        "aiohttp",
        "http.client",
        "httplib",
        "urllib3",
        "urllib2",
        "pycurl",
        # wget as a module or a command, not the word in "(curl and wget)" of API docstrings.
        "wget.",
        "wget -",
        "wget http",
        "'wget",
        '"wget',
        "ftplib",
        "smtplib",
        "websocket",
    ),
    # Reading one variable (an API key) is everywhere; these read the whole environment.
    "environment": (
        "environ.copy",
        "environ.items",
        "environ.keys",
        "environ.values",
        "environ)",
        "environ:",
        "environ,",
        "environ}",
        "**os.environ",
        "environ.__",
        "getenv()",
    ),
}
# "eval(" is in "retrieval(", "model.eval(" and "literal_eval(": a cheap substring gate first,
# then a word-boundary check.
_DYNAMIC_GATES = ("exec", "eval", "compile")
_GATED = frozenset({*_DYNAMIC_GATES, "compile("})
_OPEN_PAREN = re.compile(r"\s*\(")
_BUILTINS_ALIAS = re.compile(r"\bimport[ \t]+builtins[ \t]+as[ \t]+(\w+)|(\w+)[ \t]*=[ \t]*builtins\b")
_CALL_AFTER = re.compile(r"[\w.]*\s*\(")
_DEFINITIONS = ("def ", "async def ", "class ")
# How near tokens must be to count together. In a generated API module of 5 MB a docstring's
# "curl " and an "urllib3" import 100,000 lines apart say nothing; a payload keeps its parts
# within a function or two.
CONTEXT_WINDOW = 2_000
PAIR_WINDOW = 6_000
# Two weak groups that together can make something critical (download + run; secret + send).
_WEAK_PAIRS = ({"network", "process"}, {"network", "environment"})


class Prefilter:
    def __init__(
        self,
        tokens: Iterable[str] = (),
        context_tokens: Iterable[str] = (),
        hints: Iterable[str] = (),
    ) -> None:
        self.strong = tuple(dict.fromkeys([*STRONG, *tokens]))
        self.context = tuple(dict.fromkeys(context_tokens))
        weak = [t for group in WEAK_GROUPS.values() for t in group]
        # Hints make no file worth parsing and no line hot; the engine reads their positions
        # (the import statements, to see which modules a file imports).
        self._hints = frozenset(hints) - {*self.strong, *self.context, *weak}
        self._everything = tuple(
            dict.fromkeys([*self.strong, *self.context, *weak, *_DYNAMIC_GATES, "compile(", *self._hints])
        )
        self._strong = frozenset(self.strong)
        self._context = frozenset(self.context)
        self._group_of = {t: name for name, group in WEAK_GROUPS.items() for t in group}
        self._index = token_index(self._everything)

    def mentions(self, text: str) -> bool:
        """Whether ``text`` holds any token a detector looks for, alone or in a group.

        Looser than :meth:`screen`, which decides whether a whole file is worth parsing: this
        answers whether a few lines could add anything at all (the new lines of a changed file).
        ``exec``, ``eval`` and ``compile`` count as names of their own, not inside ``evalf`` or as
        a method (``torch.compile``, ``model.eval``).
        """
        hints = self._hints
        for start, token in self._index.find_all(text):
            if token in hints or (token in _GATED and not _builtin_name_at(text, start, token)):
                continue
            return True
        return False

    def screen(self, text: str, ascii_bytes: bytes | None = None) -> Screen:
        """Every token occurrence of ``text`` in one pass: whether to parse it, and which lines.

        ``ascii_bytes``, when given, is ``text`` as bytes (all ASCII, so offsets agree): the pass
        then reads the bytes, the cheaper form for the automaton.
        """
        if ascii_bytes is not None:
            return Screen(self, text, self._index.find_all_ascii(ascii_bytes))
        return Screen(self, text, self._index.find_all(text))


class Screen:
    """What the prefilter found in one text."""

    def __init__(self, prefilter: Prefilter, text: str, hits: list[tuple[int, str]]) -> None:
        self.text = text
        self.hits = hits
        self._starts: list[int] | None = None
        present = {token for _, token in hits}
        if not present.isdisjoint(_GATED):
            # "execute", "retrieval" and "_compile_and_eval" name nothing that runs code; as hot
            # lines they kept a third of the parsed code of SDKs unstubbed. ``m.exec(`` stays:
            # ``import builtins as m`` is resolved by the fact walker.
            hits = [hit for hit in hits if hit[1] not in _GATED or not _inside_a_word(text, *hit)]
            self.hits = hits
            present = {token for _, token in hits}
        self.hint_positions: list[int] = []
        if not present.isdisjoint(prefilter._hints):
            hints = prefilter._hints
            self.hint_positions = [start for start, token in hits if token in hints]
            hits = [hit for hit in hits if hit[1] not in hints]
            self.hits = hits
            present -= hints
        self.present = present
        self._strong_tokens = prefilter._strong
        self._group_of = prefilter._group_of
        self.strong = bool(present & prefilter._strong)
        self.wants = self.strong or self._wants_weak(prefilter, present)

    def _wants_weak(self, prefilter: Prefilter, present: set[str]) -> bool:
        text, hits = self.text, self.hits
        if not present.isdisjoint(_DYNAMIC_GATES) and (
            any(token in _DYNAMIC_GATES and _dynamic_call_at(text, start, token) for start, token in hits)
            or _through_builtins(text, hits)
        ):
            return True
        group_of = prefilter._group_of
        context = prefilter._context
        groups = {group_of[t] for t in present if t in group_of}
        if groups and (
            (any(pair <= groups for pair in _WEAK_PAIRS) and self._pair_nearby(group_of))
            or (not present.isdisjoint(context) and self._context_nearby(group_of, context))
        ):
            return True
        # Weak and context tokens in module-level code run on import. A process or network
        # token there counts only where something is called: ``class C(aiohttp.Connector):``,
        # ``def test_httpx_read():``, an annotation or a docstring line run nothing.
        return any(
            _module_level_line(text, start)
            and (token in context or group_of[token] == "environment" or _called_at(text, start, token))
            for start, token in self.hits
            if token in group_of or token in context
        )

    def _pair_nearby(self, group_of: dict[str, str]) -> bool:
        """Two weak groups that make a pair within ``PAIR_WINDOW`` characters of each other."""
        weak = [(start, group_of[token]) for start, token in self.hits if token in group_of]
        weak.sort()
        last: dict[str, int] = {}
        for start, group in weak:
            for pair in _WEAK_PAIRS:
                if group in pair:
                    (other,) = pair - {group}
                    if other in last and start - last[other] <= PAIR_WINDOW:
                        return True
            last[group] = start
        return False

    def _context_nearby(self, group_of: dict[str, str], context: frozenset[str]) -> bool:
        """A context token within ``CONTEXT_WINDOW`` characters of a weak token."""
        weak = sorted(start for start, token in self.hits if token in group_of)
        for start, token in self.hits:
            if token in context:
                i = bisect.bisect_left(weak, start - CONTEXT_WINDOW)
                if i < len(weak) and weak[i] <= start + CONTEXT_WINDOW:
                    return True
        return False

    def strong_lines_only(self) -> str:
        """The text with every line that holds no strong token blanked, line numbers kept.

        Tests and docs get text rules only where a strong token is: a test suite of 40 MB
        (google-cloud-aiplatform's) then costs what its few suspicious lines cost.
        """
        strong = self._strong_tokens
        text = self.text
        wanted = {text.rfind("\n", 0, start) + 1 for start, token in self.hits if token in strong}
        if not wanted:
            return ""
        starts = self.line_starts()
        lines = [""] * len(starts)
        for start in wanted:
            end = text.find("\n", start)
            lines[bisect.bisect_right(starts, start) - 1] = text[start:] if end == -1 else text[start:end]
        return "\n".join(lines)

    def hot_lines(self) -> frozenset[int]:
        if not self.hits:
            return frozenset()
        starts = self.line_starts()
        return frozenset(bisect.bisect_right(starts, start) for start, _ in self.hits)

    def weak_lines(self) -> frozenset[int]:
        """Hot lines holding nothing but weak tokens: in a docstring, a library named in prose."""
        starts = self.line_starts()
        weak: set[int] = set()
        other: set[int] = set()
        for start, token in self.hits:
            (weak if token in self._group_of else other).add(bisect.bisect_right(starts, start))
        return frozenset(weak - other)

    def line_starts(self) -> list[int]:
        if self._starts is None:
            self._starts = line_starts(self.text)
        return self._starts


class TokenIndex(Protocol):
    def find_all(self, text: str) -> list[tuple[int, str]]:
        """(start, token) of every occurrence of every token, overlapping ones included."""
        ...

    def contains_any(self, text: str) -> bool:
        """Whether any token occurs in ``text``; stops at the first."""
        ...

    def find_all_ascii(self, data: bytes) -> list[tuple[int, str]]:
        """``find_all`` of ASCII ``data``, whose offsets are those of its text."""
        ...


class _AutomatonIndex:
    """Aho-Corasick as a DFA (ahocorasick-rs, the Rust aho-corasick crate): all tokens in one pass.

    About 270 MB/s on the popular packages' Python with every hit turned into a tuple, where
    pyahocorasick's trie ran at 100 MB/s, a few hundred substring searches at under 10 MB/s and a
    regex alternation at 6-24 MB/s. Offsets are in characters of the ``str``, as Python counts.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        import ahocorasick_rs

        self._tokens = tuple(dict.fromkeys(token for token in tokens if token))
        self._automaton = ahocorasick_rs.AhoCorasick(
            self._tokens,
            matchkind=ahocorasick_rs.MatchKind.Standard,
            implementation=ahocorasick_rs.Implementation.DFA,
        )
        # A str goes to UTF-8 and its offsets back to characters; bytes need neither (1.7x).
        self._bytes_automaton = ahocorasick_rs.BytesAhoCorasick(
            [token.encode() for token in self._tokens],
            matchkind=ahocorasick_rs.MatchKind.Standard,
            implementation=ahocorasick_rs.Implementation.DFA,
        )

    def find_all(self, text: str) -> list[tuple[int, str]]:
        tokens = self._tokens
        return [
            (start, tokens[index])
            for index, start, _ in self._automaton.find_matches_as_indexes(text, overlapping=True)
        ]

    def contains_any(self, text: str) -> bool:
        return bool(self._automaton.find_matches_as_indexes(text))

    def find_all_ascii(self, data: bytes) -> list[tuple[int, str]]:
        tokens = self._tokens
        return [
            (start, tokens[index])
            for index, start, _ in self._bytes_automaton.find_matches_as_indexes(data, overlapping=True)
        ]


class _SubstringIndex:
    """The same answers with substring searches, where ahocorasick-rs cannot be installed."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = tuple(dict.fromkeys(token for token in tokens if token))

    def contains_any(self, text: str) -> bool:
        return any(token in text for token in self._tokens)

    def find_all_ascii(self, data: bytes) -> list[tuple[int, str]]:
        return self.find_all(data.decode("ascii"))

    def find_all(self, text: str) -> list[tuple[int, str]]:
        find = text.find
        hits: list[tuple[int, str]] = []
        for token in self._tokens:
            position = find(token)
            while position != -1:
                hits.append((position, token))
                position = find(token, position + 1)
        return hits


def token_index(tokens: Sequence[str]) -> TokenIndex:
    try:
        return _AutomatonIndex(tokens)
    except ImportError:
        return _SubstringIndex(tokens)


def line_starts(text: str) -> list[int]:
    """Offsets at which the lines of ``text`` start, the first line's 0 included."""
    find = text.find
    starts = [0]
    position = find("\n")
    while position != -1:
        starts.append(position + 1)
        position = find("\n", position + 1)
    return starts


def _dynamic_call_at(text: str, start: int, token: str) -> bool:
    """``exec(`` / ``eval (`` / ``compile(`` as a name of its own, not ``model.eval(``."""
    before = text[start - 1] if start else " "
    if before.isalnum() or before in "_.":
        return False
    return _OPEN_PAREN.match(text, start + len(token)) is not None


def _through_builtins(text: str, hits: list[tuple[int, str]]) -> bool:
    """exec reached through the module: ``from builtins import exec as run``, or on the line of an
    ``exec`` token the module by its name or an alias (``import builtins as b`` then ``b.exec(x)``,
    ``getattr(b, "exec")``)."""
    if "builtins" not in text:
        return False
    aliases = {"builtins", *(a or b for a, b in _BUILTINS_ALIAS.findall(text))}
    named = re.compile(r"\b(?:" + "|".join(sorted(aliases)) + r")\b")
    for start, token in hits:
        if token in _DYNAMIC_GATES:
            line_start = text.rfind("\n", 0, start) + 1
            line_end = text.find("\n", start)
            if named.search(text, line_start, len(text) if line_end == -1 else line_end):
                return True
    return False


def _inside_a_word(text: str, start: int, token: str) -> bool:
    end = start + len(token.rstrip("("))
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    return before.isalnum() or before == "_" or after.isalnum() or after == "_"


def _builtin_name_at(text: str, start: int, token: str) -> bool:
    return not _inside_a_word(text, start, token) and (start == 0 or text[start - 1] != ".")


def _called_at(text: str, start: int, token: str) -> bool:
    """Whether the dotted name the token is part of is called, outside a def or class name.

    On a ``def``/``class`` line only the parameters and bases run (default values, base
    expressions), so a token before the first parenthesis is the name being defined.
    """
    line_start = text.rfind("\n", 0, start) + 1
    if text.startswith(_DEFINITIONS, line_start):
        paren = text.find("(", line_start, start)
        if paren == -1:
            return False
    return token.endswith("(") or _CALL_AFTER.match(text, start + len(token)) is not None


def _module_level_line(text: str, position: int) -> bool:
    """Whether ``position`` is on an unindented line that is not an import or a comment."""
    line_start = text.rfind("\n", 0, position) + 1
    first = text[line_start : line_start + 1]
    if not first or first.isspace() or first == "#":
        return False
    return not text.startswith(("import ", "from "), line_start)
