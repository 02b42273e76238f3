"""Rule documentation generated from the registry: docs/rules.md is never stale, every rule has
every section of the template, and the other formats show the same records."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from depvet.analysis.detectors import all_rules
from depvet.errors import UsageError
from depvet.model import Category, Severity
from depvet.report import rules_doc
from depvet.rules import Example, Rule

RULES = all_rules()
DOCS = Path(__file__).parent.parent.parent / "docs" / "rules.md"


def fake_rule(**changes: object) -> Rule:
    fields: dict[str, object] = {
        "id": "DV999",
        "name": "fake-rule",
        "title": "A fake rule",
        "severity": Severity.HIGH,
        "category": Category.EXECUTION,
        "description": "It does one thing. That thing is bad because it is.",
        "bad": Example(path="pkg/__init__.py", code="bad()\n"),
        "good": Example(path="pkg/__init__.py", code="good()\n"),
    }
    fields.update(changes)
    return Rule(**fields)  # type: ignore[arg-type]


def test_docs_rules_md_is_up_to_date() -> None:
    expected = rules_doc.render("markdown")
    actual = DOCS.read_text(encoding="utf-8") if DOCS.exists() else ""
    assert actual == expected, "docs/rules.md is stale: run `make docs` (depvet rules --format markdown)"


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_every_rule_has_every_section(rule: Rule) -> None:
    sections = rules_doc.rule_sections(rule)
    assert [title for title, _ in sections] == list(rules_doc.SECTIONS)
    for title, body in sections:
        assert body.strip(), f"{rule.id}: empty section {title!r}"
    text = rules_doc.rule_markdown(rule)
    positions = [text.index(f"\n#### {title}\n") for title in rules_doc.SECTIONS]
    assert positions == sorted(positions)
    assert text.startswith(f"### {rule.id} {rule.name}\n")
    for path in rule.bad.files():
        assert f"`{rules_doc.visible(path)}`" in text


def test_page_has_a_summary_table_and_one_section_per_rule_grouped_by_category() -> None:
    page = rules_doc.markdown_page(RULES)
    headings = re.findall(r"^### (DV\d{3}) ", page, flags=re.MULTILINE)
    assert sorted(headings) == sorted(r.id for r in RULES)
    table = re.findall(r"^\| \[(DV\d{3})\]\(#([^)]+)\) \|", page, flags=re.MULTILINE)
    assert [rule_id for rule_id, _ in table] == [r.id for r in RULES]
    for rule, (_, anchor) in zip(RULES, table, strict=True):
        assert anchor == rules_doc.rule_anchor(rule)
        assert anchor == f"{rule.id.lower()}-{rule.name}"
    categories = [c for c in Category if any(r.category is c for r in RULES)]
    category_headings = re.findall(r"^## (.+)$", page, flags=re.MULTILINE)
    assert category_headings == [rules_doc.CATEGORY_TITLES[c] for c in categories]
    order = [RULES_BY_ID[h].category for h in headings]
    assert order == sorted(order, key=list(Category).index)


RULES_BY_ID = {r.id: r for r in RULES}


@pytest.mark.parametrize("fmt", ["terminal", "json", "markdown"])
def test_unknown_rule_id_is_a_usage_error(fmt: str) -> None:
    with pytest.raises(UsageError) as info:
        rules_doc.render(fmt, "DV999")
    message = str(info.value)
    assert "DV999" in message
    assert "\n" not in message


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        rules_doc.render("html")


def test_rule_ids_are_case_insensitive() -> None:
    first = RULES[0]
    assert rules_doc.render("json", first.id.lower()) == rules_doc.render("json", first.id)


def test_json_lists_every_field_of_every_rule() -> None:
    data = json.loads(rules_doc.render("json"))
    assert [d["id"] for d in data] == [r.id for r in RULES]
    names = {f.name for f in dataclasses.fields(Rule)}
    example_names = {f.name for f in dataclasses.fields(Example)}
    for item, rule in zip(data, RULES, strict=True):
        assert set(item) == names
        assert set(item["bad"]) == example_names
        assert item["severity"] == str(rule.severity)
        assert item["category"] == str(rule.category)
        assert item["references"] == list(rule.references)


def test_json_of_one_rule_is_one_object() -> None:
    rule = RULES[-1]
    item = json.loads(rules_doc.render("json", rule.id))
    assert item["id"] == rule.id
    assert item == rules_doc.rule_to_dict(rule)


def test_terminal_table_lists_every_rule() -> None:
    text = rules_doc.render("terminal", width=200)
    for rule in RULES:
        assert re.search(rf"^{rule.id}\s+{rule.severity}\s+{re.escape(str(rule.category))}\s", text, re.M)
    assert "\x1b" not in text
    assert f"{len(RULES)} rules" in text


def test_terminal_shows_one_rule_in_detail() -> None:
    rule = RULES[0]
    text = rules_doc.render("terminal", rule.id, width=120)
    assert text.startswith(rule.id)
    for title in rules_doc.SECTIONS:
        assert title in text
    assert "\x1b" not in text
    assert "\x1b" in rules_doc.render("terminal", rule.id, color=True)


def test_description_splits_into_what_and_why() -> None:
    rule = fake_rule()
    sections = dict(rules_doc.rule_sections(rule))
    assert sections["What it does"] == "It does one thing."
    assert sections["Why is this bad"].startswith("That thing is bad because it is.")
    assert "Severity **high**" in sections["Why is this bad"]
    one_sentence = dict(rules_doc.rule_sections(fake_rule(description="Only one sentence here")))
    assert one_sentence["What it does"] == "Only one sentence here"
    assert one_sentence["Why is this bad"].startswith("Severity **high**")
    assert one_sentence["Known false positives"] == "None known."
    assert one_sentence["References"] == "None."


def test_examples_in_docs_are_safe_to_read() -> None:
    rule = fake_rule(
        bad=Example(path="pkg/a.py", code="x = 'abc\u202e'  # ```\n" + "y = 1\n" * 60 + "z" * 500 + "\n"),
        good=Example(path="pkg/b.pth", code="", artifact="sdist", links=(("pkg/l", "../x"),)),
    )
    text = rules_doc.rule_markdown(rule)
    assert "\u202e" not in text
    assert "\\u202e" in text
    assert "````python" in text
    assert "more lines" in text
    assert "z" * 500 not in text
    assert "(in an sdist)" in text
    assert "a link to `../x`" in text


def test_visible_escapes_what_a_terminal_would_obey() -> None:
    assert rules_doc.visible("a\x1b[2Jb\u202ec\u200bd") == "a\\x1b[2Jb\\u202ec\\u200bd"
    assert rules_doc.visible("x\ny") == "x\\x0ay"
    assert rules_doc.visible("x\ny", keep_newlines=True) == "x\ny"
    assert rules_doc.visible("naïve 名前 ✓") == "naïve 名前 ✓"
