"""Name risk: a dependency whose name is one slip away from a popular project's name (a typosquat).

Typosquatters register ``reqeusts``, ``python-dateutils``, ``djang0`` or ``dateutil-python`` and wait
for a hurried ``pip install``. A name is flagged when it is not popular itself but sits next to one of
the most downloaded projects: one edit away, the same letters with separators moved, the same words in
another order, or the same name drawn with look-alike characters.

The popular list ships as ``data/popular.txt`` (15,000 names, most downloaded first). This runs on
every ``depvet check``, so matching is dictionary lookups, never a scan of the list, and the indexes
are small enough to build at each start. On the 2-core development machine ``load()`` takes 15-18 ms
(reading the file included) and ``risk()`` over 500 names not in the list 3-4 ms: 18-22 ms together,
against an allowance of 30 ms.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

# Attackers imitate the names people type, and people type the names of popular projects. Measured
# with the list of 2025-04-01: against the top 5,000, 255 of the 10,000 projects ranked 5,001-15,000
# (2.5%, legitimate but less popular) would be flagged were they not in the list, and 364 of 3,000 real
# malicious PyPI names (12%); the top 2,500 give 1.7% and 11%, the top 10,000 3.8% and 16%. Each
# target also costs index entries built at every start.
TARGETS = 5_000

# Below this many characters one edit is too weak a signal ("six" and "sax", "attr" and "attrs"): both
# the name and the target need it. Measured as above, one-edit hits by the shorter name's length:
# 4 characters, 79 legitimate against 12 malicious; 5 characters, 67 against 18 ("falsk", "numoy");
# 6 characters, 51 against 51.
MIN_EDIT_LENGTH = 5

# Longer than any popular name, by far; longer input is not worth normalising.
_MAX_NAME = 128

_SEPARATORS = frozenset("-_.")


class NameRiskKind(enum.StrEnum):
    ONE_EDIT = "one-edit"  # one insertion, deletion, substitution or adjacent transposition
    SEPARATOR = "separator"  # the same letters with separators added, removed or moved
    HOMOGLYPH = "homoglyph"  # look-alike characters: 1/l/i, 0/o, rn/m, vv/w, cl/d, or non-ASCII letters
    REORDERED = "reordered"  # the same separator-joined words in another order


# Which explanation wins when one target is matched several ways: the most specific first, so that
# "djang0" reads as a look-alike of "django" rather than as a plain typo.
_KIND_ORDER = (NameRiskKind.HOMOGLYPH, NameRiskKind.SEPARATOR, NameRiskKind.REORDERED, NameRiskKind.ONE_EDIT)


@dataclass(frozen=True, slots=True)
class NameRisk:
    name: str  # the dependency's normalised name
    looks_like: str  # the popular project it imitates
    kind: NameRiskKind
    rank: int  # looks_like's 1-based popularity rank


def normalize(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, letters lower case (and surrounding
    blanks go). Written out by hand: the input is untrusted lockfile text, given plain character
    handling only."""
    out: list[str] = []
    for char in name.strip().lower():
        if char not in _SEPARATORS:
            out.append(char)
        elif not out or out[-1] != "-":
            out.append("-")
    return "".join(out)


class PopularNames:
    """The popular projects, and the indexes that say which of the top ones a name imitates."""

    __slots__ = ("_glyphs", "_halves", "_popular", "_rank", "_targets", "_unseparated", "_words")

    def __init__(self, names: Sequence[str], targets: int = TARGETS) -> None:
        """``names``: PEP 503-normalised, most popular first. The first ``targets`` of them are what
        other names are compared with; all of them count as popular."""
        self._popular = frozenset(names)
        self._targets = tuple(names[:targets])
        # Built from the targets in reverse, so that a key shared by several targets keeps the most
        # popular one and a lookup returns the best rank. Whole-list string operations where they
        # can be had: this runs at every start.
        backwards = self._targets[::-1]
        indexes = range(len(backwards) - 1, -1, -1)
        joined = "\n".join(backwards)
        unseparated = joined.replace("-", "").split("\n") if backwards else []
        skeletons = _skeleton(joined).split(b"\n") if backwards else []
        self._rank = dict(zip(backwards, indexes, strict=True))
        self._unseparated = dict(zip(unseparated, indexes, strict=True))
        self._glyphs = dict(zip(skeletons, indexes, strict=True))
        self._words = {
            _sorted_words(target): index
            for target, index in zip(backwards, indexes, strict=True)
            if "-" in target
        }
        # One edit leaves the first or the second half of a target intact; the one exception, a swap
        # across the middle, is tried directly at lookup. So each target is filed under its two halves
        # and its length: two keys a target, where a full deletion index needs one per character and
        # would take most of the start-up allowance to build.
        self._halves: dict[str, list[int]] = {}
        for index, target in enumerate(self._targets):
            if len(target) >= MIN_EDIT_LENGTH:
                for key in _half_keys(target, len(target)):
                    self._halves.setdefault(key, []).append(index)

    @classmethod
    def load(cls) -> PopularNames:
        """The list that ships with depvet, read and indexed once per process."""
        return _shipped()

    def __contains__(self, name: str) -> bool:
        return len(name) <= _MAX_NAME and normalize(name) in self._popular

    def __len__(self) -> int:
        return len(self._popular)

    def risk(self, name: str) -> NameRisk | None:
        """The popular project ``name`` imitates, or None when it is popular itself or near nothing
        popular. Of several matches the most popular target wins, then the kind order above."""
        if len(name) > _MAX_NAME:
            return None
        normal = normalize(name)
        if not normal or normal in self._popular:
            return None
        if not normal.isascii():
            return self._non_ascii_risk(normal)
        best: tuple[int, int] | None = None
        for index, kind in self._matches(normal):
            candidate = (index, _KIND_ORDER.index(kind))
            if best is None or candidate < best:
                best = candidate
        if best is None:
            return None
        index, order = best
        return NameRisk(normal, self._targets[index], _KIND_ORDER[order], index + 1)

    def _matches(self, name: str) -> Iterator[tuple[int, NameRiskKind]]:
        """Every (target index, kind) that ``name`` matches; ``name`` is ASCII and not popular."""
        index = self._glyphs.get(_skeleton(name))
        if index is not None:
            yield index, NameRiskKind.HOMOGLYPH
        index = self._unseparated.get(name.replace("-", ""))
        if index is not None:
            yield index, NameRiskKind.SEPARATOR
        if "-" in name:
            index = self._words.get(_sorted_words(name))
            if index is not None:
                yield index, NameRiskKind.REORDERED
        if len(name) >= MIN_EDIT_LENGTH:
            yield from self._one_edit_matches(name)

    def _one_edit_matches(self, name: str) -> Iterator[tuple[int, NameRiskKind]]:
        # A target one edit away is one character shorter, as long, or one longer.
        for length in (len(name) - 1, len(name), len(name) + 1):
            if length >= MIN_EDIT_LENGTH:
                for key in _half_keys(name, length):
                    for index in self._halves.get(key, ()):
                        if _one_edit(name, self._targets[index]):
                            yield index, NameRiskKind.ONE_EDIT
        middle = len(name) // 2
        swapped = name[: middle - 1] + name[middle] + name[middle - 1] + name[middle + 1 :]
        swapped_index = self._rank.get(swapped)
        if swapped_index is not None:
            yield swapped_index, NameRiskKind.ONE_EDIT

    def _non_ascii_risk(self, name: str) -> NameRisk | None:
        """PyPI names are ASCII, so a non-ASCII name can only pose as one: fold the look-alike letters
        to ASCII and report whatever the folded name is or imitates as a homoglyph."""
        folded = _fold(name)
        if folded is None:
            return None
        index = self._rank.get(folded)
        if index is not None:
            return NameRisk(name, folded, NameRiskKind.HOMOGLYPH, index + 1)
        near = self.risk(folded)
        if near is None:
            return None
        return NameRisk(name, near.looks_like, NameRiskKind.HOMOGLYPH, near.rank)


@cache
def _shipped() -> PopularNames:
    lines = resources.files("depvet.advisories").joinpath("data/popular.txt").read_text("ascii").split("\n")
    # A "#" header, then one normalised name a line (a test checks it): normalising 15,000 names again
    # at every start would cost as much as building all the indexes.
    start = 0
    while start < len(lines) and lines[start].startswith("#"):
        start += 1
    return PopularNames([line for line in lines[start:] if line])


def _half_keys(name: str, length: int) -> tuple[str, str]:
    """The keys under which a target of ``length`` characters one edit from ``name`` is filed, if
    the edit spares its first half or its second half: ``name``'s first ``length // 2`` characters
    and its last ``length - length // 2``, each tagged with ``length``."""
    half = length // 2
    tag = chr(length)
    return f"{tag}<{name[:half]}", f"{tag}>{name[len(name) - (length - half) :]}"


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one insertion, deletion, substitution or swap of
    two adjacent characters (optimal string alignment distance 1)."""
    if len(a) < len(b):
        a, b = b, a
    if len(a) - len(b) > 1:
        return False
    i = 0
    while i < len(b) and a[i] == b[i]:
        i += 1
    if len(a) != len(b):
        return a[i + 1 :] == b[i:]
    if i == len(a):
        return False
    if a[i + 1 :] == b[i + 1 :]:
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def _sorted_words(name: str) -> str:
    return "-".join(sorted(name.split("-")))


# Look-alikes that a PyPI name can contain. Single characters are mapped first, so that the "1" of
# "c1ick" becomes the "l" that the sequence "cl" (read as "d") then takes in, as it does in "click".
_GLYPH_CHARS = bytes.maketrans(b"1i0", b"llo")
_GLYPH_SEQUENCES = ((b"rn", b"m"), (b"vv", b"w"), (b"cl", b"d"))


def _skeleton(name: str) -> bytes:
    """``name`` (ASCII) with each look-alike replaced by one representative, so that names drawn
    alike compare equal. Bytes, because ``bytes.translate`` is several times faster than ``str``'s.
    No look-alike contains a newline, so the skeleton of names joined by newlines is their skeletons
    joined by newlines."""
    skeleton = name.encode("ascii").translate(_GLYPH_CHARS)
    for sequence, replacement in _GLYPH_SEQUENCES:
        skeleton = skeleton.replace(sequence, replacement)
    return skeleton


# Letters of other scripts drawn like Latin ones: the part of Unicode's confusables that matters for
# package names. Compatibility forms (fullwidth, mathematical letters) are folded by NFKD.
_CONFUSABLES = str.maketrans(
    # Cyrillic a, ve, ie, o, er, es, u, ha, ka, em, en, te, Ukrainian i, je, dze,
    # Komi de, shha, palochka, Kurdish qa and we.
    "\u0430\u0432\u0435\u043e\u0440\u0441\u0443\u0445\u043a\u043c\u043d\u0442"
    "\u0456\u0458\u0455\u0501\u04bb\u04cf\u051b\u051d"
    # Greek nu, omicron, alpha, rho, iota, kappa, chi, upsilon, tau, epsilon.
    "\u03bd\u03bf\u03b1\u03c1\u03b9\u03ba\u03c7\u03c5\u03c4\u03b5"
    # Latin dotless i, script g, alpha; script small l.
    "\u0131\u0261\u0251\u2113",
    "abeopcyxkmhtijsdhlqwvoapikxuteigal",
)

# Accents and invisible characters: "é" reads as "e", a zero-width space as nothing.
_DROPPED_CATEGORIES = frozenset({"Mn", "Me", "Cf"})


def _fold(name: str) -> str | None:
    """The ASCII name that ``name`` passes for, or None when a character has no ASCII look-alike."""
    decomposed = unicodedata.normalize("NFKD", name)
    kept = "".join(char for char in decomposed if unicodedata.category(char) not in _DROPPED_CATEGORIES)
    folded = normalize(kept.translate(_CONFUSABLES))
    return folded if folded and folded.isascii() else None
