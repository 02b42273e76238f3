"""``depvet hunt --format html``: one self-contained page a responder can hand to management.

The page is a single file: inline CSS, no script, no font, image or stylesheet from anywhere, and a
Content-Security-Policy that forbids all of them, so it renders the same offline, from an e-mail
attachment or from a ticket. Order: verdict, what to do now (the rotation checklist), findings by
kind, timeline against the release's window on the index, what was searched, reachable secrets
(kind, path, size, modification time: never contents), skipped paths, notes.

Every string that comes from the host (paths, evidence, release names, notes) is attacker-chosen:
it goes through ``visible`` (control, bidi and zero-width characters shown as escapes) and then
``html.escape``. Nothing is ever inserted unescaped, not even into attributes.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from depvet import __version__
from depvet.hunt.model import (
    Cache,
    Environment,
    ExposedSecret,
    Finding,
    FindingKind,
    HuntReport,
    ImageSummary,
    RotationStep,
    Skipped,
    TimelineEvent,
)
from depvet.model import Severity
from depvet.report.hunt_json import iso_utc
from depvet.report.rules_doc import visible

EVIDENCE_LIMIT = 400  # characters of evidence shown; the JSON report has it whole
SHOWN_CLEAN_ENVIRONMENTS = 12  # more clean environments than this go into a collapsed list
SHOWN_ROWS = 60  # longer tables show this many rows, the rest in a collapsed continuation

# Labels for the reader. Keyed by value (not member) so that kinds added to the model later still
# render, under a label made from their value.
_FINDING_KIND: dict[str, tuple[str, str]] = {
    "known-bad-installed": (
        "Known-bad release installed",
        "A release recorded as malicious is installed: its code ran, or runs, in this environment.",
    ),
    "known-bad-cached": (
        "Known-bad release in a download cache",
        "An installer cache holds a malicious release: it was downloaded on this machine.",
    ),
    "startup-code": (
        "Start-up code (.pth)",
        "A .pth file that runs code every time Python starts in this environment.",
    ),
    "persistence": (
        "Persistence",
        "A service, scheduled job, shell start-up line or autostart entry that starts a Python payload.",
    ),
    "tampered": (
        "Tampered installed files",
        "Installed files whose contents differ from the hashes their distribution recorded.",
    ),
    "modified-after-install": (
        "Files changed after install",
        "Files changed after their distribution was installed.",
    ),
    "ioc-file": ("Indicator files", "A file name or path from the indicator-of-compromise list."),
    "ioc-hash": ("Indicator hashes", "A file whose SHA-256 is on the indicator-of-compromise list."),
    "ioc-network": (
        "Indicator domains, URLs and IPs",
        "A domain, URL or IP address from the indicator-of-compromise list, inside a file.",
    ),
}
_SECRET_KIND: dict[str, str] = {
    "ssh-key": "SSH private keys",
    "aws-credentials": "AWS credentials",
    "gcp-credentials": "Google Cloud credentials",
    "azure-credentials": "Azure credentials",
    "kubeconfig": "Kubernetes configuration",
    "kubernetes-service-account-token": "Kubernetes service-account token",
    "dotenv": ".env files",
    "docker-credentials": "Docker registry credentials",
    "pypi-credentials": "PyPI tokens",
    "npm-credentials": "npm tokens",
    "git-credentials": "Git credentials",
    "netrc": ".netrc logins",
    "browser-profile": "Browser profiles",
    "crypto-wallet": "Crypto wallets",
    "secret-environment-variables": "Secret environment variables",
    "vault-token": "Vault token",
    "terraform": "Terraform state and credentials",
    "container-secret": "Mounted container secrets",
    "private-key": "Private keys (TLS, signing)",
    "database-credentials": "Database credentials",
    "mail-credentials": "Mail credentials",
    "shell-history": "Shell histories",
}
_SEVERITY_ORDER = sorted(Severity, key=lambda s: -s.rank)

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


# -- text helpers ----------------------------------------------------------------------------------


def _t(text: object) -> str:
    """Any value as safe HTML text (also safe inside a double- or single-quoted attribute)."""
    return html.escape(visible(str(text)), quote=True)


def _code(text: str) -> str:
    return f"<code>{_t(text)}</code>"


def _label(value: str, labels: dict[str, str]) -> str:
    return labels.get(value) or value.replace("-", " ").capitalize()


def secret_kind_label(kind: str) -> str:
    return _label(str(kind), _SECRET_KIND)


def _and(parts: Sequence[str]) -> str:
    return ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else "".join(parts)


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def _when(moment: datetime) -> str:
    stamp = iso_utc(moment)
    shown = stamp.replace("T", " ").removesuffix("Z") + " UTC"
    return f'<time datetime="{_t(stamp)}">{_t(shown)}</time>'


def _size(size: int) -> str:
    shown, value = f"{size:,} B", float(size)
    for unit in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value /= 1024
        shown = f"{value:.1f} {unit}"
    return f'<span title="{size:,} bytes">{_t(shown)}</span>'


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days {hours % 24} h"


def _severity(severity: Severity) -> str:
    return f'<span class="sev sev-{_t(severity)}">{_t(str(severity).upper())}</span>'


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table of already-escaped cells; past ``SHOWN_ROWS`` rows the rest go in a ``<details>``."""
    head = "".join(f'<th scope="col">{_t(h)}</th>' for h in headers)

    def body(part: Sequence[Sequence[str]]) -> str:
        return "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in part)

    def one(part: Sequence[Sequence[str]], title: str) -> str:
        return (
            f'<div class="table-wrap"><table class="{_t(cls)}"><caption>{_t(title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body(part)}</tbody></table></div>"
        )

    if len(rows) <= SHOWN_ROWS:
        return one(rows, caption)
    rest = rows[SHOWN_ROWS:]
    return (
        one(rows[:SHOWN_ROWS], caption)
        + f'<details class="more"><summary>Show {_plural(len(rest), "more row")}</summary>'
        + one(rest, f"{caption} (continued)")
        + "</details>"
    )


def _row_table(
    caption: str, headers: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]], cls: str = ""
) -> str:
    """Like ``_table`` but each row carries a class (used to mark rows that need attention)."""
    head = "".join(f'<th scope="col">{_t(h)}</th>' for h in headers)
    body = "".join(
        f'<tr class="{_t(cls)}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        for cls, cells in rows
    )
    return (
        f'<div class="table-wrap"><table class="{_t(cls)}"><caption>{_t(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def _section(anchor: str, title: str, body: str, *, count: int | None = None) -> str:
    badge = "" if count is None else f' <span class="count">{count:,}</span>'
    return (
        f'<section id="{_t(anchor)}" aria-labelledby="{_t(anchor)}-h">'
        f'<h2 id="{_t(anchor)}-h">{_t(title)}{badge}</h2>{body}</section>'
    )


def _empty(text: str) -> str:
    return f'<p class="empty">{_t(text)}</p>'


# -- the verdict -----------------------------------------------------------------------------------


def _releases(findings: Iterable[Finding]) -> list[str]:
    seen: dict[str, None] = {}
    for finding in findings:
        if finding.release:
            seen.setdefault(finding.release, None)
    return list(seen)


def _verdict(report: HuntReport) -> str:
    findings = report.findings
    bad_envs = sum(1 for e in report.environments if e.compromised)
    bad_images = sum(1 for i in report.images if i.findings)
    inside = sum(1 for e in report.timeline if e.inside_window)
    searched = _and(
        [
            _plural(n, what)
            for n, what in (
                (len(report.environments), "environment"),
                (len(report.caches), "cache"),
                (len(report.images), "container image"),
            )
            if n
        ]
    )
    if report.compromised:
        cls, icon, title = "bad", "!", "Compromised"
        affected = [
            f"{bad:,} of {_plural(total, what)}"
            for bad, total, what in (
                (bad_envs, len(report.environments), "environment"),
                (bad_images, len(report.images), "container image"),
            )
            if total
        ]
        text = f"depvet found {_plural(len(findings), 'sign')} of compromise."
        if affected:
            text += f" Affected: {_and(affected)}."
        if report.exposure:
            text += (
                f" {_plural(len(report.exposure), 'secret was', 'secrets were')} readable by code running"
                " as this user: treat them as exposed and rotate them in the order below."
            )
    else:
        cls, icon, title = "good", "\u2713", "Nothing found"
        text = (
            f"No known-bad release, start-up code, persistence or indicator of compromise was found in "
            f"the {searched} searched."
            if searched
            else "No Python environment, installer cache or container image was found under the roots: "
            "nothing was checked."
        )
        if report.exposure:
            text += (
                f" {_plural(len(report.exposure), 'secret is', 'secrets are')} reachable on this host;"
                " they are listed for reference, nothing indicates they were taken."
            )
    if report.skipped:
        verb = "is" if len(report.skipped) == 1 else "are"
        text += (
            f" {_plural(len(report.skipped), 'path')} could not be read"
            f" and {verb} not covered by this verdict."
        )
    counts = [(s, sum(1 for f in findings if f.severity == s)) for s in _SEVERITY_ORDER]
    breakdown = "".join(f'<li>{_severity(s)} <span class="n">{n:,}</span></li>' for s, n in counts if n)
    breakdown_html = (
        f'<ul class="breakdown" aria-label="Findings by severity">{breakdown}</ul>' if breakdown else ""
    )
    stats = [
        ("Findings", f"{len(findings):,}"),
        ("Compromised environments", f"{bad_envs:,} / {len(report.environments):,}"),
        ("Installs or downloads in the window", f"{inside:,}"),
        ("Secrets reachable", f"{len(report.exposure):,}"),
        ("Rotation steps", f"{len(report.checklist):,}"),
        ("Paths not read", f"{len(report.skipped):,}"),
    ]
    stat_html = "".join(f"<div><dt>{_t(k)}</dt><dd>{_t(v)}</dd></div>" for k, v in stats)
    releases = _releases(findings)
    release_html = (
        '<p class="releases"><span class="k">Releases involved:</span> '
        + ", ".join(_code(r) for r in releases)
        + "</p>"
        if releases
        else ""
    )
    return (
        f'<section id="verdict" class="verdict verdict-{cls}" aria-labelledby="verdict-h">'
        f'<div class="verdict-icon" aria-hidden="true">{_t(icon)}</div>'
        f'<div class="verdict-body"><p class="kicker">Verdict</p>'
        f'<h2 id="verdict-h" class="verdict-title">{_t(title)}</h2>'
        f'<p class="verdict-text">{_t(text)}</p>{release_html}'
        f"{breakdown_html}"
        f'<dl class="stats">{stat_html}</dl></div></section>'
    )


# -- what to do now --------------------------------------------------------------------------------


def _checklist(report: HuntReport) -> str:
    steps = sorted(report.checklist, key=lambda s: s.rank)
    if not steps:
        text = (
            "Nothing to rotate: no reachable secrets were found in the searched locations."
            if report.compromised
            else "Nothing to do: no compromise was found."
        )
        return _section("actions", "What to do now", _empty(text))
    items = "".join(_step(number, step) for number, step in enumerate(steps, start=1))
    intro = (
        '<p class="lead">Rotate in this order, the widest blast radius first. Each step names the files '
        "a payload running as this user could read; revoke the old credential, do not only add a new one."
        "</p>"
    )
    return _section("actions", "What to do now", f'{intro}<ol class="steps">{items}</ol>', count=len(steps))


def _step(number: int, step: RotationStep) -> str:
    """One step, numbered 1..n in rank order (ranks themselves skip the kinds not found)."""
    paths = "".join(f"<li>{_code(p)}</li>" for p in step.paths)
    path_html = f'<ul class="paths">{paths}</ul>' if paths else ""
    return (
        f'<li class="step"><span class="rank" aria-label="Step {number}">{number}</span>'
        f'<div class="step-body"><h3>{_t(secret_kind_label(step.kind))} '
        f'<span class="tag">{_t(step.kind)}</span></h3>'
        f'<p class="action">{_t(step.action)}</p>{path_html}</div>'
        f'<span class="tick" aria-hidden="true"></span></li>'
    )


# -- findings --------------------------------------------------------------------------------------


def _findings(report: HuntReport) -> str:
    if not report.findings:
        return _section("findings", "Findings", _empty("No findings."), count=0)
    kinds = list(FindingKind)
    groups: dict[str, list[Finding]] = {}
    for finding in report.findings:
        groups.setdefault(str(finding.kind), []).append(finding)

    def order(kind: str) -> tuple[int, int]:
        worst = max(f.severity.rank for f in groups[kind])
        position = next((i for i, k in enumerate(kinds) if str(k) == kind), len(kinds))
        return (-worst, position)

    parts = []
    for kind in sorted(groups, key=order):
        items = groups[kind]
        label, help_text = _FINDING_KIND.get(kind, (_label(kind, {}), ""))
        rows = [_finding_row(f) for f in items]
        parts.append(
            f'<div class="group"><h3>{_t(label)} <span class="count">{len(items):,}</span> '
            f'<span class="tag">{_t(kind)}</span></h3>'
            + (f'<p class="help">{_t(help_text)}</p>' if help_text else "")
            + _table(
                f"{label}: {_plural(len(items), 'finding')}",
                ["Severity", "Finding", "Where", "Release"],
                rows,
                "findings",
            )
            + "</div>"
        )
    return _section("findings", "Findings", "".join(parts), count=len(report.findings))


def _finding_row(finding: Finding) -> list[str]:
    evidence = finding.evidence
    if len(evidence) > EVIDENCE_LIMIT:
        evidence = evidence[:EVIDENCE_LIMIT] + "\u2026"
    what = (
        f'<div class="title">{_t(finding.title)}</div>'
        f'<div class="evidence"><span class="k">Evidence</span> {_code(evidence)}</div>'
    )
    where = [f'<div class="path">{_code(finding.path)}</div>']
    if finding.environment:
        where.append(f'<div class="meta"><span class="k">In</span> {_code(finding.environment)}</div>')
    if finding.layer:
        where.append(f'<div class="meta"><span class="k">Layer</span> {_code(finding.layer)}</div>')
    release = _code(finding.release) if finding.release else '<span class="muted">\u2014</span>'
    return [_severity(finding.severity), what, "".join(where), release]


# -- timeline --------------------------------------------------------------------------------------


_OPENS = ("release published", "release uploaded")
_CLOSES = ("release removed", "release yanked", "release deleted")


@dataclass(frozen=True, slots=True)
class _Window:
    release: str
    published: datetime | None
    removed: datetime | None


def _windows(events: Sequence[TimelineEvent]) -> list[_Window]:
    """Each release's time on the index, from its "release published" / "release removed" events."""
    found: dict[str, dict[str, datetime]] = {}
    for event in events:
        what = event.what.strip().lower()
        if not event.release:
            continue
        if what.startswith(_OPENS):
            found.setdefault(event.release, {})["published"] = event.when
        elif what.startswith(_CLOSES):
            found.setdefault(event.release, {})["removed"] = event.when
    return [_Window(r, d.get("published"), d.get("removed")) for r, d in found.items()]


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _window_text(window: _Window, events: Sequence[TimelineEvent]) -> str:
    inside = sum(1 for e in events if e.inside_window and e.release == window.release)
    if window.published and window.removed:
        span = _duration((_utc(window.removed) - _utc(window.published)).total_seconds())
        text = f"was on the index from {_when(window.published)} to {_when(window.removed)} ({_t(span)})."
    elif window.published:
        text = (
            f"was published on the index at {_when(window.published)}; no removal is recorded"
            " (it may still be there)."
        )
    else:
        assert window.removed is not None
        text = f"was removed from the index at {_when(window.removed)}."
    tail = (
        f' <strong class="hot">{_t(_plural(inside, "event"))} on this host fell inside that window.</strong>'
        if inside
        else ""
    )
    return f"<li>{_code(window.release)} {text}{tail}</li>"


def _bar(window: _Window, events: Sequence[TimelineEvent]) -> str:
    """A strip: the release's window shaded, each host event of that release a marker."""
    if window.published is None or window.removed is None:
        return ""
    mine = [e for e in events if e.release == window.release]
    moments = [_utc(e.when) for e in mine] + [_utc(window.published), _utc(window.removed)]
    low, high = min(moments), max(moments)
    span = (high - low).total_seconds() or 1.0
    pad = span * 0.04
    total = span + 2 * pad

    def pos(moment: datetime) -> float:
        return round(((_utc(moment) - low).total_seconds() + pad) / total * 100, 2)

    start, end = pos(window.published), pos(window.removed)
    marks = "".join(
        f'<span class="mark {"in" if e.inside_window else "out"}" style="left:{pos(e.when)}%" '
        f'title="{_t(e.what)} \u2014 {_t(iso_utc(e.when))}"></span>'
        for e in mine
        if not e.what.strip().lower().startswith((*_OPENS, *_CLOSES))
    )
    length = _duration((_utc(window.removed) - _utc(window.published)).total_seconds())
    label = f"{window.release}: on the index for {length}; markers are events on this host."
    return (
        f'<div class="bar" role="img" aria-label="{_t(label)}">'
        f'<span class="window" style="left:{start}%;width:{round(end - start, 2)}%"></span>{marks}</div>'
        f'<div class="bar-legend" aria-hidden="true"><span>{_t(iso_utc(low))}</span>'
        f'<span><i class="sw window"></i> on the index <i class="sw in"></i> host event inside '
        f'<i class="sw out"></i> outside</span><span>{_t(iso_utc(high))}</span></div>'
    )


def _timeline(report: HuntReport) -> str:
    events = report.timeline
    if not events:
        return _section(
            "timeline",
            "Timeline",
            _empty(
                "No dated events: no known-bad release was installed or downloaded."
                if not report.compromised
                else "No dated events: none of the findings is an install or a download with a known time."
            ),
        )
    windows = _windows(events)
    summary = ""
    if windows:
        summary = (
            '<ul class="windows">'
            + "".join(_window_text(w, events) + _bar(w, events) for w in windows)
            + "</ul>"
        )
    rows: list[tuple[str, list[str]]] = []
    for event in events:
        what = event.what.strip().lower()
        if what.startswith(_OPENS):
            cls, flag = "index", '<span class="flag flag-window">Window opens</span>'
        elif what.startswith(_CLOSES):
            cls, flag = "index", '<span class="flag flag-window">Window closes</span>'
        elif event.inside_window is True:
            cls, flag = "inside", '<span class="flag flag-in">\u26a0 Inside the window</span>'
        elif event.inside_window is False:
            cls, flag = "", '<span class="flag flag-out">Outside the window</span>'
        else:
            cls, flag = "", '<span class="muted">not applicable</span>'
        rows.append(
            (
                cls,
                [
                    _when(event.when),
                    _t(event.what),
                    _code(event.release) if event.release else '<span class="muted">\u2014</span>',
                    _code(event.path) if event.path else '<span class="muted">\u2014</span>',
                    flag,
                ],
            )
        )
    table = _row_table(
        "Events on this host and on the index, oldest first",
        ["When (UTC)", "Event", "Release", "Path", "Against the release window"],
        rows,
        "timeline",
    )
    return _section("timeline", "Timeline", summary + table, count=len(events))


# -- what was searched -----------------------------------------------------------------------------


def _environment_row(environment: Environment) -> list[str]:
    status = (
        '<span class="flag flag-in">\u2716 Compromised</span>'
        if environment.compromised
        else '<span class="flag flag-ok">\u2713 Clean</span>'
    )
    return [status, _code(environment.path), _t(environment.kind), f"{environment.distributions:,}"]


def _environments(environments: Sequence[Environment]) -> str:
    if not environments:
        return "<h3>Environments</h3>" + _empty("No Python environment was found under the searched roots.")
    ordered = sorted(environments, key=lambda e: not e.compromised)
    headers = ["Status", "Path", "Kind", "Distributions"]
    shown = [e for e in ordered if e.compromised]
    clean = [e for e in ordered if not e.compromised]
    shown += clean[:SHOWN_CLEAN_ENVIRONMENTS]
    rest = clean[SHOWN_CLEAN_ENVIRONMENTS:]
    out = f'<h3>Environments <span class="count">{len(environments):,}</span></h3>'
    out += _table("Python environments searched", headers, [_environment_row(e) for e in shown])
    if rest:
        out += (
            f'<details class="more"><summary>{_t(_plural(len(rest), "more clean environment"))}</summary>'
            + _table("More clean environments", headers, [_environment_row(e) for e in rest])
            + "</details>"
        )
    return out


def _caches(caches: Sequence[Cache]) -> str:
    out = f'<h3>Download caches <span class="count">{len(caches):,}</span></h3>'
    if not caches:
        return out + _empty("No pip, uv or poetry cache was found.")
    rows = [[_code(c.path), _t(c.kind), f"{c.entries:,}"] for c in caches]
    return out + _table("Installer caches searched", ["Path", "Kind", "Entries read"], rows)


def _images(images: Sequence[ImageSummary]) -> str:
    out = f'<h3>Container images <span class="count">{len(images):,}</span></h3>'
    if not images:
        return out + _empty("No container image was given.")
    rows = []
    for image in images:
        deleted = (
            '<ul class="paths">' + "".join(f"<li>{_code(p)}</li>" for p in image.deleted_later) + "</ul>"
            if image.deleted_later
            else '<span class="muted">\u2014</span>'
        )
        found = (
            f'<span class="flag flag-in">{image.findings:,}</span>'
            if image.findings
            else '<span class="flag flag-ok">0</span>'
        )
        rows.append([_code(image.path), _t(image.format), f"{image.layers:,}", found, deleted])
    headers = ["Image", "Format", "Layers", "Findings", "Bad files a later layer deleted"]
    note = (
        '<p class="help">A file a later layer deletes is still in the image: anyone who pulls it gets '
        "the earlier layer, and the file ran during the build.</p>"
        if any(i.deleted_later for i in images)
        else ""
    )
    return out + note + _table("Container images searched", headers, rows)


def _searched(report: HuntReport) -> str:
    roots = "".join(f"<li>{_code(r)}</li>" for r in report.roots) or "<li>none</li>"
    body = (
        f'<p class="roots"><span class="k">Roots</span></p><ul class="paths">{roots}</ul>'
        + _environments(report.environments)
        + _caches(report.caches)
        + _images(report.images)
    )
    return _section("searched", "What was searched", body)


# -- exposure, skipped, notes ----------------------------------------------------------------------


def _exposure(exposure: Sequence[ExposedSecret]) -> str:
    intro = (
        '<p class="lead">Files a payload running as this user could have read. depvet records their '
        "kind, path, size and modification time only: <strong>this report holds no secret values</strong>."
        "</p>"
    )
    if not exposure:
        return _section(
            "exposure",
            "Reachable secrets",
            intro + _empty("No secrets were found in the searched locations."),
            count=0,
        )
    by_kind: dict[str, int] = {}
    for secret in exposure:
        by_kind[str(secret.kind)] = by_kind.get(str(secret.kind), 0) + 1
    chips = "".join(
        f'<li>{_t(secret_kind_label(k))} <span class="n">{n:,}</span></li>' for k, n in by_kind.items()
    )
    rows = [
        [
            f'{_t(secret_kind_label(s.kind))}<span class="tag block">{_t(s.kind)}</span>',
            _code(s.path),
            _size(s.size),
            _when(s.modified),
            _t(s.detail) if s.detail else '<span class="muted">\u2014</span>',
        ]
        for s in exposure
    ]
    table = _table(
        "Secrets reachable on this host (never their contents)",
        ["Kind", "Path", "Size", "Modified (UTC)", "Detail"],
        rows,
        "exposure",
    )
    return _section(
        "exposure",
        "Reachable secrets",
        f'{intro}<ul class="chips" aria-label="Secrets by kind">{chips}</ul>{table}',
        count=len(exposure),
    )


def _skipped(skipped: Sequence[Skipped]) -> str:
    if not skipped:
        return _section("skipped", "Skipped paths", _empty("Every path under the roots was read."), count=0)
    rows = [[_code(s.path), _t(s.reason)] for s in skipped]
    intro = '<p class="lead">These paths could not be read; the verdict does not cover them.</p>'
    return _section(
        "skipped",
        "Skipped paths",
        intro + _table("Paths not read", ["Path", "Reason"], rows),
        count=len(skipped),
    )


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return _section("notes", "Notes", _empty("None."))
    items = "".join(f"<li>{_t(n)}</li>" for n in notes)
    return _section("notes", "Notes", f'<ul class="notes">{items}</ul>', count=len(notes))


# -- the page --------------------------------------------------------------------------------------

_NAV = (
    ("actions", "What to do now"),
    ("findings", "Findings"),
    ("timeline", "Timeline"),
    ("searched", "Searched"),
    ("exposure", "Secrets"),
    ("skipped", "Skipped"),
    ("notes", "Notes"),
)


def hunt_html(report: HuntReport) -> str:
    """The whole report as one HTML document (UTF-8 text, no external resources)."""
    state = "COMPROMISED" if report.compromised else "nothing found"
    title = f"depvet hunt: {state} ({iso_utc(report.started)})"
    nav = "".join(f'<li><a href="#{a}">{_t(label)}</a></li>' for a, label in _NAV)
    roots = ", ".join(_code(r) for r in report.roots) or "none"
    header = (
        '<header class="top"><div class="brand"><span class="logo" aria-hidden="true">dv</span>'
        "<div><h1>Compromise hunt report</h1>"
        f'<p class="sub">depvet hunt \u00b7 started {_when(report.started)} \u00b7 '
        f"took {_t(_duration(report.seconds))} \u00b7 roots {roots}</p></div></div>"
        f'<nav aria-label="Sections"><ul>{nav}</ul></nav></header>'
    )
    footer = (
        f"<footer><p>Generated by depvet {_t(__version__)} \u00b7 hunt started {_when(report.started)} "
        f"and took {_t(_duration(report.seconds))} \u00b7 roots: {roots}</p>"
        "<p>depvet reads files, it never runs them. This report lists where secrets are, never what "
        "they contain. The JSON report (<code>--format json</code>) has the same data for tools.</p></footer>"
    )
    body = "".join(
        [
            _verdict(report),
            _checklist(report),
            _findings(report),
            _timeline(report),
            _searched(report),
            _exposure(report.exposure),
            _skipped(report.skipped),
            _notes(report.notes),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_t(_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="generator" content="depvet ' + _t(__version__) + '">'
        f"<title>{_t(title)}</title><style>{_CSS}</style></head>"
        f'<body class="{"is-bad" if report.compromised else "is-good"}">{header}<main>{body}</main>{footer}'
        "</body></html>\n"
    )


_CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--bad:#b42318;--bad-bg:#fef3f2;
--good:#1a7f37;--good-bg:#effaf1;--warn:#9a4d00;--warn-bg:#fff8eb;--accent:#0b4f9c;
--mono:ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,
"Helvetica Neue","DejaVu Sans",Arial,sans-serif}
.top,main,footer{max-width:1180px;margin:0 auto;padding:0 28px}
.top{padding-top:26px;padding-bottom:10px;border-bottom:1px solid var(--line)}
.brand{display:flex;gap:14px;align-items:center}
.logo{display:inline-flex;align-items:center;justify-content:center;width:42px;height:42px;border-radius:10px;
background:#0d1b2a;color:#fff;font:700 17px/1 var(--mono);letter-spacing:-1px;flex:none}
h1{font-size:24px;margin:0;line-height:1.2}
.sub{margin:2px 0 0;color:var(--muted);font-size:13.5px}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;margin:14px 0 0;padding:0;font-size:13.5px}
nav a{color:var(--accent);text-decoration:none}nav a:hover{text-decoration:underline}
main{padding-top:22px;padding-bottom:10px}
section{margin:0 0 34px}
h2{font-size:19px;margin:0 0 12px;padding-bottom:6px;border-bottom:2px solid var(--fg);display:flex;
align-items:center;gap:10px}
h3{font-size:15.5px;margin:20px 0 8px;display:flex;align-items:center;gap:8px;flex-wrap:wrap}
.count{display:inline-block;min-width:24px;padding:0 8px;border-radius:999px;background:var(--soft);
border:1px solid var(--line);font-size:12.5px;font-weight:600;text-align:center;line-height:20px}
.tag{display:inline-block;font:500 11.5px/1.6 var(--mono);color:var(--muted)}
code{font:12.5px/1.45 var(--mono);background:var(--soft);border:1px solid #e6eaef;border-radius:4px;
padding:1px 5px;overflow-wrap:anywhere;word-break:break-word}
.muted,.empty{color:var(--muted)}
.empty{font-style:italic;margin:6px 0}
.lead,.help{margin:0 0 10px;color:#33393f;max-width:900px}
.help{font-size:13.5px;color:var(--muted)}
.k{font-size:11px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);font-weight:700}
/* verdict */
.verdict{display:flex;gap:22px;padding:22px 26px;border-radius:12px;border:1px solid;border-left-width:8px;
margin-bottom:34px}
.verdict-bad{background:var(--bad-bg);border-color:#f3b5ae;border-left-color:var(--bad)}
.verdict-good{background:var(--good-bg);border-color:#a9dbb5;border-left-color:var(--good)}
.verdict-icon{flex:none;width:56px;height:56px;border-radius:50%;display:flex;align-items:center;
justify-content:center;color:#fff;font:800 32px/1 system-ui,sans-serif}
.verdict-bad .verdict-icon{background:var(--bad)}.verdict-good .verdict-icon{background:var(--good)}
.verdict-body{flex:1;min-width:0}
.kicker{margin:0;font-size:12px;text-transform:uppercase;letter-spacing:.12em;font-weight:700;color:var(--muted)}
.verdict-title{font-size:30px;margin:0 0 6px;padding:0;border:0;text-transform:uppercase;letter-spacing:.02em}
.verdict-bad .verdict-title{color:var(--bad)}.verdict-good .verdict-title{color:var(--good)}
.verdict-text{margin:0 0 10px;font-size:15.5px;max-width:940px}
.releases{margin:0 0 10px}
.breakdown,.chips{list-style:none;display:flex;flex-wrap:wrap;gap:8px;margin:0 0 14px;padding:0}
.breakdown li{display:flex;align-items:center;gap:6px;font-weight:600}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:10px;margin:0}
.stats div{background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.stats dt{font-size:11.5px;color:var(--muted);text-transform:uppercase;letter-spacing:.05em;font-weight:600}
.stats dd{margin:0;font-size:22px;font-weight:700}
/* severity and flags: always a word, colour only adds to it */
.sev{display:inline-block;min-width:74px;text-align:center;font:700 11px/20px system-ui,sans-serif;
letter-spacing:.06em;border-radius:4px;padding:0 6px;color:#fff}
.sev-critical{background:#7a0916}.sev-high{background:#c4320a}.sev-medium{background:#9a4d00}
.sev-low{background:#0b5cad}.sev-info{background:#59636e}
.flag{display:inline-block;font-weight:600;font-size:12.5px;border-radius:4px;padding:0 6px;
white-space:nowrap}
.flag-in{color:var(--bad);background:var(--bad-bg);border:1px solid #f3b5ae}
.flag-out{color:var(--muted);background:var(--soft);border:1px solid var(--line)}
.flag-window{color:var(--fg);background:#f8c9c3;border:1px solid var(--bad)}
tr.index td{background:#fffafa}
.flag-ok{color:var(--good);background:var(--good-bg);border:1px solid #a9dbb5}
.hot{color:var(--bad)}
/* checklist */
.steps{list-style:none;margin:0;padding:0;counter-reset:none}
.step{display:flex;gap:16px;align-items:flex-start;border:1px solid var(--line);border-radius:10px;
padding:14px 16px;margin:0 0 10px;break-inside:avoid}
.step:first-child{border-color:#f3b5ae;background:#fffafa}
.rank{flex:none;width:34px;height:34px;border-radius:50%;background:var(--fg);color:#fff;display:flex;
align-items:center;justify-content:center;font-weight:700;font-size:16px}
.step-body{flex:1;min-width:0}.step h3{margin:4px 0 4px}
.action{margin:0 0 6px}
.tick{flex:none;width:22px;height:22px;border:2px solid var(--muted);border-radius:4px;margin-top:6px}
.paths{list-style:none;margin:4px 0 0;padding:0;display:flex;flex-direction:column;gap:3px}
/* tables */
.table-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:8px;margin:0 0 8px}
table{width:100%;border-collapse:collapse;font-size:13.5px}
caption{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}
.table-wrap{position:relative}
.tag.block{display:block}
.timeline td:first-child,.timeline td:nth-child(3) code,.findings td:last-child code{white-space:nowrap;
overflow-wrap:normal;word-break:normal}
th{text-align:left;font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:var(--muted);
padding:7px 12px;border-bottom:1px solid var(--line);background:#fff;white-space:nowrap}
td{padding:8px 12px;border-bottom:1px solid #eaeef2;vertical-align:top}
tbody tr:last-child td{border-bottom:0}
tr{break-inside:avoid}
tr.inside td{background:var(--bad-bg)}
tr.inside td:first-child{box-shadow:inset 4px 0 0 var(--bad)}
.findings td:first-child{width:90px}
.findings .title{font-weight:600;margin-bottom:4px}
.evidence code{display:inline;white-space:pre-wrap}
.meta{margin-top:3px;font-size:12.5px}
.group{margin-bottom:18px}
.group h3{margin-top:16px}
.chips li{background:var(--soft);border:1px solid var(--line);border-radius:999px;padding:2px 10px;
font-size:13px}
.n{font-weight:700}
.exposure td:nth-child(3),.exposure td:nth-child(4){white-space:nowrap}
/* timeline */
.windows{list-style:none;margin:0 0 14px;padding:0}
.windows li{margin:0 0 6px}
.bar{position:relative;height:26px;background:var(--soft);border:1px solid var(--line);border-radius:6px;
margin:4px 0 2px}
.bar .window{position:absolute;top:3px;bottom:3px;background:#f8c9c3;border:1px solid var(--bad);
border-radius:4px}
.bar .mark{position:absolute;top:4px;width:14px;height:16px;margin-left:-7px;border-radius:3px;
border:2px solid #fff;box-shadow:0 0 0 1px var(--fg)}
.mark.in{background:var(--bad)}.mark.out{background:#8c959f}
.bar-legend{display:flex;justify-content:space-between;gap:10px;font-size:11.5px;color:var(--muted);
margin-bottom:14px;font-family:var(--mono)}
.sw{display:inline-block;width:12px;height:10px;border-radius:2px;vertical-align:middle;margin:0 3px 0 10px}
.sw.window{background:#f8c9c3;border:1px solid var(--bad)}
.sw.in{background:var(--bad)}.sw.out{background:#8c959f}
details.more{margin:0 0 10px}
details.more summary{cursor:pointer;color:var(--accent);font-size:13.5px;margin:4px 0 8px}
.roots{margin:0}
.notes{margin:0;padding-left:20px}
footer{border-top:1px solid var(--line);padding-top:14px;padding-bottom:30px;color:var(--muted);
font-size:12.5px}
footer p{margin:0 0 4px}
@media (max-width:700px){.top,main,footer{padding:0 14px}.verdict{flex-direction:column}}
@media print{
@page{margin:14mm 12mm}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{font-size:10.5pt}
nav,details.more>summary{display:none}
details.more::details-content{content-visibility:visible;display:contents}
.top,main,footer{max-width:none;padding-left:0;padding-right:0}
.top{padding-top:0;border-bottom:2px solid var(--fg);margin-bottom:4px}
footer{padding-bottom:0}
.table-wrap{overflow:visible;border-radius:0}
section{break-inside:auto}
h2,h3{break-after:avoid}
.verdict,.step{break-inside:avoid}
a{color:inherit;text-decoration:none}
}
"""
