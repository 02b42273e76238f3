"""The hunt reports: the JSON document (docs, schema and output agree) and the HTML page, in a real browser.

The browser tests render the page with Debian's headless ``chromium`` and read back the DOM it
built. They skip when chromium is missing, unless ``DEPVET_REQUIRE_BROWSER`` is set (CI sets it),
then they fail.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import struct
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from depvet import __version__
from depvet.hunt.model import (
    Cache,
    CacheKind,
    Environment,
    EnvironmentKind,
    ExposedSecret,
    Finding,
    FindingKind,
    HuntReport,
    ImageSummary,
    RotationStep,
    SecretKind,
    Skipped,
    TimelineEvent,
)
from depvet.hunt.timeline import build_timeline
from depvet.model import Severity
from depvet.report import hunt_html as hunt_html_module
from depvet.report.hunt_html import hunt_html
from depvet.report.hunt_json import hunt_document, hunt_json, iso_utc

DOCS = Path(__file__).resolve().parents[2] / "docs" / "json-format.md"
HUNT_HEADING = "## `depvet hunt --format json`"

# Hostile text, as a file name or a line of a planted file could carry it.
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = '"><img src=x onerror=alert(1)>'
XSS_SVG = "'><svg onload=alert(1)>"
BAD_TAGS = {"script", "img", "svg", "iframe", "object", "embed", "link", "base", "form"}

VENV = "/home/dev/proj/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
IMAGE = "/srv/images/app.tar"
LAYER = "sha256:3f4a9c1e0b7d2a6f58c4e1d9b0a7c3e2f1d0c9b8a7e6d5c4b3a2f1e0d9c8b7a6"
PUBLISHED = datetime(2026, 3, 24, 10, 39, 0, tzinfo=UTC)  # LiteLLM 1.82.8 on PyPI
REMOVED = datetime(2026, 3, 24, 16, 0, 0, tzinfo=UTC)


# -- the reports under test ------------------------------------------------------------------------

_SECRET_PATHS = {
    "ssh-key": ("/home/dev/.ssh/id_ed25519", "private key (ed25519)"),
    "aws-credentials": ("/home/dev/.aws/credentials", "profiles: default, prod"),
    "gcp-credentials": ("/home/dev/.config/gcloud/application_default_credentials.json", ""),
    "azure-credentials": ("/home/dev/.azure/msal_token_cache.json", ""),
    "kubeconfig": ("/home/dev/.kube/config", "contexts: prod-eu, staging"),
    "kubernetes-service-account-token": ("/var/run/secrets/kubernetes.io/serviceaccount/token", ""),
    "dotenv": ("/home/dev/proj/.env", "names: OPENAI_API_KEY, DATABASE_URL"),
    "docker-credentials": ("/home/dev/.docker/config.json", "registries: ghcr.io"),
    "pypi-credentials": ("/home/dev/.pypirc", ""),
    "npm-credentials": ("/home/dev/.npmrc", ""),
    "git-credentials": ("/home/dev/.git-credentials", ""),
    "netrc": ("/home/dev/.netrc", "machines: 2"),
    "browser-profile": ("/home/dev/.mozilla/firefox/x1y2.default-release", ""),
    "crypto-wallet": ("/home/dev/.electrum/wallets", ""),
    "secret-environment-variables": ("/home/dev/proj/.github/workflows/ci.yml", "names: PYPI_TOKEN"),
    "vault-token": ("/home/dev/.vault-token", ""),
    "terraform": ("/home/dev/infra/terraform.tfstate", ""),
    "private-key": ("/home/dev/certs/server.key", "PEM private key"),
    "database-credentials": ("/home/dev/.pgpass", "entries: 3"),
    "shell-history": ("/home/dev/.bash_history", ""),
}


def exposure_of_every_kind() -> tuple[ExposedSecret, ...]:
    """One secret per kind the model knows (kinds added later get a made-up path)."""
    out = []
    for n, kind in enumerate(SecretKind):
        path, detail = _SECRET_PATHS.get(str(kind), (f"/home/dev/.secrets/{kind}", ""))
        modified = datetime(2025, 11, 2, 9, 12, 44, tzinfo=UTC) + timedelta(days=n)
        out.append(ExposedSecret(kind, path, 411 + n * 977, modified, detail))
    out.append(ExposedSecret(SecretKind.DOTENV, f"/home/dev/{XSS_IMG}/.env", 64, PUBLISHED, XSS_SCRIPT))
    return tuple(out)


def compromised_report() -> HuntReport:
    """A LiteLLM 1.82.8 hit: a venv, its .pth, a systemd unit, the pip cache, an image."""
    release = "litellm==1.82.8"
    findings = (
        Finding(
            FindingKind.KNOWN_BAD_INSTALLED,
            Severity.CRITICAL,
            f"{SITE}/litellm-1.82.8.dist-info",
            "Known-bad release installed",
            "litellm 1.82.8 is recorded as malicious (credential stealer in litellm_init.pth)",
            release=release,
            environment=VENV,
        ),
        Finding(
            FindingKind.STARTUP_CODE,
            Severity.CRITICAL,
            f"{SITE}/litellm_init.pth",
            ".pth file runs code at every Python start-up",
            'import os, subprocess, sys; subprocess.Popen([sys.executable, "-c", "..."])',
            release=release,
            environment=VENV,
        ),
        Finding(
            FindingKind.KNOWN_BAD_INSTALLED,
            Severity.CRITICAL,
            f"{IMAGE}!/usr/local/lib/python3.11/site-packages/litellm-1.82.8.dist-info",
            "Known-bad release installed in an image layer",
            "litellm 1.82.8 is recorded as malicious",
            release=release,
            environment=f"{IMAGE}!/usr/local/lib/python3.11/site-packages",
            layer=LAYER,
        ),
        Finding(
            FindingKind.PERSISTENCE,
            Severity.HIGH,
            "/home/dev/.config/systemd/user/sysmon.service",
            "systemd user unit starts a Python payload",
            "ExecStart=/usr/bin/python3 /home/dev/.config/sysmon/sysmon.py",
        ),
        Finding(
            FindingKind.KNOWN_BAD_CACHED,
            Severity.HIGH,
            "/home/dev/.cache/pip/http-v2/9/a/3/c/e/9a3ce1b2c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7",
            "Known-bad release in the pip cache",
            "litellm-1.82.8-py3-none-any.whl (sha256 of the release recorded as malicious)",
            release=release,
            environment="/home/dev/.cache/pip",
        ),
        Finding(
            FindingKind.IOC_NETWORK,
            Severity.HIGH,
            "/home/dev/.config/sysmon/sysmon.py",
            "Indicator domain in a file",
            "models.litellm-telemetry.example",
        ),
        Finding(
            FindingKind.IOC_FILE,
            Severity.MEDIUM,
            f"/home/dev/{XSS_IMG}/litellm_init.pth",
            "Indicator file name",
            f"file name on the IOC list: {XSS_SCRIPT} {XSS_SVG}",
            release=XSS_SCRIPT,
            environment=XSS_IMG,
        ),
    )
    checklist = (  # out of order, ranks with gaps (kinds not found): the reports order by rank
        RotationStep(
            SecretKind.SSH_KEY,
            15,
            "Revoke the key wherever it is authorised.",
            ("/home/dev/.ssh/id_ed25519",),
        ),
        RotationStep(
            SecretKind.AWS,
            1,
            "Deactivate the access keys in IAM, create new ones, review CloudTrail from 2026-03-24.",
            ("/home/dev/.aws/credentials", "/home/dev/.aws/config"),
        ),
        RotationStep(
            SecretKind.KUBECONFIG, 4, "Rotate the cluster credentials.", ("/home/dev/.kube/config",)
        ),
        RotationStep(
            SecretKind.DOTENV,
            17,
            "Rotate every key the file names.",
            ("/home/dev/proj/.env", f"/home/dev/{XSS_IMG}/.env"),
        ),
        RotationStep(
            SecretKind.PYPI, 20, "Revoke the PyPI token and create a scoped one.", ("/home/dev/.pypirc",)
        ),
    )
    timeline = (
        TimelineEvent(
            datetime(2026, 3, 20, 8, 0, tzinfo=UTC),
            "installed",
            "litellm==1.82.6",
            f"{SITE}/litellm-1.82.6.dist-info",
            None,
        ),
        TimelineEvent(PUBLISHED, "release published on the index", release, None, None),
        TimelineEvent(
            datetime(2026, 3, 24, 11, 14, 40, tzinfo=UTC),
            "downloaded into the pip cache",
            release,
            "/home/dev/.cache/pip",
            True,
        ),
        TimelineEvent(
            datetime(2026, 3, 24, 11, 15, 2, tzinfo=UTC),
            "installed",
            release,
            f"{SITE}/litellm-1.82.8.dist-info",
            True,
        ),
        TimelineEvent(
            datetime(2026, 3, 24, 12, 2, 9, tzinfo=UTC), "installed in image layer", release, IMAGE, True
        ),
        TimelineEvent(REMOVED, "release removed from the index", release, None, None),
        TimelineEvent(
            datetime(2026, 3, 25, 9, 0, tzinfo=UTC),
            "downloaded into the uv cache",
            release,
            "/home/dev/.cache/uv",
            False,
        ),
    )
    return HuntReport(
        roots=("/home/dev", IMAGE),
        started=datetime(2026, 3, 25, 16, 5, 0, tzinfo=UTC),
        seconds=12.4123,
        environments=(
            Environment("/usr/lib/python3.11", EnvironmentKind.INTERPRETER, 38),
            Environment(VENV, EnvironmentKind.PROJECT_VENV, 142, compromised=True),
            Environment("/home/dev/.local/pipx/venvs/black", EnvironmentKind.PIPX, 6),
            Environment(
                f"{IMAGE}!/usr/local/lib/python3.11/site-packages",
                EnvironmentKind.IMAGE,
                88,
                compromised=True,
            ),
        ),
        caches=(
            Cache("/home/dev/.cache/pip", CacheKind.PIP, 2311),
            Cache("/home/dev/.cache/uv", CacheKind.UV, 540),
        ),
        images=(
            ImageSummary(
                IMAGE, "docker-save", 9, 2, ("usr/local/lib/python3.11/site-packages/litellm_init.pth",)
            ),
        ),
        findings=findings,
        exposure=exposure_of_every_kind(),
        checklist=checklist,
        timeline=timeline,
        skipped=(
            Skipped("/home/dev/private", "permission denied"),
            Skipped("/srv/images/broken.tar", f"not a docker save or OCI layout {XSS_SCRIPT}"),
        ),
        notes=("The IOC list was last updated on 2026-03-24.", f"A note with {XSS_IMG} in it."),
    )


def clean_report(*, exposure: tuple[ExposedSecret, ...] = ()) -> HuntReport:
    return HuntReport(
        roots=("/home/ops",),
        started=datetime(2026, 3, 26, 8, 30, tzinfo=UTC),
        seconds=3.2,
        environments=(
            Environment("/usr/lib/python3.11", EnvironmentKind.INTERPRETER, 38),
            Environment("/home/ops/app/.venv", EnvironmentKind.PROJECT_VENV, 61),
        ),
        caches=(Cache("/home/ops/.cache/pip", CacheKind.PIP, 120),),
        images=(),
        findings=(),
        exposure=exposure,
        checklist=(),
        timeline=(),
    )


def ranked_paths(report: HuntReport) -> list[str]:
    return [p for step in sorted(report.checklist, key=lambda s: s.rank) for p in step.paths]


# -- JSON: schema, docs and output agree -----------------------------------------------------------

STR: dict[str, Any] = {"type": "string"}
NULL_STR: dict[str, Any] = {"type": ["string", "null"]}
INT: dict[str, Any] = {"type": "integer", "minimum": 0}
BOOL: dict[str, Any] = {"type": "boolean"}
TIME: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"}


def values(enum_type: Any) -> dict[str, Any]:
    return {"enum": [str(member) for member in enum_type]}


def obj(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def arr(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    **obj(
        schema_version={"const": 1},
        tool=obj(name={"const": "depvet"}, version=STR),
        hunt=obj(
            compromised=BOOL,
            roots=arr(STR),
            started=TIME,
            seconds={"type": "number", "minimum": 0},
            findings=arr(
                obj(
                    kind=values(FindingKind),
                    severity=values(Severity),
                    title=STR,
                    path=STR,
                    evidence=STR,
                    release=NULL_STR,
                    environment=NULL_STR,
                    layer=NULL_STR,
                )
            ),
            checklist=arr(
                obj(
                    rank={"type": "integer", "minimum": 1},
                    kind=values(SecretKind),
                    action=STR,
                    paths=arr(STR),
                )
            ),
            timeline=arr(
                obj(
                    when=TIME,
                    what=STR,
                    release=NULL_STR,
                    path=NULL_STR,
                    inside_window={"type": ["boolean", "null"]},
                )
            ),
            environments=arr(
                obj(path=STR, kind=values(EnvironmentKind), distributions=INT, compromised=BOOL)
            ),
            caches=arr(obj(path=STR, kind=values(CacheKind), entries=INT)),
            images=arr(
                obj(
                    path=STR,
                    format={"enum": ["docker-save", "oci"]},
                    layers=INT,
                    findings=INT,
                    deleted_later=arr(STR),
                )
            ),
            exposure=arr(obj(kind=values(SecretKind), path=STR, size=INT, modified=TIME, detail=STR)),
            skipped=arr(obj(path=STR, reason=STR)),
            notes=arr(STR),
        ),
    ),
}


def schema_paths(schema: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted field paths a schema allows: ``hunt.findings[].kind``; objects only through their keys."""
    out: set[str] = set()
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object":
            out |= schema_paths(sub, path + ".")
            continue
        out.add(path)
        if sub.get("type") == "array" and sub["items"].get("type") == "object":
            out |= schema_paths(sub["items"], path + "[].")
    return out


def document_paths(value: Any, prefix: str = "") -> set[str]:
    """The same dotted paths for a document (lists contribute the keys of every item)."""
    out: set[str] = set()
    for key, sub in value.items():
        path = f"{prefix}{key}"
        if isinstance(sub, dict):
            out |= document_paths(sub, path + ".")
            continue
        out.add(path)
        if isinstance(sub, list):
            for item in sub:
                if isinstance(item, dict):
                    out |= document_paths(item, path + "[].")
    return out


def hunt_docs() -> str:
    text = DOCS.read_text("utf-8")
    assert HUNT_HEADING in text, f"{DOCS} has no {HUNT_HEADING} section"
    section = text.split(HUNT_HEADING, 1)[1]
    following = re.search(r"^## ", section, flags=re.MULTILINE)
    return section[: following.start()] if following else section


def documented_paths(section: str) -> set[str]:
    """The first column of the docs' field table: every row whose field is a document path."""
    rows = re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE)
    return {r for r in rows if r == "schema_version" or r.startswith(("tool.", "hunt"))}


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    return jsonschema.Draft202012Validator(SCHEMA)


def test_json_document_validates_and_mirrors_the_report(validator: jsonschema.protocols.Validator) -> None:
    report = compromised_report()
    text = hunt_json(report)
    assert text.endswith("\n")
    data = json.loads(text)
    validator.validate(data)
    assert data["schema_version"] == 1
    assert data["tool"] == {"name": "depvet", "version": __version__}
    hunt = data["hunt"]
    assert hunt["compromised"] is True
    assert hunt["started"] == "2026-03-25T16:05:00Z"
    assert hunt["seconds"] == 12.412
    assert [f["path"] for f in hunt["findings"]] == [f.path for f in report.findings]  # worst first, as given
    assert [s["rank"] for s in hunt["checklist"]] == [1, 4, 15, 17, 20]
    assert [p for s in hunt["checklist"] for p in s["paths"]] == ranked_paths(report)
    assert [e["inside_window"] for e in hunt["timeline"]] == [e.inside_window for e in report.timeline]
    assert hunt["timeline"][3]["when"] == "2026-03-24T11:15:02Z"
    assert {e["kind"] for e in hunt["exposure"]} == {str(k) for k in SecretKind}
    assert hunt["images"][0]["deleted_later"] == ["usr/local/lib/python3.11/site-packages/litellm_init.pth"]
    assert hunt["findings"][-1]["evidence"].startswith("file name on the IOC list: <script>")  # data, as is
    assert hunt_document(report) == data


def test_json_clean_document(validator: jsonschema.protocols.Validator) -> None:
    data = json.loads(hunt_json(clean_report()))
    validator.validate(data)
    assert data["hunt"]["compromised"] is False
    assert data["hunt"]["findings"] == data["hunt"]["exposure"] == data["hunt"]["checklist"] == []
    assert len(data["hunt"]["environments"]) == 2


def test_docs_schema_and_output_name_the_same_fields(validator: jsonschema.protocols.Validator) -> None:
    section = hunt_docs()
    documented = documented_paths(section)
    emitted = document_paths(hunt_document(compromised_report()))
    allowed = schema_paths(SCHEMA)
    assert emitted - documented == set(), "emitted but not documented in docs/json-format.md"
    assert documented - emitted == set(), "documented but never emitted"
    assert allowed == documented, "the test's schema and the docs disagree"


def test_docs_example_validates(validator: jsonschema.protocols.Validator) -> None:
    blocks = re.findall(r"```json\n(.*?)```", hunt_docs(), flags=re.DOTALL)
    assert len(blocks) == 1
    example = json.loads(blocks[0])
    validator.validate(example)
    assert document_paths(example) == documented_paths(hunt_docs())


def test_docs_list_every_enum_value() -> None:
    section = hunt_docs()
    for enum_type in (FindingKind, EnvironmentKind, CacheKind, SecretKind, Severity):
        for member in enum_type:
            assert f"`{member}`" in section, (
                f"docs/json-format.md: {enum_type.__name__} `{member}` undocumented"
            )


def test_json_covers_every_model_field() -> None:
    data = hunt_document(compromised_report())["hunt"]
    samples: dict[type, dict[str, Any]] = {
        HuntReport: data,
        Finding: data["findings"][0],
        RotationStep: data["checklist"][0],
        TimelineEvent: data["timeline"][0],
        Environment: data["environments"][0],
        Cache: data["caches"][0],
        ImageSummary: data["images"][0],
        ExposedSecret: data["exposure"][0],
        Skipped: data["skipped"][0],
    }
    for cls, sample in samples.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        assert fields <= set(sample), f"{cls.__name__} fields missing from the JSON: {fields - set(sample)}"


def test_times_are_utc_with_z() -> None:
    assert iso_utc(datetime(2026, 3, 24, 11, 15, 2, 999_999, tzinfo=UTC)) == "2026-03-24T11:15:02Z"
    assert iso_utc(datetime(2026, 3, 24, 11, 15, 2)) == "2026-03-24T11:15:02Z"  # naive: already UTC
    berlin = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 3, 24, 12, 15, 2, tzinfo=berlin)) == "2026-03-24T11:15:02Z"


def test_undecodable_file_names_stay_valid_utf8() -> None:
    odd = "/home/dev/caf\udce9/evil.pth"  # os.fsdecode of a Latin-1 byte
    report = dataclasses.replace(
        compromised_report(),
        findings=(Finding(FindingKind.STARTUP_CODE, Severity.CRITICAL, odd, "t", "e\x1b[31m"),),
    )
    text = hunt_json(report)
    text.encode("utf-8")
    assert json.loads(text)["hunt"]["findings"][0]["path"] == odd
    page = hunt_html(report)
    page.encode("utf-8")
    assert "caf\\udce9" in page
    assert "\x1b" not in page
    assert "e\\x1b[31m" in page


# -- HTML, statically ------------------------------------------------------------------------------


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, match: Callable[[Node], bool]) -> list[Node]:
        return [n for n in self.iter() if match(n)]

    def find(self, match: Callable[[Node], bool]) -> Node:
        found = self.find_all(match)
        assert found, "no such element"
        return found[0]

    def by_id(self, ident: str) -> Node:
        return self.find(lambda n: n.attrs.get("id") == ident)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: str) -> Node:
    builder = TreeBuilder()
    builder.feed(page)
    builder.close()
    return builder.root


SECTIONS = ["verdict", "actions", "findings", "timeline", "searched", "exposure", "skipped", "notes"]
EXTERNAL = re.compile(
    r"""(?:src|href|action|poster|srcset)\s*=\s*["']?\s*(?:https?:)?//|url\s*\(|@import""", re.I
)


def check_page(dom: Node, report: HuntReport) -> None:
    """What the page must show, for the static HTML and for the DOM chromium built alike."""
    html_node = dom.find(lambda n: n.tag == "html")
    assert html_node.attrs.get("lang") == "en"
    assert [n.attrs["id"] for n in dom.find_all(lambda n: n.tag == "section")] == SECTIONS
    # Hostile text is text: no element, no event handler, no external reference came from it.
    for node in dom.iter():
        assert node.tag not in BAD_TAGS, node.tag
        assert not [a for a in node.attrs if a.startswith("on")], node.attrs
        for attr in ("src", "href", "action", "srcset"):
            value = (node.attrs.get(attr) or "").strip().lower()
            assert not value or value.startswith("#"), (node.tag, attr, value)
    for th in dom.find_all(lambda n: n.tag == "th"):
        assert th.attrs.get("scope") in {"col", "row"}
    assert dom.find_all(lambda n: n.tag == "caption")
    verdict = dom.by_id("verdict")
    footer = dom.find(lambda n: n.tag == "footer")
    assert f"depvet {__version__}" in footer.text
    assert all(root in footer.text for root in report.roots)
    searched = dom.by_id("searched").text
    for item in (*report.environments, *report.caches, *report.images):
        assert item.path in searched
    exposure = dom.by_id("exposure")
    for secret in report.exposure:
        assert secret.path in exposure.text
    if not report.compromised:
        assert "verdict-good" in verdict.classes
        assert "nothing found" in verdict.text.lower()
        assert "compromised" not in dom.find(lambda n: n.tag == "title").text.lower()
        return
    assert "verdict-bad" in verdict.classes
    assert "COMPROMISED" in verdict.text.upper()
    assert f"{len(report.findings)} signs of compromise" in verdict.text
    actions = dom.by_id("actions")
    assert [c.text for c in actions.find_all(lambda n: n.tag == "code")] == ranked_paths(report)
    ranks = [n.text for n in actions.find_all(lambda n: "rank" in n.classes)]
    assert ranks == [str(n) for n in range(1, len(report.checklist) + 1)]  # steps, in rank order
    kinds = [n.text for n in actions.find_all(lambda n: n.tag == "h3")]
    assert kinds == [
        f"{hunt_html_module.secret_kind_label(s.kind)} {s.kind}"
        for s in sorted(report.checklist, key=lambda s: s.rank)
    ]
    findings = dom.by_id("findings").text
    for finding in report.findings:
        for value in (
            finding.path,
            finding.evidence,
            finding.release,
            finding.layer,
            str(finding.severity).upper(),
        ):
            assert value is None or value in findings, value
    timeline = dom.by_id("timeline")
    inside = timeline.find_all(lambda n: n.tag == "tr" and "inside" in n.classes)
    assert len(inside) == sum(1 for e in report.timeline if e.inside_window)
    assert all("Inside the window" in row.text for row in inside)
    for payload in (XSS_SCRIPT, XSS_IMG, XSS_SVG):
        assert payload in dom.by_id("findings").text  # shown, as text
    assert XSS_IMG in exposure.text
    assert XSS_IMG in actions.text
    assert XSS_SCRIPT in dom.by_id("skipped").text
    assert XSS_IMG in dom.by_id("notes").text


def test_html_is_self_contained_and_escaped() -> None:
    report = compromised_report()
    page = hunt_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert not EXTERNAL.search(page), EXTERNAL.search(page)
    assert "<script" not in page.lower()
    assert XSS_SCRIPT not in page
    assert "<img" not in page
    assert "Content-Security-Policy" in page
    assert "@media print" in page
    check_page(parse(page), report)


def test_html_clean_report_says_nothing_found() -> None:
    report = clean_report()
    dom = parse(hunt_html(report))
    check_page(dom, report)
    assert "No secrets were found" in dom.by_id("exposure").text
    assert "Nothing to do" in dom.by_id("actions").text
    assert "No findings" in dom.by_id("findings").text
    with_secrets = clean_report(exposure=exposure_of_every_kind()[:2])
    dom = parse(hunt_html(with_secrets))
    check_page(dom, with_secrets)
    assert "nothing indicates they were taken" in dom.by_id("verdict").text


def test_html_long_lists_collapse_and_evidence_is_shortened() -> None:
    many = tuple(
        Environment(f"/home/dev/envs/e{n}", EnvironmentKind.PROJECT_VENV, n)
        for n in range(hunt_html_module.SHOWN_CLEAN_ENVIRONMENTS + 5)
    )
    secrets = tuple(
        ExposedSecret(SecretKind.DOTENV, f"/home/dev/p{n}/.env", n, PUBLISHED)
        for n in range(hunt_html_module.SHOWN_ROWS + 3)
    )
    long_evidence = "A" * (hunt_html_module.EVIDENCE_LIMIT + 100)
    report = dataclasses.replace(
        compromised_report(),
        environments=many,
        exposure=secrets,
        findings=(Finding(FindingKind.TAMPERED, Severity.MEDIUM, "/x", "t", long_evidence),),
        timeline=(TimelineEvent(PUBLISHED, "release published", "x==1", None),),
        skipped=(Skipped("/p", "permission denied"),),
    )
    dom = parse(hunt_html(report))
    summaries = [n.text for n in dom.find_all(lambda n: n.tag == "summary")]
    assert "5 more clean environments" in summaries
    assert "Show 3 more rows" in summaries
    assert all(s.path in dom.by_id("exposure").text for s in secrets)
    assert long_evidence not in dom.by_id("findings").text
    assert "A" * hunt_html_module.EVIDENCE_LIMIT + "\u2026" in dom.by_id("findings").text
    assert "no removal is recorded" in dom.by_id("timeline").text
    assert "1 path could not be read and is not covered" in dom.by_id("verdict").text


# -- HTML in a real browser ------------------------------------------------------------------------

CHROMIUM_FLAGS = (
    "--headless",
    "--disable-gpu",
    "--no-sandbox",  # CI runs as root in a container
    "--no-first-run",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)


@pytest.fixture
def chromium(tmp_path: Path, dead_url: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    binary = shutil.which("chromium")
    if binary is None:
        if os.environ.get("DEPVET_REQUIRE_BROWSER"):
            pytest.fail(
                "DEPVET_REQUIRE_BROWSER is set but chromium is not installed (apt-get install chromium)"
            )
        pytest.skip(
            "chromium is not installed (apt-get install chromium); set DEPVET_REQUIRE_BROWSER=1 to fail instead"
        )
    runs = iter(range(1000))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        profile = tmp_path / f"chromium-profile-{next(runs)}"
        # Every http(s) request, the page's or chromium's own, goes to a proxy where nothing listens.
        argv = [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--proxy-server={dead_url}", *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr[-2000:]
        return done

    return run


def page_requests(net_log: Path) -> list[str]:
    """http(s) URLs the page asked for (chromium's own background requests have no origin)."""
    log = json.loads(net_log.read_text("utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = []
    for event in log["events"]:
        params = event.get("params") or {}
        url = str(params.get("url", ""))
        if (
            event["type"] == start_job
            and url.startswith(("http:", "https:"))
            and params.get("initiator") != "not an origin"
        ):
            urls.append(url)
    return urls


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_html_in_chromium(tmp_path: Path, chromium: Callable[..., subprocess.CompletedProcess[str]]) -> None:
    report = compromised_report()
    page = tmp_path / "hunt-report.html"
    page.write_text(hunt_html(report), "utf-8")
    url = page.as_uri()

    # The DOM chromium built from the file, and every request it made while building it.
    net_log = tmp_path / "net-log.json"
    dom = parse(chromium(f"--log-net-log={net_log}", "--dump-dom", url).stdout)
    check_page(dom, report)
    assert page_requests(net_log) == []

    # The net-log check does see a page's requests: a control page with one external image.
    control = tmp_path / "control.html"
    control.write_text(
        '<!DOCTYPE html><html lang="en"><body><img src="http://203.0.113.5/x.png" alt=""></body></html>'
    )
    control_log = tmp_path / "control-net-log.json"
    chromium(f"--log-net-log={control_log}", "--dump-dom", control.as_uri())
    assert page_requests(control_log) == ["http://203.0.113.5/x.png"]

    shot = tmp_path / "hunt-report.png"
    chromium(f"--screenshot={shot}", "--window-size=1280,2400", url)
    data = shot.read_bytes()
    assert png_size(data) == (1280, 2400)
    assert len(data) > 100_000, len(data)  # text, tables and colour: far from a blank page
    print(f"hunt report screenshot: {shot}")


def test_clean_html_in_chromium(
    tmp_path: Path, chromium: Callable[..., subprocess.CompletedProcess[str]]
) -> None:
    report = clean_report()
    page = tmp_path / "hunt-clean.html"
    page.write_text(hunt_html(report), "utf-8")
    dom = parse(chromium("--dump-dom", page.as_uri()).stdout)
    check_page(dom, report)
    assert "No secrets were found" in dom.by_id("exposure").text
    assert "verdict-good" in dom.by_id("verdict").classes


def test_html_window_from_the_hunt_timeline() -> None:
    """The page reads the window ends ``depvet.hunt.timeline`` adds, under their own wording."""
    release = "litellm==1.82.8"
    dist_info = f"{SITE}/litellm-1.82.8.dist-info"
    events = build_timeline(
        [
            TimelineEvent(datetime(2026, 3, 24, 11, 15, 2, tzinfo=UTC), "installed", release, dist_info),
            TimelineEvent(
                datetime(2026, 3, 27, 9, 0, tzinfo=UTC), "downloaded into the pip cache", release, "/c"
            ),
        ]
    )
    assert [e.inside_window for e in events if e.path] == [True, False]
    dom = parse(hunt_html(dataclasses.replace(compromised_report(), timeline=events)))
    timeline = dom.by_id("timeline")
    assert "was on the index from" in timeline.text
    assert "1 event on this host fell inside that window" in timeline.text
    assert [n.text for n in timeline.find_all(lambda n: "flag-window" in n.classes)] == [
        "Window opens",
        "Window closes",
    ]
    assert timeline.find_all(lambda n: n.attrs.get("role") == "img")  # the strip, with its text alternative


def test_html_edge_cases() -> None:
    nothing = dataclasses.replace(clean_report(), environments=(), caches=(), seconds=7200.0)
    dom = parse(hunt_html(nothing))
    assert "nothing was checked" in dom.by_id("verdict").text
    assert "No Python environment was found" in dom.by_id("searched").text
    assert "No pip, uv or poetry cache was found" in dom.by_id("searched").text
    assert "took 2 h" in dom.find(lambda n: n.tag == "footer").text
    removed_only = dataclasses.replace(
        compromised_report(),
        timeline=(TimelineEvent(REMOVED, "release removed from the index", "x==1", None),),
        checklist=(),
        seconds=3 * 86400 + 600,
    )
    dom = parse(hunt_html(removed_only))
    assert "was removed from the index at" in dom.by_id("timeline").text
    assert "Nothing to rotate" in dom.by_id("actions").text
    assert "took 3 days 0 h" in dom.find(lambda n: n.tag == "footer").text
    assert "took 10 min" in hunt_html(dataclasses.replace(nothing, seconds=600.0))
