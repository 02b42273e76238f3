"""Every rule's own examples: the bad one must trigger it, the benign look-alike must not."""

from __future__ import annotations

import pytest

from depvet.analysis.detectors import all_rules
from depvet.report.rules_doc import is_diff_example
from depvet.rules import CHECK, Example, Rule
from tests.conftest import CheckFiles, DiffExample, ScanFiles, check_rule_ids, diff_rule_ids, rule_ids

RULES = all_rules()


def _check_example(example: Example, check_files: CheckFiles) -> set[str]:
    return check_rule_ids(check_files(example.files(), example.path, *example.args))


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_bad_example_triggers(
    rule: Rule, scan_files: ScanFiles, check_files: CheckFiles, diff_example: DiffExample
) -> None:
    bad = rule.bad
    if bad.artifact == CHECK:
        assert rule.id in _check_example(bad, check_files)
        return
    if is_diff_example(bad):
        diff = diff_example(bad)
        assert rule.id in diff_rule_ids(diff), (diff["reasons"], diff["notes"])
        return
    result = scan_files(bad.files(), artifact=bad.artifact, links=bad.links, locked_sha256=bad.locked_sha256)
    assert rule.id in rule_ids(result), [f"{f.rule_id} {f.evidence}" for f in result.findings]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_good_example_stays_quiet(
    rule: Rule, scan_files: ScanFiles, check_files: CheckFiles, diff_example: DiffExample
) -> None:
    good = rule.good
    if good.artifact == CHECK:
        assert rule.id not in _check_example(good, check_files)
        return
    if is_diff_example(good):
        diff = diff_example(good)
        assert diff["error"] is None, diff["error"]
        assert rule.id not in diff_rule_ids(diff), (diff["reasons"], diff["notes"])
        return
    result = scan_files(
        good.files(), artifact=good.artifact, links=good.links, locked_sha256=good.locked_sha256
    )
    assert rule.id not in rule_ids(result), [f"{f.rule_id} {f.evidence}" for f in result.findings]


def test_rule_ids_are_unique_and_documented() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for rule in RULES:
        assert rule.title, rule.id
        assert len(rule.title) < 80, rule.id
        assert len(rule.description) > 80, rule.id
        assert rule.bad != rule.good, rule.id


def test_every_family_has_rules() -> None:
    from depvet.model import Category

    families = {r.category for r in RULES}
    assert families == set(Category), set(Category) - families
