"""Ask a simple repository (PEP 503 HTML or PEP 691 JSON) which files a project has.

Spec: the PyPA "Simple repository API" page, which folds in PEP 503 (HTML), 592 (yanking), 629
(``pypi:repository-version``), 658/714 (core metadata), 691 (JSON and content negotiation), 700
(``size``, ``upload-time``, ``versions``) and 740 (``provenance``). The HTTP plumbing shared with
``download.py`` lives here too: one opener that never follows a redirect off http(s) or down from https,
credentials taken out of URLs and never shown.
"""

from __future__ import annotations

import base64
import codecs
import dataclasses
import json
import re
import socket
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from html.parser import HTMLParser
from http.client import HTTPException, HTTPMessage, IncompleteRead, RemoteDisconnected
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import unquote, urldefrag, urljoin, urlsplit, urlunsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from depvet.errors import DepvetError, InputError
from depvet.timestamps import parse_timestamp

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_CONTENT_TYPES = frozenset({"application/vnd.pypi.simple.v1+html", "text/html"})
# "Version + Format Selection": JSON first; bare text/html last, because a misconfigured URL (a login
# page, a proxy's error page) also answers text/html.
ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
SUPPORTED_API_MAJOR = 1
# PyPI's largest project pages are tens of MB of JSON; past this an index is misbehaving.
MAX_PAGE_BYTES = 256 * 1024 * 1024
READ_CHUNK = 1024 * 1024
HTTP_SCHEMES = frozenset({"http", "https"})

_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
# PEP 508 names; anything else cannot be a project and must not become a path segment.
_PROJECT_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/?#]*)@")
# Sdist suffixes older than PEP 625 that ``parse_sdist_filename`` does not accept.
_LEGACY_SDIST_SUFFIXES = (".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tgz", ".tar")


# -- errors -------------------------------------------------------------------------------------------


class SimpleIndexError(DepvetError):
    """A project page could not be fetched or understood; ``url`` is shown with credentials hidden."""

    def __init__(self, message: str, url: str) -> None:
        super().__init__(message)
        self.url = url


class IndexUnreachable(SimpleIndexError):
    """Nothing usable answered: refused, unknown host, TLS failure, connection dropped."""


class IndexTimeout(IndexUnreachable):
    """The index stopped answering for longer than the timeout."""


class ProjectNotFound(SimpleIndexError):
    """The index has no such project (404 or 410)."""


class BadIndexResponse(SimpleIndexError):
    """The index answered, but not with a simple API page depvet can read."""


class RefusedRedirect(BadIndexResponse):
    """A redirect to something other than http(s), or from https down to plain http."""


# -- data ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexFile:
    """One file of a project page.

    ``url`` is absolute and has no fragment; when the file lives on the index's own host it carries
    the index URL's credentials, so show it with ``redact_url``. ``yanked`` is ``False``, ``True`` or
    the reason given. ``core_metadata`` (PEP 658/714) is ``False`` when not advertised, ``True`` when
    advertised without a sha256, else that sha256. ``provenance`` (PEP 740) is the absolute URL of the
    file's provenance object, or None when the index offers none; like ``url`` it may carry credentials.
    """

    filename: str
    url: str
    sha256: str | None
    upload_time: datetime | None
    yanked: str | bool
    requires_python: str | None
    size: int | None
    core_metadata: str | bool = False
    provenance: str | None = None


class Response(Protocol):
    """The part of an ``urlopen`` response depvet uses (``HTTPResponse`` or ``addinfourl``)."""

    @property
    def headers(self) -> Message: ...

    def read(self, amt: int, /) -> bytes: ...

    def geturl(self) -> str: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Page:
    body: bytes
    content_type: str
    charset: str | None
    url: str  # after redirects, without credentials


# -- HTTP plumbing shared with download.py ------------------------------------------------------------


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """urllib's redirects, minus ftp and minus https -> http (a downgrade would drop TLS silently)."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        old_scheme = urlsplit(req.full_url).scheme.lower()
        new_scheme = urlsplit(newurl).scheme.lower()
        if new_scheme not in HTTP_SCHEMES or (old_scheme == "https" and new_scheme == "http"):
            fp.close()
            shown = redact_url(req.full_url)
            raise RefusedRedirect(f"refused redirect from {shown} to {redact_url(newurl)}", shown)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener() -> urllib.request.OpenerDirector:
    """An opener for http, https and file only (no ftp, no data:), honouring the proxy variables."""
    opener = urllib.request.OpenerDirector()
    handlers: tuple[urllib.request.BaseHandler, ...] = (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _RedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        urllib.request.FileHandler(),
    )
    for handler in handlers:
        opener.add_handler(handler)
    return opener


def open_url(
    opener: urllib.request.OpenerDirector,
    url: str,
    *,
    timeout: float,
    user_agent: str,
    accept: str | None = None,
) -> Response:
    """GET ``url``; ``user:password@`` in it becomes a Basic header that is not resent after a redirect.

    Raises what urllib raises (``HTTPError``, ``URLError``, ``OSError``, ``http.client`` errors,
    ``ValueError`` for a malformed URL) and ``RefusedRedirect``; callers turn those into their own terms.
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in HTTP_SCHEMES and scheme != "file":
        raise ValueError(f"unsupported URL scheme {scheme!r}")
    clean, authorization = split_credentials(url)
    # The scheme is checked above, and _RedirectHandler limits where a redirect may lead.
    request = urllib.request.Request(clean, headers={"User-Agent": user_agent})  # noqa: S310
    if accept:
        request.add_header("Accept", accept)
    if authorization:
        request.add_unredirected_header("Authorization", authorization)
    response: Response = opener.open(request, timeout=timeout)
    return response


def split_credentials(url: str) -> tuple[str, str | None]:
    """``url`` without ``user:password@``, and the Basic ``Authorization`` value those gave (or None)."""
    match = _USERINFO.match(url)
    if match is None:
        return url, None
    user, _, password = match["userinfo"].partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    return match["scheme"] + url[match.end() :], f"Basic {token}"


def redact_url(url: str) -> str:
    """``url`` fit to print: a password, or a lone token in the user part, becomes ``***``."""
    match = _USERINFO.match(url)
    if match is None:
        return url
    user, sep, _ = match["userinfo"].partition(":")
    shown = f"{user}:***" if sep else "***"
    return f"{match['scheme']}{shown}@{url[match.end() :]}"


def content_length(response: Response) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is not None and length >= 0 else None


def is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return isinstance(exc.reason, TimeoutError)
    return isinstance(exc, TimeoutError)


def network_reason(exc: BaseException) -> str:
    """A few words for why a connection failed: "connection refused", "host name not found"…"""
    reason: object = exc
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        reason = exc.reason
    match reason:
        case ConnectionRefusedError():
            return "connection refused"
        case socket.gaierror():
            return "host name not found"
        case TimeoutError():
            return "timed out"
        case ssl.SSLCertVerificationError():
            return f"TLS certificate not trusted ({reason.verify_message})"
        case ssl.SSLError():
            return f"TLS error ({reason.reason or reason})"
        case RemoteDisconnected():
            return "connection closed without a response"
        case ConnectionResetError():
            return "connection reset"
        case IncompleteRead():
            return "connection closed before the end of the response"
        case FileNotFoundError():
            return "no such file"
        case OSError() if reason.strerror:
            return reason.strerror[:1].lower() + reason.strerror[1:]
        case str():
            return reason
        case _:
            return str(reason) or type(reason).__name__


# -- the client ---------------------------------------------------------------------------------------


class SimpleIndexClient:
    def __init__(self, timeout: float = 30.0, user_agent: str = "depvet") -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self._opener = build_opener()

    def project_files(self, index_url: str, name: str) -> list[IndexFile]:
        """Every file the index lists for project ``name``, in page order."""
        page_url = project_url(index_url, name)
        page = self._fetch(page_url, name, redact_url(index_url))
        if page.content_type == JSON_CONTENT_TYPE:
            files = parse_json_page(page.body, page.url)
        elif page.content_type in HTML_CONTENT_TYPES:
            files = parse_html_page(page.body.decode(_codec(page.charset), "replace"), page.url)
        else:
            shown = redact_url(page_url)
            raise BadIndexResponse(
                f"{shown} answered {page.content_type!r}, not a simple index page (is the index URL right?)",
                shown,
            )
        return [_with_index_credentials(f, page_url) for f in files]

    def _fetch(self, page_url: str, name: str, index_shown: str) -> _Page:
        shown = redact_url(page_url)
        scheme = urlsplit(page_url).scheme.lower()
        if scheme == "file":
            return _read_file_page(page_url, name, index_shown)
        if scheme not in HTTP_SCHEMES:
            raise IndexUnreachable(
                f"cannot reach index {index_shown}: unsupported scheme {scheme!r} (use http, https or file)",
                shown,
            )
        try:
            response = open_url(
                self._opener, page_url, timeout=self.timeout, user_agent=self.user_agent, accept=ACCEPT
            )
            try:
                body = _read_page_body(response, shown)
                headers = response.headers
                return _Page(
                    body, headers.get_content_type(), headers.get_content_charset(), response.geturl()
                )
            finally:
                response.close()
        except urllib.error.HTTPError as exc:
            exc.close()
            raise _http_error(exc.code, name, index_shown, shown) from exc
        except (urllib.error.URLError, OSError, HTTPException, ValueError) as exc:
            raise self._network_error(exc, index_shown, shown) from exc

    def _network_error(self, exc: BaseException, index_shown: str, shown: str) -> SimpleIndexError:
        if is_timeout(exc):
            return IndexTimeout(f"timed out after {self.timeout:g} s reading {shown}", shown)
        if isinstance(exc, HTTPException) and not isinstance(exc, IncompleteRead | RemoteDisconnected):
            return BadIndexResponse(f"{shown} did not answer in HTTP ({type(exc).__name__})", shown)
        if isinstance(exc, ValueError) and not isinstance(exc, OSError):
            return IndexUnreachable(f"cannot reach index {index_shown}: not a valid URL", shown)
        return IndexUnreachable(f"cannot reach index {index_shown}: {network_reason(exc)}", shown)


def project_url(index_url: str, name: str) -> str:
    """``<index>/<normalized-name>/``; clients MUST request the normalized URL (Base HTML API)."""
    if not _PROJECT_NAME.fullmatch(name):
        raise InputError(f"{name!r} is not a valid project name")
    base = index_url if index_url.endswith("/") else index_url + "/"
    return f"{base}{canonicalize_name(name)}/"


def _http_error(code: int, name: str, index_shown: str, shown: str) -> SimpleIndexError:
    if code in (404, 410):
        return ProjectNotFound(f"{name} is not on index {index_shown} ({code})", shown)
    if code in (401, 403):
        return BadIndexResponse(
            f"index {index_shown} refused access to {shown} (HTTP {code}): credentials missing or wrong",
            shown,
        )
    return BadIndexResponse(f"index {index_shown} answered HTTP {code} for {shown}", shown)


def _read_page_body(response: Response, shown: str) -> bytes:
    return read_bounded(response, shown, MAX_PAGE_BYTES, "byte page limit")


def read_bounded(response: Response, shown: str, limit: int, unit: str = "byte limit") -> bytes:
    """The whole body, refused past ``limit`` bytes (declared or received) and when cut short.

    Raises ``BadIndexResponse`` for a body over the limit, ``IndexUnreachable`` for one shorter
    than its Content-Length.
    """
    declared = content_length(response)
    if declared is not None and declared > limit:
        raise BadIndexResponse(f"{shown} is {declared} bytes, over the {limit} {unit}", shown)
    chunks: list[bytes] = []
    total = 0
    while chunk := response.read(READ_CHUNK):
        total += len(chunk)
        if total > limit:
            raise BadIndexResponse(f"{shown} is over the {limit} {unit}", shown)
        chunks.append(chunk)
    if declared is not None and total < declared:
        # http.client ends a short body quietly instead of raising IncompleteRead.
        raise IndexUnreachable(f"connection closed after {total} of {declared} bytes reading {shown}", shown)
    return b"".join(chunks)


def _read_file_page(page_url: str, name: str, index_shown: str) -> _Page:
    """A local mirror laid out like an index: ``<dir>/<project>/index.html``."""
    path = Path(urllib.request.url2pathname(urlsplit(page_url).path))
    if path.is_dir():
        path = path / "index.html"
    try:
        if path.stat().st_size > MAX_PAGE_BYTES:
            raise BadIndexResponse(f"{path} is over the {MAX_PAGE_BYTES} byte page limit", page_url)
        body = path.read_bytes()
    except FileNotFoundError as exc:
        raise ProjectNotFound(f"{name} is not on index {index_shown} (no {path})", page_url) from exc
    except OSError as exc:
        raise IndexUnreachable(f"cannot read index {index_shown}: {network_reason(exc)}", page_url) from exc
    return _Page(body, "text/html", None, page_url)


def _codec(charset: str | None) -> str:
    if charset:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass
    return "utf-8"


def _with_index_credentials(file: IndexFile, page_url: str) -> IndexFile:
    """Give a file on the index's own origin the index URL's credentials, as pip does per host.

    The provenance URL gets the same treatment: a private index that wants credentials for its files
    wants them for their provenance too.
    """
    match = _USERINFO.match(page_url)
    if match is None:
        return file
    clean_page, _ = split_credentials(page_url)
    page = urlsplit(clean_page)
    url = _credited(file.url, page.scheme, page.netloc, match["userinfo"])
    provenance = file.provenance
    if provenance is not None:
        provenance = _credited(provenance, page.scheme, page.netloc, match["userinfo"])
    return dataclasses.replace(file, url=url, provenance=provenance)


def _credited(url: str, scheme: str, netloc: str, userinfo: str) -> str:
    target = urlsplit(url)
    if (scheme, netloc) != (target.scheme, target.netloc) or "@" in target.netloc:
        return url
    return urlunsplit(target._replace(netloc=f"{userinfo}@{target.netloc}"))


# -- JSON pages (PEP 691, PEP 700) ----------------------------------------------------------------------


def parse_json_page(data: bytes, page_url: str) -> list[IndexFile]:
    """Files of a JSON project page; URLs in it resolve against ``page_url`` as if it were HTML."""
    shown = redact_url(page_url)
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise BadIndexResponse(f"{shown} answered malformed JSON", shown) from exc
    if not isinstance(document, dict):
        raise _malformed(shown, "the document is not an object")
    meta = document.get("meta")
    _check_api_version(meta.get("api-version") if isinstance(meta, dict) else None, shown)
    files = document.get("files")
    if not isinstance(files, list):
        raise _malformed(shown, "'files' is missing or not a list")
    return [_json_file(entry, i, page_url, shown) for i, entry in enumerate(files)]


def _json_file(entry: object, i: int, page_url: str, shown: str) -> IndexFile:
    where = f"files[{i}]"
    if not isinstance(entry, dict):
        raise _malformed(shown, f"{where} is not an object")
    filename, url, hashes = entry.get("filename"), entry.get("url"), entry.get("hashes", {})
    if not isinstance(filename, str) or not filename:
        raise _malformed(shown, f"{where}.filename is missing")
    if not isinstance(url, str) or not url:
        raise _malformed(shown, f"{where}.url is missing")
    if not isinstance(hashes, dict):
        raise _malformed(shown, f"{where}.hashes is not an object")
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    # PEP 714: read core-metadata; the older dist-info-metadata only when it is absent.
    core = entry["core-metadata"] if "core-metadata" in entry else entry.get("dist-info-metadata")
    return IndexFile(
        filename=filename,
        url=urldefrag(urljoin(page_url, url)).url,
        sha256=_sha256_hex(hashes.get("sha256")),
        upload_time=_upload_time(entry.get("upload-time")),
        yanked=_json_yanked(entry.get("yanked")),
        requires_python=requires_python if isinstance(requires_python, str) and requires_python else None,
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        core_metadata=_json_core_metadata(core),
        provenance=_provenance_url(entry.get("provenance"), page_url),
    )


def _json_yanked(value: object) -> str | bool:
    # PEP 592 in JSON: a boolean, or a non-empty reason string; any truthy value means yanked.
    if isinstance(value, str):
        return value if value else False
    return bool(value)


def _json_core_metadata(value: object) -> str | bool:
    if isinstance(value, dict):
        return _sha256_hex(value.get("sha256")) or bool(value)
    return bool(value)


def _upload_time(value: object) -> datetime | None:
    """PEP 700: ``yyyy-mm-ddThh:mm:ss.ffffffZ``, fraction optional, always UTC."""
    return parse_timestamp(value) if isinstance(value, str) else None


def _malformed(shown: str, what: str) -> BadIndexResponse:
    return BadIndexResponse(f"{shown} is not a valid JSON project page: {what}", shown)


# -- HTML pages (PEP 503, 592, 629, 658, 714) -----------------------------------------------------------


class _AnchorCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self.base_href: str | None = None
        self.api_version: str | None = None
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._flush()
            self._open = dict(attrs)
        elif tag == "base" and self.base_href is None:
            self.base_href = dict(attrs).get("href")
        elif tag == "meta":
            values = dict(attrs)
            if values.get("name") == "pypi:repository-version":
                self.api_version = values.get("content")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._flush()

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        if self._open is not None:
            self.anchors.append((self._open, "".join(self._text)))
        self._open = None
        self._text = []


def parse_html_page(text: str, page_url: str) -> list[IndexFile]:
    """Files of an HTML project page: one anchor per file, relative hrefs against the page (or ``<base>``)."""
    shown = redact_url(page_url)
    collector = _AnchorCollector()
    try:
        collector.feed(text)
        collector.close()
    except AssertionError as exc:  # _markupbase asserts on some malformed declarations (``<![bogus``)
        raise BadIndexResponse(f"{shown} is not parseable HTML", shown) from exc
    _check_api_version(collector.api_version, shown)
    base = urljoin(page_url, collector.base_href) if collector.base_href else page_url
    files: list[IndexFile] = []
    for attrs, anchor_text in collector.anchors:
        href = attrs.get("href")
        if not href or not href.strip():
            continue
        url, fragment = urldefrag(urljoin(base, href.strip()))
        # The anchor text MUST be the filename; fall back to the URL's last segment if a page omits it.
        filename = anchor_text.strip() or unquote(urlsplit(url).path.rpartition("/")[2])
        if not filename:
            continue
        files.append(
            IndexFile(
                filename=filename,
                url=url,
                sha256=_fragment_sha256(fragment),
                # Not in PEP 503, but some indexes carry PEP 700's time on the anchor too.
                upload_time=_upload_time(attrs.get("data-upload-time")),
                yanked=_html_yanked(attrs),
                requires_python=attrs.get("data-requires-python") or None,
                size=None,
                core_metadata=_html_core_metadata(attrs),
                # PEP 740 asks for an absolute URL; a relative one resolves like href, as a browser would.
                provenance=_provenance_url(attrs.get("data-provenance"), base),
            )
        )
    return files


def _fragment_sha256(fragment: str) -> str | None:
    name, _, value = fragment.partition("=")
    return _sha256_hex(value) if name.lower() == "sha256" else None


def _html_yanked(attrs: dict[str, str | None]) -> str | bool:
    # The attribute may have no value, or a reason; either way its presence means yanked.
    if "data-yanked" not in attrs:
        return False
    return attrs["data-yanked"] or True


def _html_core_metadata(attrs: dict[str, str | None]) -> str | bool:
    # PEP 714: data-core-metadata first; data-dist-info-metadata only when it is absent.
    for key in ("data-core-metadata", "data-dist-info-metadata"):
        if key in attrs:
            value = (attrs[key] or "true").strip()
            if value.lower() == "false":
                return False
            name, _, digest = value.partition("=")
            return (_sha256_hex(digest) if name.lower() == "sha256" else None) or True
    return False


# -- shared ---------------------------------------------------------------------------------------------


def _check_api_version(version: object, shown: str) -> None:
    """PEP 629: a major version above the one understood MUST be a hard failure; absent means 1.0."""
    if not isinstance(version, str):
        return
    major = version.strip().partition(".")[0]
    if major.isdigit() and int(major) > SUPPORTED_API_MAJOR:
        raise BadIndexResponse(
            f"{shown} speaks simple API version {version}; depvet understands version {SUPPORTED_API_MAJOR}",
            shown,
        )


def _provenance_url(value: object, base: str) -> str | None:
    """PEP 740: a URL or null. Anything else counts as absent, as for other optional fields of the wrong
    type: a page that cannot say where provenance lives offers none, which is not worth refusing it."""
    if not isinstance(value, str) or not value.strip():
        return None
    return urldefrag(urljoin(base, value.strip())).url


def _sha256_hex(value: object) -> str | None:
    if isinstance(value, str) and _SHA256_HEX.fullmatch(value):
        return value.lower()
    return None


# -- release selection ----------------------------------------------------------------------------------


def find_release_files(files: list[IndexFile], name: str, version: str) -> list[IndexFile]:
    """The wheels and sdists of ``name`` ``version`` (PEP 440 equality: ``1.0`` is ``1.0.0``), in order.

    Files whose names parse as neither (eggs, installers, junk) are skipped; yanked files are kept,
    the caller decides what a yank means.
    """
    try:
        wanted = Version(version)
    except InvalidVersion:
        return []
    project = canonicalize_name(name)
    picked: list[IndexFile] = []
    for file in files:
        parsed = release_of(file.filename)
        if parsed is not None and parsed[0] == project and parsed[1] == wanted:
            picked.append(file)
    return picked


def release_of(filename: str) -> tuple[str, Version] | None:
    """(normalised project name, version) of a wheel or sdist file name; None for anything else."""
    lower = filename.lower()
    try:
        if lower.endswith(".whl"):
            wheel_name, wheel_version, _, _ = parse_wheel_filename(filename)
            return str(wheel_name), wheel_version
        for suffix in _LEGACY_SDIST_SUFFIXES:
            if lower.endswith(suffix):
                filename = filename[: -len(suffix)] + ".tar.gz"
                break
        sdist_name, sdist_version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return str(sdist_name), sdist_version
