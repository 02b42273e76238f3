"""Name risk: typosquat look-alikes of popular projects, and the popular list that ships with depvet.

Each detector is tested with a pair: a name that must trigger and a benign look-alike that must not.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from depvet.advisories.namerisk import (
    MIN_EDIT_LENGTH,
    TARGETS,
    NameRisk,
    NameRiskKind,
    PopularNames,
    normalize,
)

BENIGN_TOP300 = Path(__file__).resolve().parents[3] / "shared" / "bench" / "benign-top300.txt"


@pytest.fixture(scope="module")
def popular() -> PopularNames:
    return PopularNames.load()


def _shipped_lines() -> list[str]:
    text = resources.files("depvet.advisories").joinpath("data/popular.txt").read_text("ascii")
    return text.splitlines()


# The shipped list -----------------------------------------------------------------------------


def test_shipped_list_is_normalised_unique_and_complete() -> None:
    lines = _shipped_lines()
    header = [line for line in lines if line.startswith("#")]
    names = lines[len(header) :]
    assert header
    assert lines[: len(header)] == header, "the comments are one header, then names only"
    assert "" not in names
    assert any("hugovk/top-pypi-packages" in line for line in header)
    assert len(names) == 15_000
    assert len(set(names)) == len(names)
    assert [name for name in names if normalize(name) != name] == []  # load() relies on it
    assert names[:3] == ["boto3", "urllib3", "setuptools"]


def test_data_folder_is_not_a_package() -> None:
    data = Path(str(resources.files("depvet.advisories"))) / "data"
    assert not (data / "__init__.py").exists()


def test_load_is_cached_once_per_process() -> None:
    assert PopularNames.load() is PopularNames.load()
    assert len(PopularNames.load()) == 15_000


@pytest.mark.parametrize(
    "name", ["urllib3", "URLLib3", "Python_DateUtil", "python.dateutil", "boto", "boto3"]
)
def test_contains_compares_normalised_names(popular: PopularNames, name: str) -> None:
    assert name in popular


@pytest.mark.parametrize("name", ["reqeusts", "", "日本語", "x" * 10_000])
def test_contains_rejects_unknown_names(popular: PopularNames, name: str) -> None:
    assert name not in popular


# One detector, one pair ----------------------------------------------------------------------

_TRIGGERS = [
    # (name, looks like, kind, why)
    ("reqeusts", "requests", NameRiskKind.ONE_EDIT, "adjacent transposition"),
    ("requestss", "requests", NameRiskKind.ONE_EDIT, "insertion"),
    ("reqests", "requests", NameRiskKind.ONE_EDIT, "deletion"),
    ("requezts", "requests", NameRiskKind.ONE_EDIT, "substitution"),
    ("python-dateutils", "python-dateutil", NameRiskKind.ONE_EDIT, "plural"),
    ("python3-dateutil", "python-dateutil", NameRiskKind.ONE_EDIT, "a real 2019 typosquat"),
    ("numpi", "numpy", NameRiskKind.ONE_EDIT, "the shortest names one edit is judged on"),
    ("pythondateutil", "python-dateutil", NameRiskKind.SEPARATOR, "separator removed"),
    ("req-uests", "requests", NameRiskKind.SEPARATOR, "separator added"),
    ("typingextensions", "typing-extensions", NameRiskKind.SEPARATOR, "separator removed"),
    ("dateutil-python", "python-dateutil", NameRiskKind.REORDERED, "words swapped"),
    ("normalizer-charset", "charset-normalizer", NameRiskKind.REORDERED, "words swapped"),
    ("djang0", "django", NameRiskKind.HOMOGLYPH, "0 for o: a look-alike before a typo"),
    ("c1ick", "click", NameRiskKind.HOMOGLYPH, "1 for l"),
    ("dick", "click", NameRiskKind.HOMOGLYPH, "d for cl"),
    ("rnatplotlib", "matplotlib", NameRiskKind.HOMOGLYPH, "rn for m"),
    ("vvheel", "wheel", NameRiskKind.HOMOGLYPH, "vv for w"),
    ("s1x", "six", NameRiskKind.HOMOGLYPH, "short names are still judged on look-alikes"),
]


@pytest.mark.parametrize(("name", "looks_like", "kind", "why"), _TRIGGERS, ids=[t[0] for t in _TRIGGERS])
def test_look_alike_is_flagged(
    popular: PopularNames, name: str, looks_like: str, kind: NameRiskKind, why: str
) -> None:
    risk = popular.risk(name)
    assert risk is not None, why
    assert (risk.name, risk.looks_like, risk.kind) == (name, looks_like, kind), why
    assert risk.rank >= 1
    assert risk.rank <= TARGETS


_BENIGN = [
    # (name, why it must stay quiet)
    ("requests", "the popular project itself"),
    ("Requests", "the same name, normalised"),
    ("pyaml", "popular itself, though one edit from pyyaml"),
    ("python_dateutil", "separators PEP 503 treats as equal"),
    ("Python.DateUtil", "separators PEP 503 treats as equal"),
    ("ffmpeg-python", "popular itself, though python-ffmpeg is its reordering"),
    ("lxml", "popular itself, though 1xml would be a look-alike of it"),
    ("sax", "one edit from six, but too short to judge"),
    ("nump", "one edit from numpy, but shorter than the judged length"),
    ("attr", "one edit from attrs, but too short to judge"),
    ("pyoxidizerr", "one edit from a popular name ranked below the targets"),
    ("requests-plus-something", "nowhere near a popular name"),
]


@pytest.mark.parametrize(("name", "why"), _BENIGN, ids=[b[0] for b in _BENIGN])
def test_benign_look_alike_is_not_flagged(popular: PopularNames, name: str, why: str) -> None:
    assert popular.risk(name) is None, why


def test_popular_pair_is_never_flagged(popular: PopularNames) -> None:
    # boto3 is boto plus a digit, and both are in the list: neither imitates the other.
    assert "boto" in popular
    assert "boto3" in popular
    assert popular.risk("boto") is None
    assert popular.risk("boto3") is None


def test_short_names_are_not_judged_on_one_edit() -> None:
    names = PopularNames(["abcd", "abcde"])
    assert len("abcd") < MIN_EDIT_LENGTH <= len("abcde")
    assert names.risk("abce") is None
    assert names.risk("abcdz") == NameRisk("abcdz", "abcde", NameRiskKind.ONE_EDIT, 2)


# Which match wins ---------------------------------------------------------------------------


def test_most_popular_target_wins() -> None:
    names = PopularNames(["alphab", "alphac", "alphad"])
    assert names.risk("alphaz") == NameRisk("alphaz", "alphab", NameRiskKind.ONE_EDIT, 1)
    # Order of appearance is the only thing that decides: the same query against reversed ranks.
    reversed_names = PopularNames(["alphad", "alphac", "alphab"])
    assert reversed_names.risk("alphaz") == NameRisk("alphaz", "alphad", NameRiskKind.ONE_EDIT, 1)


def test_rank_beats_kind() -> None:
    # "data-frames" is one edit from "data-framez" (rank 1) and a reordering of "frames-data" (rank 2).
    names = PopularNames(["data-framez", "frames-data"])
    assert names.risk("data-frames") == NameRisk("data-frames", "data-framez", NameRiskKind.ONE_EDIT, 1)


def test_kind_order_breaks_ties_on_one_target() -> None:
    # "djang0" is both one substitution from "django" and a look-alike of it: the look-alike wins.
    names = PopularNames(["django"])
    risk = names.risk("djang0")
    assert risk is not None
    assert risk.kind is NameRiskKind.HOMOGLYPH


def test_only_the_top_targets_are_imitated() -> None:
    names = ["first-project", "second-project", "third-project"]
    assert PopularNames(names, targets=2).risk("third-projekt") is None
    assert PopularNames(names, targets=3).risk("third-projekt") == NameRisk(
        "third-projekt", "third-project", NameRiskKind.ONE_EDIT, 3
    )
    # Below the targets still counts as popular.
    assert "third-project" in PopularNames(names, targets=2)


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("abcdefgh", "bacdefgh"),  # swap at the start
        ("abcdefgh", "abcedfgh"),  # swap across the middle, the case the half index cannot see
        ("abcdefgh", "abcdefhg"),  # swap at the end
        ("abcdefgh", "abcdefg"),  # last character dropped
        ("abcdefgh", "zabcdefgh"),  # character put in front
        ("abcdefgh", "abcdXefgh"),  # character put in the middle
    ],
)
def test_one_edit_is_found_wherever_it_is(name: str, target: str) -> None:
    risk = PopularNames([target.lower()]).risk(name)
    assert risk is not None
    assert risk.kind is NameRiskKind.ONE_EDIT


def test_two_edits_are_not_one() -> None:
    assert PopularNames(["abcdefgh"]).risk("bacdefhg") is None


# Untrusted input -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", " ", "-", "___", "日本語", "\x00\x01", "é" * 50, "a" * 100_000])
def test_odd_input_does_not_crash(popular: PopularNames, name: str) -> None:
    assert popular.risk(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "r\u0435quests",  # Cyrillic ie
        "\u0440\u0443\u0442\u0435st",  # Cyrillic er, u, te, ie: "pytest"
        "\uff52\uff45\uff51\uff55\uff45\uff53\uff54\uff53",  # fullwidth
        "re\u0301quests",  # combining accent
        "requ\u200bests",  # zero-width space
    ],
)
def test_non_ascii_look_alike_is_a_homoglyph(popular: PopularNames, name: str) -> None:
    risk = popular.risk(name)
    assert risk is not None
    assert risk.kind is NameRiskKind.HOMOGLYPH
    assert risk.looks_like in {"requests", "pytest"}


def test_non_ascii_near_miss_is_a_homoglyph_of_the_target(popular: PopularNames) -> None:
    # A Cyrillic ie for "e", and a transposition on top of it.
    risk = popular.risk("r\u0435qeusts")
    assert risk is not None
    assert (risk.name, risk.looks_like, risk.kind) == ("r\u0435qeusts", "requests", NameRiskKind.HOMOGLYPH)


# False alarms and speed ----------------------------------------------------------------------


@pytest.mark.skipif(not BENIGN_TOP300.exists(), reason="shared/bench is not beside the repository")
def test_benign_top300_never_fires(popular: PopularNames) -> None:
    names = [
        line.split("==", 1)[0].strip()
        for line in BENIGN_TOP300.read_text("utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(names) >= 290
    assert {name: popular.risk(name) for name in names if popular.risk(name)} == {}


def test_less_popular_projects_rarely_look_like_the_targets() -> None:
    # The projects ranked 5,001-15,000 are legitimate; were they not in the list, about 2.5% of them
    # would sit next to a target (measured when the list was made). A large rise means a regression.
    names = [line for line in _shipped_lines() if line and not line.startswith("#")]
    top = PopularNames(names[:TARGETS])
    flagged = sum(1 for name in names[TARGETS:] if top.risk(name))
    assert flagged <= 0.03 * len(names[TARGETS:])
