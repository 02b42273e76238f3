"""The install policy: where it is read from, what it refuses to read, and what it blocks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from depvet.guard.judge import Judge
from depvet.model import Category, Finding, ScanResult, Severity, Verdict
from depvet.policy import (
    KEYS,
    BlockReason,
    Policy,
    PolicyError,
    VerdictThreshold,
    find_policy_file,
    load_policy,
)
from tests.conftest import run_cli

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _scan(verdict: Verdict, severity: Severity = Severity.CRITICAL) -> ScanResult:
    finding = Finding(
        "DV101", severity, Category.STARTUP, "A .pth file runs code at start-up", "x.pth", 1, "import os"
    )
    findings = () if verdict is Verdict.CLEAN else (finding,)
    return ScanResult("x.whl", "pkg", "1.0", None, verdict, 0.0, findings)


# -- where the policy comes from ---------------------------------------------------------------


def test_without_a_file_the_defaults_protect(tmp_path: Path) -> None:
    policy = load_policy(start=tmp_path)
    assert policy == Policy()
    assert policy.min_release_age == timedelta(days=7)
    assert policy.block_known_malicious
    assert policy.require_hashes
    assert not policy.allow_sdists
    assert policy.block_verdict is VerdictThreshold.MALICIOUS


def test_depvet_toml_and_pyproject_tool_table_are_found_from_a_subfolder(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "src" / "pkg").mkdir(parents=True)
    _write(project / "pyproject.toml", '[project]\nname = "x"\n\n[tool.depvet]\nmin-release-age = "3d"\n')
    found = find_policy_file(project / "src" / "pkg")
    assert found == project / "pyproject.toml"
    assert load_policy(start=project / "src" / "pkg").min_release_age == timedelta(days=3)
    # depvet.toml wins next to it; its keys are top-level.
    _write(project / "depvet.toml", 'min-release-age = "36h"\nblock-verdict = "suspicious"\n')
    policy = load_policy(start=project / "src")
    assert policy.min_release_age == timedelta(hours=36)
    assert policy.block_verdict is VerdictThreshold.SUSPICIOUS
    assert policy.source == str(project / "depvet.toml")


def test_a_pyproject_without_the_table_is_not_a_policy(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')
    assert find_policy_file(tmp_path) is None
    with pytest.raises(PolicyError, match=r"has no \[tool.depvet\] table"):
        load_policy(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('min-release-age = "7d"\ncooldown = "7d"\n', "unknown policy key 'cooldown'"),
        ("block-known-malicious = 1\n", "block-known-malicious must be true or false"),
        ('block-verdict = "bad"\n', "block-verdict must be one of 'suspicious', 'malicious', 'never'"),
        ('min-release-age = "a week"\n', "min-release-age must be a duration"),
        ('deny = "evil"\n', "deny must be a list of strings"),
        ('deny = ["not a requirement!"]\n', "is not a requirement"),
        ('allow = ["pkg @ https://example.org/pkg.whl"]\n', "only a name and a version range"),
        ('[[exemptions]]\npackage = "pkg"\nexpires = 2026-12-31\n', "exemptions[0] needs 'reason'"),
        ('[[exemptions]]\npackage = "pkg"\nreason = "ok"\n', "exemptions[0] needs 'expires'"),
        ('[[exemptions]]\npackage = "pkg"\nreason = " "\nexpires = 2026-12-31\n', "reason must say why"),
        ('[[exemptions]]\npackage = "pkg"\nreason = "ok"\nexpires = "soon"\n', "expires must be a date"),
        (
            '[[exemptions]]\npackage = "pkg"\nreason = "ok"\nexpires = 2026-12-31\nreasons = ["all"]\n',
            "'all' is not one of denied",
        ),
        (
            '[[exemptions]]\npackage = "pkg"\nreason = "ok"\nexpires = 2026-12-31\nuntil = 1\n',
            "unknown key 'until'",
        ),
        ("min-release-age = [\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_is_a_one_line_error_that_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path / "depvet.toml", text)
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert message in str(error.value)
    assert str(path) in str(error.value)
    assert "\n" not in str(error.value)


def test_every_key_of_the_schema_is_read() -> None:
    """The schema table (docs) and the loader agree: each documented key loads."""
    values = {
        "min-release-age": '"2d"',
        "block-known-malicious": "false",
        "block-known-vulnerable": "true",
        "block-verdict": '"never"',
        "block-severity": '"high"',
        "allow-sdists": "true",
        "require-hashes": "false",
        "allow": '["a"]',
        "deny": '["b<2"]',
        "exemptions": '[{package = "c", reason = "reviewed", expires = 2030-01-01}]',
    }
    assert set(values) == {k.name for k in KEYS}
    import tomllib

    from depvet.policy import policy_from_table

    table = tomllib.loads("\n".join(f"{k} = {v}" for k, v in values.items()))
    policy = policy_from_table(table, "test")
    assert policy != Policy(source="test")
    assert policy.block_severity is Severity.HIGH
    assert policy.block_known_vulnerable
    assert policy.exemptions[0].expires == date(2030, 1, 1)


# -- what it blocks ----------------------------------------------------------------------------


def test_cooldown_blocks_a_young_release_and_passes_an_old_one() -> None:
    policy = Policy(min_release_age=timedelta(days=7))
    (block,) = policy.release_blocks("pkg", "1.1", upload_time=NOW - timedelta(hours=5), now=NOW)
    assert block.reason is BlockReason.COOLDOWN
    assert block.rule_id == "DV012"
    assert "5 h ago" in block.detail
    assert "7 days" in block.detail
    assert policy.release_blocks("pkg", "1.0", upload_time=NOW - timedelta(days=30), now=NOW) == []
    # No upload time while a cooldown applies: its age cannot be told, so it does not pass.
    (unknown,) = policy.release_blocks("pkg", "1.0", upload_time=None, now=NOW)
    assert unknown.reason is BlockReason.AGE_UNKNOWN
    assert Policy(min_release_age=timedelta(0)).release_blocks("pkg", "1.0", upload_time=None) == []


def test_deny_and_allow_lists_match_names_and_versions() -> None:
    policy = Policy(
        deny=(_req("evil-pkg"), _req("pkg<2")), allow=(_req("trusted==1.0"),), min_release_age=timedelta(0)
    )
    assert policy.release_blocks("Evil_Pkg", "9.0", upload_time=None)[0].reason is BlockReason.DENIED
    assert policy.release_blocks("pkg", "1.9", upload_time=None)[0].reason is BlockReason.DENIED
    assert policy.release_blocks("pkg", "2.0", upload_time=None) == []
    # The allow list lifts everything, including a malicious verdict, for that release only.
    assert (
        policy.file_blocks("trusted", "1.0", "trusted-1.0.tar.gz", sha256=None, scan=_scan(Verdict.MALICIOUS))
        == []
    )
    assert policy.file_blocks(
        "trusted", "1.1", "trusted-1.1-py3-none-any.whl", sha256="ab", scan=_scan(Verdict.MALICIOUS)
    )


def test_file_blocks_sdists_missing_hashes_and_bad_verdicts() -> None:
    policy = Policy()
    wheel = "pkg-1.0-py3-none-any.whl"
    assert policy.file_blocks("pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.CLEAN)) == []
    assert (
        policy.file_blocks("pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.SUSPICIOUS, Severity.HIGH))
        == []
    )
    (bad,) = policy.file_blocks("pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.MALICIOUS))
    assert bad.reason is BlockReason.VERDICT
    assert bad.rule_id == "DV101"
    assert "x.pth" in bad.detail
    reasons = {b.reason for b in policy.file_blocks("pkg", "1.0", "pkg-1.0.tar.gz", sha256=None)}
    assert reasons == {BlockReason.SDIST, BlockReason.NO_HASH}
    assert (
        Policy(allow_sdists=True, require_hashes=False).file_blocks(
            "pkg", "1.0", "pkg-1.0.tar.gz", sha256=None
        )
        == []
    )
    strict = Policy(block_verdict=VerdictThreshold.SUSPICIOUS)
    assert strict.file_blocks("pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.SUSPICIOUS, Severity.HIGH))
    by_severity = Policy(block_verdict=VerdictThreshold.NEVER, block_severity=Severity.HIGH)
    (high,) = by_severity.file_blocks(
        "pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.SUSPICIOUS, Severity.HIGH)
    )
    assert high.reason is BlockReason.SEVERITY
    assert (
        by_severity.file_blocks(
            "pkg", "1.0", wheel, sha256="ab", scan=_scan(Verdict.SUSPICIOUS, Severity.MEDIUM)
        )
        == []
    )
    failed = ScanResult("x.whl", "pkg", "1.0", None, Verdict.ERROR, 0.0, (), error="truncated zip")
    assert (
        policy.file_blocks("pkg", "1.0", wheel, sha256="ab", scan=failed)[0].reason is BlockReason.SCAN_FAILED
    )


def test_an_exemption_lifts_its_reasons_until_it_expires(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "depvet.toml",
        '[[exemptions]]\npackage = "pkg==1.1"\nreason = "security fix we need now, diff reviewed"\n'
        'expires = 2026-12-01\nreasons = ["cooldown"]\n',
    )
    policy = load_policy(path)
    blocks = policy.release_blocks("pkg", "1.1", upload_time=NOW - timedelta(hours=2), now=NOW)
    decision = policy.decide("pkg", "1.1", blocks, NOW.date())
    assert decision.allowed
    ((lifted, exemption),) = decision.exempted
    assert lifted.reason is BlockReason.COOLDOWN
    assert "diff reviewed" in exemption.reason
    # After its date, or for another version, or for another reason, it lifts nothing.
    assert not policy.decide("pkg", "1.1", blocks, date(2026, 12, 2)).allowed
    assert not policy.decide("pkg", "1.2", blocks, NOW.date()).allowed
    verdict_block = policy.file_blocks(
        "pkg", "1.1", "pkg-1.1-py3-none-any.whl", sha256="ab", scan=_scan(Verdict.MALICIOUS)
    )
    assert not policy.decide("pkg", "1.1", verdict_block, NOW.date()).allowed
    assert policy.expired_exemptions(date(2026, 12, 2)) == list(policy.exemptions)


def test_judge_blocks_a_curated_tainted_release_and_not_its_predecessor() -> None:
    judge = Judge(Policy(), None, clock=lambda: NOW)
    tainted = judge.release("litellm", "1.82.8", NOW - timedelta(days=200))
    assert not tainted.allowed
    assert tainted.blocks[0].reason is BlockReason.KNOWN_MALICIOUS
    assert tainted.blocks[0].rule_id == "DV010"
    assert judge.release("litellm", "1.82.6", NOW - timedelta(days=200)).allowed
    assert (
        Judge(Policy(block_known_malicious=False), None, clock=lambda: NOW)
        .release("litellm", "1.82.8", NOW - timedelta(days=200))
        .allowed
    )


def test_policy_command_shows_the_effective_policy_and_rejects_a_bad_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = _write(tmp_path / "depvet.toml", 'min-release-age = "3d"\ndeny = ["evil"]\n')
    code, out, _ = run_cli(["policy", "--policy", str(good)], capsys)
    assert code == 0
    assert "min-release-age" in out
    assert "3 days" in out
    assert "evil" in out
    bad = _write(tmp_path / "bad.toml", "cooldown = 1\n")
    code, out, err = run_cli(["policy", "--policy", str(bad)], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "unknown policy key 'cooldown'" in err


def test_docs_list_every_policy_key(capsys: pytest.CaptureFixture[str]) -> None:
    docs = Path(__file__).parent.parent / "docs" / "policy.md"
    code, out, _ = run_cli(["policy", "--format", "markdown"], capsys)
    assert code == 0
    assert docs.read_text(encoding="utf-8") == out, "docs/policy.md is stale: run `make docs`"
    for key in KEYS:
        assert f"`{key.name}`" in out


def _req(text: str):  # type: ignore[no-untyped-def]
    from packaging.requirements import Requirement

    return Requirement(text)


def test_judge_asks_the_advisories_again_after_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy that runs for days sees a release recorded as malicious after it started."""
    from depvet.guard import judge as judge_module

    now = [NOW]
    recorded: list[str] = []

    def match(releases, store, *, vulnerabilities):  # type: ignore[no-untyped-def]
        from depvet.advisories.match import AdvisoryMatch
        from depvet.advisories.osv import Advisory, AdvisoryKind

        if not recorded:
            return {}
        advisory = Advisory("MAL-2026-9999", AdvisoryKind.MALICIOUS, "", None, None, (), "", "", None, ())
        return {key: [AdvisoryMatch(advisory, (), AdvisoryKind.MALICIOUS)] for key in releases}

    monkeypatch.setattr("depvet.advisories.match.match_releases", match)
    judge = Judge(Policy(), None, clock=lambda: now[0])
    old = NOW - timedelta(days=30)
    assert judge.release("quietpkg", "2.0", old).allowed
    recorded.append("MAL-2026-9999")  # `depvet db update` imports a new record
    assert judge.release("quietpkg", "2.0", old).allowed  # still the answer it remembers
    now[0] = NOW + judge_module.KNOWN_BAD_TTL + timedelta(seconds=1)
    assert not judge.release("quietpkg", "2.0", old).allowed
