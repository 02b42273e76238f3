"""OSV records -> advisories, and which versions they affect (PEP 440 and the OSV range rules)."""

from __future__ import annotations

import json

import pytest

from depvet.advisories.cvss import cvss3_base_score
from depvet.advisories.match import match_releases
from depvet.advisories.osv import AdvisoryKind, OsvRecordError, parse_record
from depvet.advisories.versions import affects
from depvet.model import Severity
from tests.advisories.osvdata import record


def _parse(document: dict[str, object]):  # type: ignore[no-untyped-def]
    advisory = parse_record(json.dumps(document))
    assert advisory is not None
    return advisory


def _affects(version: str, **kwargs: object) -> bool:
    advisory = _parse(record("PYSEC-1", "demo", **kwargs))  # type: ignore[arg-type]
    return affects(advisory.affected[0], version)


def test_mal_records_are_malicious_and_others_vulnerabilities() -> None:
    assert _parse(record("MAL-2026-1", "evil", versions=["1.0"])).kind is AdvisoryKind.MALICIOUS
    aliased = record("GHSA-aaaa-bbbb-cccc", "evil", versions=["1.0"], aliases=["MAL-2026-2"])
    assert _parse(aliased).kind is AdvisoryKind.MALICIOUS
    assert _parse(record("PYSEC-2024-1", "lib", versions=["1.0"])).kind is AdvisoryKind.VULNERABILITY


def test_names_are_normalised_and_other_ecosystems_dropped() -> None:
    assert _parse(record("MAL-1", "Foo_Bar.baz", versions=["1"])).affected[0].name == "foo-bar-baz"
    assert parse_record(json.dumps(record("MAL-2", "left-pad", versions=["1"], ecosystem="npm"))) is None


@pytest.mark.parametrize(
    "document",
    ["[]", "not json", json.dumps({"modified": "2026-01-01T00:00:00Z"}), json.dumps({"id": "X-1"})],
)
def test_invalid_records_raise(document: str) -> None:
    with pytest.raises(OsvRecordError):
        parse_record(document)


def test_explicit_versions_compare_as_pep440() -> None:
    assert _affects("1.0.0", versions=["1.0"])
    assert _affects("1.0", versions=["1.0.0"])
    assert not _affects("1.0.1", versions=["1.0"])
    assert _affects("1.0+local.build", versions=["1.0"])  # a local rebuild of the bad release
    assert not _affects("1!1.0", versions=["1.0"])  # another epoch is another release
    assert _affects("1!1.0", versions=["1!1.0"])
    assert _affects("0.1.2.post1", versions=["0.1.2-1"])  # ctx's version strings in PYSEC-2022-199
    assert not _affects("0.1.2", versions=["0.1.2-1"])
    assert _affects("weird-legacy", versions=["weird-legacy"])


def test_introduced_fixed_range_includes_prereleases_below_the_fix() -> None:
    events = [{"introduced": "0"}, {"fixed": "2.0"}]
    assert _affects("1.9", events=events)
    assert _affects("2.0rc1", events=events)
    assert _affects("0.0.1.dev0", events=events)
    assert not _affects("2.0", events=events)
    assert not _affects("2.0.post1", events=events)


def test_last_affected_is_inclusive_and_limit_ends_the_range() -> None:
    assert _affects("1.5", events=[{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert not _affects("1.5.1", events=[{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert not _affects("0.9", events=[{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert not _affects("3.0", events=[{"introduced": "0"}, {"limit": "3.0"}])
    assert _affects("2.9", events=[{"introduced": "0"}, {"limit": "3.0"}])


def test_several_introduced_fixed_pairs() -> None:
    events = [{"introduced": "1.0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"fixed": "2.1"}]
    assert [_affects(v, events=events) for v in ("0.9", "1.1", "1.2", "1.9", "2.0", "2.0.5", "2.1")] == [
        False,
        True,
        False,
        False,
        True,
        True,
        False,
    ]


def test_epochs_order_ranges() -> None:
    events = [{"introduced": "0"}, {"fixed": "1!0.5"}]
    assert _affects("9.0", events=events)  # epoch 0 sorts below every epoch-1 version
    assert not _affects("1!0.5", events=events)


def test_local_version_in_a_range_follows_its_public_version() -> None:
    assert _affects("1.5+cpu", events=[{"introduced": "1.0"}, {"last_affected": "1.5"}])
    assert not _affects("2.0+cpu", events=[{"introduced": "1.0"}, {"fixed": "2.0"}])


def test_unorderable_range_matches_nothing_but_versions_still_do() -> None:
    assert not _affects("1.0", events=[{"introduced": "not a version"}])
    assert _affects("1.0", events=[{"introduced": "not a version"}], versions=["1.0"])
    assert not _affects("also-not", events=[{"introduced": "0"}])


def test_severity_from_github_level_or_cvss() -> None:
    assert _parse(record("GHSA-1", "lib", versions=["1"], severity="MODERATE")).severity is Severity.MEDIUM
    vector = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}
    scored = record("PYSEC-9", "lib", versions=["1"])
    scored["severity"] = [vector]
    assert _parse(scored).severity is Severity.CRITICAL
    assert _parse(record("PYSEC-8", "lib", versions=["1"])).severity is None


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:U/C:L/I:N/A:N", 3.1),
        ("CVSS:3.0/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", None),
        ("CVSS:3.1/AV:N/AC:L", None),
    ],
)
def test_cvss3_base_scores(vector: str, score: float | None) -> None:
    assert cvss3_base_score(vector) == score


def test_matching_normalises_names_and_groups_aliases() -> None:
    mal = _parse(record("MAL-2026-7", "Foo_Bar", versions=["1.0"]))
    curated = _parse(record("DEPVET-foo-incident", "foo-bar", versions=["1.0"], aliases=["MAL-2026-7"]))
    vuln = _parse(record("PYSEC-2026-3", "foo.bar", events=[{"introduced": "0"}, {"fixed": "2.0"}]))
    found = match_releases(
        [("foo-bar", "1.0"), ("FOO_BAR", "1.5"), ("foo-bar", "2.0")],
        None,
        vulnerabilities=True,
        curated=[mal, curated, vuln],
    )
    first = found[("foo-bar", "1.0")]
    assert [m.advisory.id for m in first] == ["DEPVET-foo-incident", "PYSEC-2026-3"]
    assert first[0].also_known_as == ("MAL-2026-7",)
    assert first[0].kind is AdvisoryKind.MALICIOUS
    assert [m.advisory.id for m in found[("FOO_BAR", "1.5")]] == ["PYSEC-2026-3"]
    assert ("foo-bar", "2.0") not in found
