"""The pages the index firewall answers with: PEP 503 HTML and PEP 691 JSON, and which one a client wants.

Pure functions of what the firewall decided, with no web framework in them, so they are tested and
reused without a server. Spec: the PyPA "Simple repository API" (PEP 503, 592 yanking, 629
``pypi:repository-version``, 691 JSON and content negotiation, 700 ``upload-time``/``versions``/``size``).
"""

from __future__ import annotations

import enum
import html
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from depvet.artifacts.simpleindex import JSON_CONTENT_TYPE

API_VERSION = "1.1"
HTML_V1_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html"


class PageFormat(enum.Enum):
    JSON = JSON_CONTENT_TYPE
    HTML = HTML_V1_CONTENT_TYPE
    LEGACY_HTML = "text/html"

    @property
    def content_type(self) -> str:
        return "text/html; charset=utf-8" if self is PageFormat.LEGACY_HTML else self.value


# Media types a client may name for each format; "latest" is PEP 691's alias for the newest version.
_NAMES: dict[str, PageFormat] = {
    JSON_CONTENT_TYPE: PageFormat.JSON,
    "application/vnd.pypi.simple.latest+json": PageFormat.JSON,
    HTML_V1_CONTENT_TYPE: PageFormat.HTML,
    "application/vnd.pypi.simple.latest+html": PageFormat.HTML,
    "text/html": PageFormat.LEGACY_HTML,
}
SUPPORTED = (JSON_CONTENT_TYPE, HTML_V1_CONTENT_TYPE, "text/html")


def negotiate(accept: str | None) -> PageFormat | None:
    """The format to answer an ``Accept`` header with; None when the client accepts none of them.

    RFC 9110 rules: the most specific media range that matches an offer sets its q-value; the
    highest q wins. Ties between offers the client named outright go to JSON (the client asked for
    it as much as for HTML, and JSON is the richer format); ties reached through wildcards alone go
    to ``text/html``, the format PEP 691 makes the default, as does an absent header.
    """
    if accept is None or not accept.strip():
        return PageFormat.LEGACY_HTML
    ranges = [_media_range(part) for part in accept.split(",") if part.strip()]
    best: tuple[float, int, int, PageFormat] | None = None
    for offer_name, offer in (
        (JSON_CONTENT_TYPE, PageFormat.JSON),
        (HTML_V1_CONTENT_TYPE, PageFormat.HTML),
        ("text/html", PageFormat.LEGACY_HTML),
    ):
        match = _match(offer, offer_name, ranges)
        if match is None or match[0] <= 0:
            continue
        quality, specificity = match
        preference = _PREFERENCE_EXPLICIT[offer] if specificity == 2 else _PREFERENCE_WILDCARD[offer]
        candidate = (quality, specificity, preference, offer)
        if best is None or candidate[:3] > best[:3]:
            best = candidate
    return None if best is None else best[3]


_PREFERENCE_EXPLICIT = {PageFormat.JSON: 3, PageFormat.HTML: 2, PageFormat.LEGACY_HTML: 1}
_PREFERENCE_WILDCARD = {PageFormat.LEGACY_HTML: 3, PageFormat.HTML: 2, PageFormat.JSON: 1}


def format_named(name: str) -> PageFormat | None:
    """The format a ``?format=`` query parameter names (PEP 691's optional URL-based selection).

    An unencoded ``+`` arrives as a space (form encoding); it can only have meant ``+``.
    """
    return _NAMES.get(name.strip().lower().replace(" ", "+"))


def _media_range(part: str) -> tuple[str, float]:
    media, *params = (piece.strip() for piece in part.split(";"))
    quality = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                quality = 0.0  # a q-value nobody can read accepts nothing
    return media.lower(), quality


def _match(offer: PageFormat, offer_name: str, ranges: list[tuple[str, float]]) -> tuple[float, int] | None:
    """(q, specificity) of the most specific range matching the offer: 2 exact, 1 ``type/*``, 0 ``*/*``."""
    found: tuple[float, int] | None = None
    kind = offer_name.partition("/")[0]
    for media, quality in ranges:
        if _NAMES.get(media) is offer:
            specificity = 2
        elif media == f"{kind}/*":
            specificity = 1
        elif media == "*/*":
            specificity = 0
        else:
            continue
        if found is None or specificity > found[1]:
            found = (quality, specificity)
    return found


# -- pages ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageFile:
    """One file as the firewall lists it: ``url`` already points at the firewall, never upstream."""

    filename: str
    url: str
    sha256: str | None
    requires_python: str | None
    yanked: str | bool  # False, True, or the reason (PEP 592)
    upload_time: datetime | None
    size: int | None
    core_metadata: str | bool = False  # PEP 658/714: False, True, or the metadata file's sha256


@dataclass(frozen=True, slots=True)
class ProjectPage:
    name: str  # normalised
    files: tuple[PageFile, ...]
    versions: tuple[str, ...]


def render_project(page: ProjectPage, page_format: PageFormat) -> bytes:
    if page_format is PageFormat.JSON:
        return _project_json(page)
    return _project_html(page)


def render_root(projects: Sequence[str], page_format: PageFormat) -> bytes:
    """The root page: the projects this firewall knows, not the upstream's whole list (PyPI's is
    tens of MB, and installers never read it)."""
    if page_format is PageFormat.JSON:
        document = {"meta": {"api-version": API_VERSION}, "projects": [{"name": p} for p in projects]}
        return json.dumps(document).encode()
    links = "".join(f'    <a href="{html.escape(p)}/">{html.escape(p)}</a><br />\n' for p in projects)
    return _html_document("Simple index", links)


def upload_time_text(when: datetime) -> str:
    """PEP 700's format: ``yyyy-mm-ddThh:mm:ss.ffffffZ``, UTC."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _project_json(page: ProjectPage) -> bytes:
    files: list[dict[str, object]] = []
    for file in page.files:
        entry: dict[str, object] = {
            "filename": file.filename,
            "url": file.url,
            "hashes": {"sha256": file.sha256} if file.sha256 else {},
            "yanked": file.yanked,
        }
        if file.requires_python:
            entry["requires-python"] = file.requires_python
        if file.upload_time is not None:
            entry["upload-time"] = upload_time_text(file.upload_time)
        if file.size is not None:
            entry["size"] = file.size
        if file.core_metadata is not False:
            metadata = {"sha256": file.core_metadata} if isinstance(file.core_metadata, str) else True
            # PEP 714's new key, and the old one for installers from before it.
            entry["core-metadata"] = entry["dist-info-metadata"] = metadata
        files.append(entry)
    document = {
        "meta": {"api-version": API_VERSION},
        "name": page.name,
        "versions": list(page.versions),
        "files": files,
    }
    return json.dumps(document).encode()


def _project_html(page: ProjectPage) -> bytes:
    anchors: list[str] = []
    for file in page.files:
        href = file.url + (f"#sha256={file.sha256}" if file.sha256 else "")
        attributes = [f'href="{html.escape(href)}"']
        if file.requires_python:
            attributes.append(f'data-requires-python="{html.escape(file.requires_python)}"')
        if file.yanked is not False:
            reason = file.yanked if isinstance(file.yanked, str) else ""
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if file.core_metadata is not False:
            value = f"sha256={file.core_metadata}" if isinstance(file.core_metadata, str) else "true"
            attributes.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        anchors.append(f"    <a {' '.join(attributes)}>{html.escape(file.filename)}</a><br />\n")
    return _html_document(f"Links for {page.name}", "".join(anchors))


def _html_document(title: str, body: str) -> bytes:
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        f'    <meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"    <title>{html.escape(title)}</title>\n  </head>\n  <body>\n"
        f"    <h1>{html.escape(title)}</h1>\n{body}  </body>\n</html>\n"
    ).encode()
