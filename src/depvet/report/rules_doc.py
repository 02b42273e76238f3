"""The rule registry as documentation: ``depvet rules [RULE_ID] --format terminal|json|markdown``.

Every rule is documented from its record alone (``depvet.rules.Rule``), with one template:
*What it does / Why is this bad / Example (bad) / Use instead (good) / Known false positives /
References*. ``docs/rules.md`` is this module's markdown output (``make docs``); a test fails when
it is stale. SARIF rule help (``report/sarif.py``) reuses the same sections.
"""

from __future__ import annotations

import dataclasses
import enum
import io
import json
import re
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, assert_never

from depvet.errors import UsageError
from depvet.model import Category, Severity
from depvet.report.styles import SEVERITY_STYLE
from depvet.rules import CHECK, DIFF, MATCHING, Example, Rule

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text


class DocFormat(enum.StrEnum):
    TERMINAL = "terminal"
    JSON = "json"
    MARKDOWN = "markdown"


SECTIONS = (
    "What it does",
    "Why is this bad",
    "Example (bad)",
    "Use instead (good)",
    "Known false positives",
    "References",
)

CATEGORY_TITLES: dict[Category, str] = {
    Category.STARTUP: "Start-up and install-time execution",
    Category.OBFUSCATION: "Obfuscation",
    Category.CREDENTIALS: "Credential access",
    Category.EXFILTRATION: "Exfiltration",
    Category.EXECUTION: "Execution",
    Category.PERSISTENCE: "Persistence",
    Category.LATERAL_MOVEMENT: "Lateral movement",
    Category.ANOMALY: "Artifact anomalies",
    Category.ANALYSIS: "Analysis",
    Category.KNOWN_BAD: "Known-bad releases",
    Category.VULNERABILITY: "Known vulnerabilities",
    Category.DEPENDENCY_RISK: "Dependency risk",
    Category.RELEASE_DIFF: "Release diff (depvet diff)",
}

SEVERITY_MEANING: dict[Severity, str] = {
    Severity.CRITICAL: "on its own this is malware: the package's verdict becomes `malicious`.",
    Severity.HIGH: "on its own this is worth a human look, even in a popular package: "
    "the verdict becomes `suspicious`.",
    Severity.MEDIUM: "it matters in combination with other findings; on its own the package stays `clean`.",
    Severity.LOW: "a weak signal, listed for context; the package stays `clean`.",
    Severity.INFO: "information only; the package stays `clean`.",
}

_MAX_EXAMPLE_LINES = 40
_MAX_LINE = 160
_FIRST_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(]|depvet\b)")
_LANGUAGES = {".py": "python", ".pyw": "python", ".toml": "toml", ".cfg": "ini", ".ini": "ini", ".sh": "sh"}


def render(
    fmt: str, rule_id: str | None = None, *, width: int | None = None, color: bool | None = None
) -> str:
    """The registry (or the one rule ``rule_id``) in ``fmt``; an unknown rule id is a UsageError.

    ``json`` gives a list of rule objects, or the one object when ``rule_id`` is given.
    """
    try:
        doc_format = DocFormat(fmt)
    except ValueError:
        choices = ", ".join(f.value for f in DocFormat)
        raise UsageError(f"unknown rules format {fmt!r} (choose from {choices})") from None
    rules = registry()
    if rule_id is not None:
        rules = [find_rule(rule_id, rules)]
    match doc_format:
        case DocFormat.MARKDOWN:
            return rule_markdown(rules[0]) if rule_id is not None else markdown_page(rules)
        case DocFormat.JSON:
            data: Any = rule_to_dict(rules[0]) if rule_id is not None else [rule_to_dict(r) for r in rules]
            return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        case DocFormat.TERMINAL:
            return _terminal(rules, detail=rule_id is not None, width=width, color=color)
        case _:
            assert_never(doc_format)


def registry() -> list[Rule]:
    from depvet.analysis.detectors import all_rules

    return all_rules()


def find_rule(rule_id: str, rules: Sequence[Rule]) -> Rule:
    wanted = rule_id.strip().upper()
    for rule in rules:
        if rule.id == wanted:
            return rule
    raise UsageError(f"unknown rule id {rule_id!r} ('depvet rules' lists them)")


# --- plain data --------------------------------------------------------------------------------


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """Every field of the rule record, as JSON-ready data (enums as their values)."""
    data = _plain(rule)
    assert isinstance(data, dict)
    return data


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --- text helpers ------------------------------------------------------------------------------


def visible(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` with control, format (bidi, zero-width) and other invisible characters escaped.

    Scanned code is hostile: an evidence string may carry terminal escape sequences or
    right-to-left overrides that would rewrite what a reader sees.
    """
    out: list[str] = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif ch == "\t":
            out.append("    " if keep_newlines else " ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"):
            out.append(_escape(ord(ch)))
        else:
            out.append(ch)
    return "".join(out)


def _escape(code: int) -> str:
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def split_description(description: str) -> tuple[str, str]:
    """(what it does, why it is bad): the first sentence, and the rest of the description."""
    parts = _FIRST_SENTENCE.split(description.strip(), maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def why_text(rule: Rule) -> str:
    _, why = split_description(rule.description)
    severity = f"Severity **{rule.severity}**: {SEVERITY_MEANING[rule.severity]}"
    if rule.bad.artifact == CHECK:
        severity += " It is about the release, not its code, so where code runs does not change it."
        return f"{why}\n\n{severity}" if why else severity
    if is_diff_example(rule.bad):
        severity += (
            " It is reported by depvet diff about what an update changed; the rule itself says "
            "which code it is about."
        )
        return f"{why}\n\n{severity}" if why else severity
    if rule.context_weighted:
        severity += " In code that only runs when called, it counts one level lower."
    severity += " In code under tests/, docs/ or examples/, two levels lower."
    return f"{why}\n\n{severity}" if why else severity


def example_files(example: Example) -> list[tuple[str, str]]:
    """(path, code) of every file of an example, shortened for reading, invisible characters escaped."""
    return [(path, _shorten(code)) for path, code in example.files().items()]


def _shorten(code: str) -> str:
    lines = visible(code, keep_newlines=True).splitlines()
    shown = [line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 2] + " …" for line in lines]
    if len(shown) > _MAX_EXAMPLE_LINES:
        shown = [*shown[:_MAX_EXAMPLE_LINES], f"… ({len(shown) - _MAX_EXAMPLE_LINES} more lines)"]
    return "\n".join(shown)


def language(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    suffix = name[name.rfind(".") :] if "." in name else ""
    return _LANGUAGES.get(suffix.lower(), "text")


def _fence(code: str) -> str:
    longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
    return "`" * max(3, longest + 1)


# --- markdown ------------------------------------------------------------------------------------


def _where(example: Example) -> str:
    if example.artifact == "directory":
        return ""
    if example.artifact == CHECK:
        return f" (`depvet check {' '.join([example.path, *example.args])}`)"
    where = f" (in {_article(example.artifact)}"
    if example.locked_sha256 == MATCHING:
        where += " that a lockfile pinned with its own sha256"
    elif example.locked_sha256 is not None:
        where += f" that a lockfile pinned with sha256 {example.locked_sha256[:12]}…"
    return where + ")"


def is_diff_example(example: Example) -> bool:
    return example.artifact.startswith(DIFF)


def _diff_example_markdown(example: Example) -> str:
    kind = "sdist" if example.artifact != DIFF else "wheel"
    parts: list[str] = []
    for label, files in (
        (f"previous release (sample 1.0, {_article(kind)})", dict(example.before)),
        (f"new release (sample 1.1, {_article(kind)})", example.files()),
    ):
        for path, code in files.items():
            shown = _shorten(code)
            fence = _fence(shown)
            parts.append(
                f"`{path}` in the {label}:\n\n{fence}{language(path)}\n{shown or '# (empty file)'}\n{fence}"
            )
    if example.index:
        facts = "\n".join(f"- {visible(key)}: `{visible(_shorten(value))}`" for key, value in example.index)
        parts.append(f"What the index says (`depvet diff sample 1.0 1.1`):\n\n{facts}")
    return "\n\n".join(parts)


def _example_markdown(example: Example) -> str:
    if is_diff_example(example):
        return _diff_example_markdown(example)
    parts: list[str] = []
    where = _where(example)
    for path, code in example_files(example):
        fence = _fence(code)
        body = code if code else "# (empty file)"
        parts.append(f"`{path}`{where}:\n\n{fence}{language(path)}\n{body}\n{fence}")
    for member, target in example.links:
        parts.append(f"`{visible(member)}`: a link to `{visible(target)}`{where}")
    return "\n\n".join(parts)


def _article(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" or word == "sdist" else f"a {word}"


def rule_sections(rule: Rule) -> list[tuple[str, str]]:
    """The six documentation sections of a rule, as (title, markdown body), in template order."""
    what, _ = split_description(rule.description)
    references = "\n".join(f"- <{url}>" for url in rule.references) or "None."
    sections = [
        (SECTIONS[0], what),
        (SECTIONS[1], why_text(rule)),
        (SECTIONS[2], _example_markdown(rule.bad)),
        (SECTIONS[3], _example_markdown(rule.good)),
        (SECTIONS[4], rule.false_positives.strip() or "None known."),
        (SECTIONS[5], references),
    ]
    return sections


def rule_heading(rule: Rule) -> str:
    return f"{rule.id} {rule.name}"


def rule_anchor(rule: Rule) -> str:
    """GitHub's anchor for :func:`rule_heading`: lower case, spaces to hyphens, other punctuation dropped."""
    slug = re.sub(r"[^\w\- ]", "", rule_heading(rule).lower())
    return slug.replace(" ", "-")


def rule_markdown(rule: Rule, level: int = 3) -> str:
    head = "#" * level
    sub = "#" * (level + 1)
    weighted = "yes" if rule.context_weighted else "no"
    lines = [
        f"{head} {rule_heading(rule)}",
        "",
        f"**{_md_inline(rule.title)}**",
        "",
        f"Severity: `{rule.severity}` · category: `{rule.category}` · weighted by context: {weighted}",
    ]
    for title, body in rule_sections(rule):
        lines += ["", f"{sub} {title}", "", body]
    return "\n".join(lines) + "\n"


def _md_inline(text: str) -> str:
    return visible(text).replace("|", "\\|").replace("*", "\\*")


def markdown_page(rules: Sequence[Rule]) -> str:
    out = io.StringIO()
    out.write("# depvet rules\n\n")
    out.write(
        "<!-- Generated from the rule registry by `depvet rules --format markdown` (`make docs`).\n"
        "     Do not edit by hand: a test fails when this page is stale. -->\n\n"
    )
    out.write(
        f"{len(rules)} rules. A rule's severity is for code that runs on its own (at install, import or\n"
        "interpreter start-up). For context-weighted rules, code that only runs when called counts one\n"
        "level lower; code under tests/, docs/ or examples/ always counts two levels lower. Any `critical`\n"
        "finding makes a package `malicious`, any `high` finding makes it `suspicious`.\n\n"
    )
    out.write("| Rule | Severity | Category | Title |\n| --- | --- | --- | --- |\n")
    for rule in rules:
        out.write(
            f"| [{rule.id}](#{rule_anchor(rule)}) | {rule.severity} | {rule.category} |"
            f" {_md_inline(rule.title)} |\n"
        )
    for category in Category:
        members = [r for r in rules if r.category is category]
        if not members:
            continue
        out.write(f"\n## {CATEGORY_TITLES.get(category, str(category))}\n")
        for rule in members:
            out.write("\n" + rule_markdown(rule))
    return out.getvalue()


# --- terminal --------------------------------------------------------------------------------------


def _terminal(rules: Sequence[Rule], *, detail: bool, width: int | None, color: bool | None) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width or 100,
        force_terminal=color,
        no_color=color is False,
        highlight=False,
        soft_wrap=False,
    )
    if detail:
        _terminal_detail(console, rules[0])
    else:
        _terminal_table(console, rules)
    return buffer.getvalue()


def _terminal_table(console: Console, rules: Sequence[Rule]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("severity", no_wrap=True)
    table.add_column("category", no_wrap=True)
    table.add_column("title")
    for rule in rules:
        table.add_row(
            rule.id,
            Text(str(rule.severity), style=SEVERITY_STYLE[rule.severity]),
            str(rule.category),
            Text(visible(rule.title)),
        )
    console.print(table)
    console.print(Text(f"{len(rules)} rules; 'depvet rules DV101' shows one in detail.", style="dim"))


def _terminal_detail(console: Console, rule: Rule) -> None:
    from rich.padding import Padding
    from rich.text import Text

    header = Text()
    header.append(rule.id, style="bold")
    header.append(f"  {rule.name}", style="dim")
    console.print(header)
    console.print(Text(visible(rule.title), style="bold"))
    weighted = "yes" if rule.context_weighted else "no"
    line = Text()
    line.append("severity ")
    line.append(str(rule.severity), style=SEVERITY_STYLE[rule.severity])
    line.append(f" · category {rule.category} · weighted by context: {weighted}")
    console.print(line)
    what, _ = split_description(rule.description)
    plain_sections = [
        (SECTIONS[0], Text(visible(what))),
        (SECTIONS[1], Text(visible(why_text(rule).replace("**", ""), keep_newlines=True))),
        (SECTIONS[2], _terminal_example(rule.bad)),
        (SECTIONS[3], _terminal_example(rule.good)),
        (SECTIONS[4], Text(visible(rule.false_positives.strip() or "None known.", keep_newlines=True))),
        (SECTIONS[5], Text("\n".join(rule.references) or "None.")),
    ]
    for title, body in plain_sections:
        console.print()
        console.print(Text(title, style="bold underline"))
        console.print(Padding(body, (0, 0, 0, 2)))


def _terminal_example(example: Example) -> Text:
    from rich.text import Text

    text = Text()
    if is_diff_example(example):
        text.append(_diff_example_markdown(example))
        return text
    where = _where(example)
    for index, (path, code) in enumerate(example_files(example)):
        if index:
            text.append("\n")
        text.append(f"{path}{where}\n", style="blue")
        text.append((code or "(empty file)") + "\n", style="dim" if not code else "")
    for member, target in example.links:
        text.append(f"{visible(member)} -> {visible(target)} (link){where}\n", style="blue")
    text.rstrip()
    return text
