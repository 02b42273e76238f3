"""Provenance (PEP 740) and upload-time signals of ``depvet diff``.

Provenance objects here are inert, hand-written dicts served from 127.0.0.1: the attestations in
them are dummies, since depvet reads only the publisher and never verifies a signature.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from packaging.version import Version

from depvet.artifacts.simpleindex import IndexFile, SimpleIndexClient
from depvet.diff.provenance import (
    MAX_PROVENANCE_BYTES,
    FileProvenance,
    ProvenanceStatus,
    ProvenanceUnreadable,
    Publisher,
    fetch_provenance,
    parse_provenance,
    provenance_findings,
    provenance_notes,
    release_times,
    upload_time_findings,
)
from depvet.diff.rules import ATTESTATIONS_DROPPED, PUBLISHER_CHANGED, UNUSUAL_UPLOAD_TIME
from depvet.model import Category
from tests.localindex import IndexServer, Route, running

INTEGRITY_TYPE = "application/vnd.pypi.integrity.v1+json"
GITHUB = Publisher("GitHub", "owner/repo", "release.yml", "pypi")
# Shaped like PEP 740 attestations, but nothing in them is real and nothing checks them.
DUMMY_ATTESTATION = {
    "version": 1,
    "verification_material": {"certificate": "bm90LWEtY2VydGlmaWNhdGU=", "transparency_entries": []},
    "envelope": {"statement": "e30=", "signature": "AA=="},
}


def github(
    repository: str = "owner/repo", workflow: str = "release.yml", environment: str | None = "pypi"
) -> dict[str, object]:
    return {"kind": "GitHub", "repository": repository, "workflow": workflow, "environment": environment}


def provenance(*publishers: Mapping[str, object]) -> dict[str, object]:
    bundles = [{"publisher": dict(p), "attestations": [DUMMY_ATTESTATION]} for p in publishers or (github(),)]
    return {"version": 1, "attestation_bundles": bundles}


def served(document: object) -> Route:
    return Route(body=json.dumps(document).encode(), content_type=INTEGRITY_TYPE)


def wheel(version: str) -> str:
    return f"sample-{version}-py3-none-any.whl"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "www"
    root.mkdir()
    with running(IndexServer(root)) as state:
        yield state


def publish(
    index: IndexServer, releases: Mapping[str, Route | None], index_url: str = ""
) -> dict[str, IndexFile]:
    """A PEP 691 page for ``sample`` with one wheel per release; a Route serves its provenance."""
    entries: list[dict[str, object]] = []
    for version, route in releases.items():
        entry: dict[str, object] = {
            "filename": wheel(version),
            "url": f"/files/{wheel(version)}",
            "hashes": {},
        }
        if route is not None:
            path = f"/integrity/sample/{version}/{wheel(version)}/provenance"
            entry["provenance"] = path
            index.routes[path] = route
        entries.append(entry)
    page = {"meta": {"api-version": "1.3"}, "name": "sample", "files": entries}
    index.routes["/simple/sample/"] = Route(json_body=json.dumps(page).encode())
    files = SimpleIndexClient(timeout=5.0).project_files(index_url or f"{index.url}/simple/", "sample")
    return {f.filename: f for f in files}


def fetch_pair(
    index: IndexServer, old: Route | None, new: Route | None
) -> tuple[FileProvenance, FileProvenance]:
    files = publish(index, {"1.0": old, "1.1": new})
    return fetch_provenance(files[wheel("1.0")], timeout=5.0), fetch_provenance(
        files[wheel("1.1")], timeout=5.0
    )


# -- provenance regressions ---------------------------------------------------------------------------


def test_attestations_dropped(index: IndexServer) -> None:
    old, new = fetch_pair(index, served(provenance()), None)

    assert old == FileProvenance(wheel("1.0"), ProvenanceStatus.ATTESTED, (GITHUB,))
    assert new == FileProvenance(wheel("1.1"), ProvenanceStatus.NONE)
    [finding] = provenance_findings(old, new)
    assert finding.rule_id == ATTESTATIONS_DROPPED.id
    assert finding.category is Category.RELEASE_DIFF
    assert finding.severity is ATTESTATIONS_DROPPED.severity
    assert finding.path == wheel("1.1")
    assert "GitHub owner/repo, workflow release.yml, environment pypi" in finding.evidence
    assert wheel("1.0") in finding.evidence
    assert provenance_notes(old, new) == []
    # A file the index offers no provenance for is never requested.
    assert not any(wheel("1.1") in path for path in index.paths())


def test_same_publisher_is_no_finding(index: IndexServer) -> None:
    old, new = fetch_pair(index, served(provenance()), served(provenance()))

    assert (old.status, new.status) == (ProvenanceStatus.ATTESTED, ProvenanceStatus.ATTESTED)
    assert provenance_findings(old, new) == []


@pytest.mark.parametrize(
    ("old_status", "new_status"),
    [
        (ProvenanceStatus.NONE, ProvenanceStatus.ATTESTED),  # starting to attest is no regression
        (ProvenanceStatus.NONE, ProvenanceStatus.NONE),
        (ProvenanceStatus.ATTESTED, ProvenanceStatus.ATTESTED),
    ],
)
def test_no_regression_no_finding(old_status: ProvenanceStatus, new_status: ProvenanceStatus) -> None:
    def side(name: str, status: ProvenanceStatus) -> FileProvenance:
        publishers = (GITHUB,) if status is ProvenanceStatus.ATTESTED else ()
        return FileProvenance(name, status, publishers)

    assert provenance_findings(side("a.whl", old_status), side("b.whl", new_status)) == []


@pytest.mark.parametrize(
    ("changed", "shown"),
    [
        (github(repository="someone-else/repo-fork"), "GitHub someone-else/repo-fork"),
        (github(workflow="publish-from-fork.yml"), "workflow publish-from-fork.yml"),
        (
            {"kind": "GitLab", "repository": "owner/repo", "workflow_filepath": ".gitlab-ci.yml"},
            "GitLab owner/repo, workflow .gitlab-ci.yml",
        ),
    ],
)
def test_publisher_changed(index: IndexServer, changed: dict[str, object], shown: str) -> None:
    old, new = fetch_pair(index, served(provenance()), served(provenance(changed)))

    [finding] = provenance_findings(old, new)
    assert finding.rule_id == PUBLISHER_CHANGED.id
    assert finding.path == wheel("1.1")
    assert "GitHub owner/repo, workflow release.yml, environment pypi" in finding.evidence
    assert shown in finding.evidence
    assert finding.evidence.index("owner/repo, workflow release.yml") < finding.evidence.index(shown)


@pytest.mark.parametrize(
    "same",
    [
        github(repository="Owner/Repo"),  # GitHub repository names ignore case
        github(environment="release"),  # the environment is not part of the identity
        github(environment=None),
    ],
)
def test_publisher_identity_ignores_case_and_environment(index: IndexServer, same: dict[str, object]) -> None:
    old, new = fetch_pair(index, served(provenance()), served(provenance(same)))

    assert new.status is ProvenanceStatus.ATTESTED
    assert provenance_findings(old, new) == []


def test_an_added_publisher_is_a_change(index: IndexServer) -> None:
    extra = github(repository="someone-else/repo")
    old, new = fetch_pair(index, served(provenance()), served(provenance(github(), extra)))

    assert len(new.publishers) == 2
    [finding] = provenance_findings(old, new)
    assert finding.rule_id == PUBLISHER_CHANGED.id


def test_a_removed_publisher_is_a_change(index: IndexServer) -> None:
    extra = github(repository="someone-else/repo")
    old, new = fetch_pair(index, served(provenance(github(), extra)), served(provenance()))

    [finding] = provenance_findings(old, new)
    assert finding.rule_id == PUBLISHER_CHANGED.id
    assert "someone-else/repo" in finding.evidence


# -- provenance that cannot be read -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "reason"),
    [
        (Route(status=404, body=b'{"message": "No provenance available"}'), "HTTP 404 from http://"),
        (Route(status=500), "HTTP 500"),
        (
            Route(body=b'{"version": 1, "attestation_bundles": [', content_type=INTEGRITY_TYPE),
            "malformed JSON",
        ),
        (Route(body=b"<html>login</html>"), "malformed JSON"),
        (served([provenance()]), "not a JSON object"),
        (served({**provenance(), "version": 2}), "version 2 (depvet reads version 1)"),
        (served({**provenance(), "version": True}), "version true"),
        (served({"version": 1}), "'attestation_bundles' is missing"),
        (served({"version": 1, "attestation_bundles": []}), "'attestation_bundles' is missing, empty"),
        (served({"version": 1, "attestation_bundles": ["x"]}), r"attestation_bundles[0] is not an object"),
        (
            served({"version": 1, "attestation_bundles": [{"publisher": github(), "attestations": []}]}),
            "attestation_bundles[0].attestations is missing, empty",
        ),
        (
            served({"version": 1, "attestation_bundles": [{"attestations": [DUMMY_ATTESTATION]}]}),
            "attestation_bundles[0].publisher is missing",
        ),
        (
            served(provenance(github(), {"repository": "owner/repo", "kind": 7})),
            "attestation_bundles[1].publisher.kind is missing",
        ),
        (Route(body=b"x" * 10, declared_length=MAX_PROVENANCE_BYTES + 1), "byte limit"),
        (Route(body=b"{}", declared_length=50), "connection closed after 2 of 50 bytes"),
        (Route(status=302, headers={"Location": "ftp://127.0.0.1/p"}), "refused redirect"),
    ],
)
def test_unreadable_provenance_is_unavailable_with_a_note(
    index: IndexServer, route: Route, reason: str
) -> None:
    old, new = fetch_pair(index, served(provenance()), route)

    assert new.status is ProvenanceStatus.UNAVAILABLE
    assert new.publishers == ()
    assert new.detail is not None
    assert reason in new.detail
    assert "\n" not in new.detail
    # Not knowing is not the same as "not attested": no finding, a note instead.
    assert provenance_findings(old, new) == []
    [note] = provenance_notes(old, new)
    assert wheel("1.1") in note
    assert reason in note
    assert "\n" not in note


def test_unreadable_old_provenance_is_not_a_regression(index: IndexServer) -> None:
    old, new = fetch_pair(index, Route(status=404), None)

    assert (old.status, new.status) == (ProvenanceStatus.UNAVAILABLE, ProvenanceStatus.NONE)
    assert provenance_findings(old, new) == []
    [note] = provenance_notes(old, new)
    assert wheel("1.0") in note


def test_oversized_body_without_length_is_cut_off(index: IndexServer) -> None:
    route = Route(body=b" " * (MAX_PROVENANCE_BYTES + 1), send_length=False, content_type=INTEGRITY_TYPE)
    _, new = fetch_pair(index, served(provenance()), route)

    assert new.status is ProvenanceStatus.UNAVAILABLE
    assert new.detail is not None
    assert f"over the {MAX_PROVENANCE_BYTES} byte limit" in new.detail


def test_slow_provenance_times_out(index: IndexServer) -> None:
    files = publish(index, {"1.1": Route(delay=5.0, body=json.dumps(provenance()).encode())})

    result = fetch_provenance(files[wheel("1.1")], timeout=0.3)

    assert result.status is ProvenanceStatus.UNAVAILABLE
    assert result.detail is not None
    assert "timed out after 0.3 s" in result.detail


def test_unreachable_provenance_is_unavailable(dead_url: str) -> None:
    file = IndexFile(wheel("1.1"), f"{dead_url}/f", None, None, False, None, None, provenance=f"{dead_url}/p")

    result = fetch_provenance(file, timeout=5.0)

    assert result.status is ProvenanceStatus.UNAVAILABLE
    assert result.detail == f"cannot fetch {dead_url}/p: connection refused"


def test_a_page_from_the_network_cannot_point_provenance_at_local_files(tmp_path: Path) -> None:
    local = tmp_path / "sample.provenance"
    local.write_text(json.dumps(provenance()))
    remote = IndexFile(wheel("1.1"), "https://index.example/f.whl", None, None, False, None, None)
    mirrored = IndexFile(wheel("1.1"), (tmp_path / "f.whl").as_uri(), None, None, False, None, None)

    refused = fetch_provenance(replace(remote, provenance=local.as_uri()), timeout=5.0)
    read = fetch_provenance(replace(mirrored, provenance=local.as_uri()), timeout=5.0)
    other = fetch_provenance(replace(remote, provenance="ftp://index.example/p"), timeout=5.0)

    assert refused.status is ProvenanceStatus.UNAVAILABLE
    assert refused.detail == f"cannot fetch {local.as_uri()}: unsupported URL scheme 'file'"
    assert read == FileProvenance(wheel("1.1"), ProvenanceStatus.ATTESTED, (GITHUB,))
    assert other.detail == "cannot fetch ftp://index.example/p: unsupported URL scheme 'ftp'"


def test_provenance_credentials_are_sent_and_never_shown(index: IndexServer) -> None:
    index_url = f"http://__token__:s3cr3t@127.0.0.1:{index.port}/simple/"
    files = publish(index, {"1.0": served(provenance()), "1.1": Route(status=403)}, index_url=index_url)

    attested = fetch_provenance(files[wheel("1.0")], timeout=5.0)
    refused = fetch_provenance(files[wheel("1.1")], timeout=5.0)

    assert attested.status is ProvenanceStatus.ATTESTED
    expected = "Basic " + base64.b64encode(b"__token__:s3cr3t").decode()
    provenance_requests = [s for s in index.seen if s.path.startswith("/integrity/")]
    assert [s.authorization for s in provenance_requests] == [expected, expected]
    assert INTEGRITY_TYPE in (provenance_requests[0].accept or "")
    assert refused.detail is not None
    assert "HTTP 403" in refused.detail
    assert "s3cr3t" not in refused.detail
    assert "__token__:***@" in refused.detail


def test_html_page_with_data_provenance(index: IndexServer) -> None:
    index.routes[f"/integrity/{wheel('1.0')}.provenance"] = served(provenance())
    page = (
        '<html><head><meta name="pypi:repository-version" content="1.3"></head><body>\n'
        f'<a href="/files/{wheel("1.0")}" data-provenance="{index.url}/integrity/{wheel("1.0")}.provenance">'
        f"{wheel('1.0')}</a>\n"
        f'<a href="/files/{wheel("1.1")}">{wheel("1.1")}</a>\n'
        "</body></html>"
    )
    index.routes["/simple/sample/"] = Route(body=page.encode())
    files = SimpleIndexClient(timeout=5.0).project_files(f"{index.url}/simple/", "sample")

    old, new = (fetch_provenance(f, timeout=5.0) for f in files)

    assert old == FileProvenance(wheel("1.0"), ProvenanceStatus.ATTESTED, (GITHUB,))
    assert new.status is ProvenanceStatus.NONE
    assert [f.rule_id for f in provenance_findings(old, new)] == [ATTESTATIONS_DROPPED.id]


# -- publishers ---------------------------------------------------------------------------------------


def parse(*publishers: Mapping[str, object]) -> tuple[Publisher, ...]:
    return parse_provenance(json.dumps(provenance(*publishers)).encode(), "https://index.example/p")


def test_publisher_kinds_are_read() -> None:
    gitlab = {
        "kind": "GitLab",
        "repository": "group/sub/project",
        "workflow_filepath": ".gitlab-ci.yml",
        "environment": "production",
        "claims": {"ref": "refs/tags/v1"},
    }
    pep740_example = {
        "kind": "GitHub",
        "repository_owner": "octocat",
        "repository_name": "HolyGrail",
        "workflow_filename": "publish.yml",
        "environment": None,
    }
    google = {"kind": "Google", "email": "publisher@project.iam.gserviceaccount.com"}
    unknown = {"kind": "Buildkite", "repository": 12, "workflow": "", "vendor-property": "x"}

    assert parse(github(), gitlab, pep740_example, google, unknown, github()) == (
        GITHUB,
        Publisher("GitLab", "group/sub/project", ".gitlab-ci.yml", "production"),
        Publisher("GitHub", "octocat/HolyGrail", "publish.yml", None),
        Publisher("Google", "publisher@project.iam.gserviceaccount.com", None, None),
        Publisher("Buildkite", None, None, None),  # fields of the wrong type are absent, not fatal
    )


def test_parse_provenance_refuses_what_is_not_provenance() -> None:
    with pytest.raises(ProvenanceUnreadable, match="version 3"):
        parse_provenance(b'{"version": 3, "attestation_bundles": []}', "https://index.example/p")


def test_publisher_describe_and_identity() -> None:
    assert GITHUB.describe() == "GitHub owner/repo, workflow release.yml, environment pypi"
    assert Publisher("Buildkite", None, None, None).describe() == "Buildkite"
    assert Publisher("GitHub", "Owner/Repo", "release.yml", "x").identity == GITHUB.identity
    assert Publisher("GitHub", "owner/repo", "Release.yml", "pypi").identity != GITHUB.identity
    assert Publisher("GitLab", "owner/repo", "release.yml", "pypi").identity != GITHUB.identity


# -- upload time --------------------------------------------------------------------------------------

START = datetime(2026, 1, 6, 14, 0, tzinfo=UTC)


def files_at(times: Mapping[str, datetime | None], project: str = "sample") -> list[IndexFile]:
    """A wheel and, 7 minutes later, an sdist per release (the release's time is the wheel's)."""
    files: list[IndexFile] = []
    for version, when in times.items():
        later = when + timedelta(minutes=7) if when else None
        for name, at in (
            (f"{project}-{version}-py3-none-any.whl", when),
            (f"{project}-{version}.tar.gz", later),
        ):
            files.append(IndexFile(name, f"https://files.example/{name}", None, at, False, None, None))
    return files


def weekly(count: int, hour: int = 14) -> dict[str, datetime]:
    """Releases 0.1 ... 0.<count>, a week apart at about ``hour`` UTC (a few minutes either way)."""
    start = START.replace(hour=hour)
    return {f"0.{i + 1}": start + timedelta(weeks=i, minutes=(i * 13) % 50 - 25) for i in range(count)}


def after_history(history: dict[str, datetime], *, previous: str, new: str) -> dict[str, datetime]:
    """``history``, then 1.0 at ``previous`` (``HH:MM``) a week after its last release, and 1.1 at
    the first ``new`` after that (the next day if the clock time is earlier)."""
    day = max(history.values()) + timedelta(days=7)
    at_previous = day.replace(hour=int(previous[:2]), minute=int(previous[3:]), second=0)
    at_new = day.replace(hour=int(new[:2]), minute=int(new[3:]), second=0)
    if at_new <= at_previous:
        at_new += timedelta(days=1)
    return {**history, "1.0": at_previous, "1.1": at_new}


def test_weekly_project_releasing_at_night_within_hours() -> None:
    times = after_history(weekly(9), previous="00:00", new="03:00")

    [finding] = upload_time_findings(files_at(times), "sample", "1.0", "1.1")

    assert finding.rule_id == UNUSUAL_UPLOAD_TIME.id
    assert finding.path == "sample-1.1-py3-none-any.whl"  # the release's first upload
    day = times["1.1"]
    assert finding.evidence == (
        f"uploaded {day:%Y-%m-%d} 03:00 UTC, 3 h after 1.0; the project's releases are usually "
        "7 days apart and none of its 9 earlier releases was uploaded between 01:00 and 05:00 UTC"
    )


def test_weekly_project_releasing_at_its_usual_time() -> None:
    times = after_history(weekly(9), previous="11:30", new="14:30")

    assert upload_time_findings(files_at(times), "sample", "1.0", "1.1") == []


def test_weekly_project_two_uploads_minutes_apart_at_night() -> None:
    # LiteLLM 1.82.7 and 1.82.8 came 13 minutes apart: the first upload of a burst must not make
    # the second look usual.
    times = after_history(weekly(9), previous="02:50", new="03:03")

    [finding] = upload_time_findings(files_at(times), "sample", "1.0", "1.1")
    assert "13 min after 1.0" in finding.evidence


def test_weekly_project_new_release_days_after_the_previous() -> None:
    history = weekly(9)
    times = {**history, "1.1": (max(history.values()) + timedelta(days=2)).replace(hour=3, minute=0)}
    burst = {**history, "1.1": (max(history.values()) + timedelta(hours=14)).replace(hour=3, minute=0)}

    assert upload_time_findings(files_at(burst), "sample", "0.9", "1.1")  # 13 h after 0.9
    assert upload_time_findings(files_at(times), "sample", "0.9", "1.1") == []


def test_daily_project_is_never_unusual() -> None:
    daily = {f"0.{i + 1}": START + timedelta(days=i) for i in range(30)}
    times = after_history(daily, previous="00:00", new="03:00")
    # after_history puts 1.0 and 1.1 a week after the last daily release; bring them closer.
    times["1.0"] -= timedelta(days=6)
    times["1.1"] -= timedelta(days=6)

    assert upload_time_findings(files_at(times), "sample", "1.0", "1.1") == []
    assert upload_time_findings(
        files_at(after_history(weekly(30), previous="00:00", new="03:00")), "sample", "1.0", "1.1"
    )


def test_history_needs_eight_earlier_releases() -> None:
    seven = after_history(weekly(7), previous="00:00", new="03:00")
    eight = after_history(weekly(8), previous="00:00", new="03:00")

    assert upload_time_findings(files_at(seven), "sample", "1.0", "1.1") == []
    assert len(upload_time_findings(files_at(eight), "sample", "1.0", "1.1")) == 1


def test_time_of_day_wraps_around_midnight() -> None:
    late = weekly(9, hour=23)  # 22:35 ... 23:25
    near = after_history(late, previous="22:00", new="01:00")
    far = after_history(late, previous="22:00", new="03:30")

    assert upload_time_findings(files_at(near), "sample", "1.0", "1.1") == []
    [finding] = upload_time_findings(files_at(far), "sample", "1.0", "1.1")
    assert "between 01:30 and 05:30 UTC" in finding.evidence


def test_unknown_times_give_no_finding() -> None:
    times: dict[str, datetime | None] = {**after_history(weekly(9), previous="00:00", new="03:00")}
    known = files_at(times)
    times["1.1"] = None
    unknown = files_at(times)

    assert len(upload_time_findings(known, "sample", "1.0", "1.1")) == 1
    assert upload_time_findings(unknown, "sample", "1.0", "1.1") == []
    assert upload_time_findings(known, "sample", "1.0", "not a version!") == []
    assert upload_time_findings(known, "sample", "1.0", "2.0") == []  # not on the page


def test_other_projects_and_unparsable_files_are_ignored() -> None:
    def night(i: int) -> datetime:
        return START + timedelta(weeks=i, hours=-11)  # 03:00 UTC

    def noise(when: dict[str, datetime]) -> list[IndexFile]:
        unparsable = [
            IndexFile(f"sample-0.{i}.win32.exe", f"https://files.example/{i}.exe", None, t, False, None, None)
            for i, t in enumerate(when.values(), start=50)
        ]
        return [*files_at(when, project="other"), *unparsable]

    # Counted, uploads at 03:00 would make 03:00 usual; they are not the project's releases.
    at_night = {f"0.{i}": night(-i) for i in range(1, 5)}  # weeks before the project's history
    eight = files_at(after_history(weekly(8), previous="00:00", new="03:00"))
    assert len(upload_time_findings([*eight, *noise(at_night)], "sample", "1.0", "1.1")) == 1

    # Counted, they would make seven releases enough history.
    usual = {f"0.{i}": START - timedelta(weeks=i) for i in range(1, 5)}
    seven = files_at(after_history(weekly(7), previous="00:00", new="03:00"))
    assert upload_time_findings([*seven, *noise(usual)], "sample", "1.0", "1.1") == []


def test_release_time_is_its_earliest_upload_in_utc() -> None:
    cet = timezone(timedelta(hours=1))
    files = [
        IndexFile(
            "Sample-1.0.tar.gz", "u", None, datetime(2026, 3, 24, 12, 0, tzinfo=UTC), False, None, None
        ),
        # PEP 440: 1.0.0 is 1.0; 12:52+01:00 is 11:52 UTC, the earlier of the two.
        IndexFile(
            "sample-1.0.0-py3-none-any.whl",
            "u",
            None,
            datetime(2026, 3, 24, 12, 52, tzinfo=cet),
            False,
            None,
            None,
        ),
        IndexFile("sample-1.1.tar.gz", "u", None, None, False, None, None),
    ]

    times = release_times(files, "Sample")

    assert times == {Version("1.0"): datetime(2026, 3, 24, 11, 52, tzinfo=UTC)}
    assert times[Version("1.0")].utcoffset() == timedelta(0)


def test_upload_time_through_a_json_page(index: IndexServer) -> None:
    times = after_history(weekly(9), previous="00:00", new="03:00")
    entries = [
        {
            "filename": wheel(v),
            "url": f"/files/{wheel(v)}",
            "hashes": {},
            "upload-time": f"{t:%Y-%m-%dT%H:%M:%S.%fZ}",
        }
        for v, t in times.items()
    ]
    page = {"meta": {"api-version": "1.1"}, "name": "sample", "files": entries}
    index.routes["/simple/sample/"] = Route(json_body=json.dumps(page).encode())
    files = SimpleIndexClient(timeout=5.0).project_files(f"{index.url}/simple/", "sample")

    assert [f.rule_id for f in upload_time_findings(files, "sample", "1.0", "1.1")] == [
        UNUSUAL_UPLOAD_TIME.id
    ]
    assert upload_time_findings(files, "sample", "0.9", "1.0") == []  # 1.0 came a week after 0.9
