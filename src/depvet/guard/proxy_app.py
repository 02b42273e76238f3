"""The index firewall's web application: simple index routes, file downloads, status page.

Routes (relative links everywhere, so the proxy works unchanged behind a TLS terminator or
under a path prefix):

- ``/simple/`` and ``/simple/<project>/``: PEP 503 HTML or PEP 691 JSON by ``Accept``;
  non-normalised names redirect (301) to the normalised URL, as PyPI does.
- ``/files/<project>/<sha256>/<filename>``: the verified, scanned file, 403 with the reason
  when the policy keeps it out, 502 when the upstream cannot give the listed bytes.
- ``/``: status page; ``/-/health``: liveness.

``create_app`` builds the application; its resources (database, process pool, HTTP client,
advisory database) are opened at startup in the server's event loop thread and closed at
shutdown. ``serve_in_thread`` runs it on an ephemeral port for tests and benchmarks.
"""

from __future__ import annotations

import html
import logging
import os
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import httpx
import uvicorn
from packaging.utils import canonicalize_name
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from depvet import __version__
from depvet.advisories.store import AdvisoryStore
from depvet.artifacts.cache import ArtifactCache
from depvet.artifacts.simpleindex import IndexFile, release_of
from depvet.errors import DepvetError
from depvet.guard.firewall import YANK_PREFIX, FileStatus, Firewall, Listing
from depvet.guard.judge import Clock, Judge, utc_now
from depvet.guard.proxy_settings import ProxySettings
from depvet.guard.scanpool import ScanPool
from depvet.guard.simplepages import (
    SUPPORTED,
    PageFile,
    PageFormat,
    ProjectPage,
    format_named,
    negotiate,
    render_project,
    render_root,
)
from depvet.guard.upstream import PageStore, Upstream, UpstreamError, UpstreamNotFound, wait_closed
from depvet.guard.verdicts import VerdictStore

log = logging.getLogger("depvet.proxy")

STALE_HEADER = "X-Depvet-Stale"
METADATA_SUFFIX = ".metadata"  # PEP 658: the file's URL plus this
# PEP 508 names; anything else is not a project and never reaches the upstream.
_PROJECT_NAME = re.compile(r"[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9]", re.IGNORECASE)
_SHA256_OR_NONE = re.compile(r"[0-9a-f]{64}|-")
# Decisions change (a new advisory, a finished scan, a cooldown that ends): clients revalidate.
_REVALIDATE = "max-age=0, must-revalidate"


@dataclass(frozen=True, slots=True)
class ProxyState:
    """What the routes use; ``app.state.proxy`` once the application has started."""

    settings: ProxySettings
    firewall: Firewall
    upstream: Upstream
    verdicts: VerdictStore
    scanner: ScanPool
    judge: Judge
    started_at: float


def create_app(
    settings: ProxySettings,
    *,
    judge: Judge | None = None,
    clock: Clock = utc_now,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Starlette:
    """The firewall as an ASGI application. ``judge`` replaces the one built from ``settings.policy``
    (with ``clock`` as "now" and the advisory database); ``transport`` replaces httpx's network."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            chosen = judge
            if chosen is None:
                store: AdvisoryStore | None = None
                if settings.advisory_db is not None:
                    store = stack.enter_context(AdvisoryStore(settings.advisory_db, readonly=True))
                chosen = Judge(settings.policy, store if store is not None and store.exists else None, clock)
            verdicts = VerdictStore(settings.db_path)
            stack.callback(verdicts.close)
            pages = PageStore(settings.db_path)
            stack.callback(pages.close)
            scanner = ScanPool(settings.jobs)
            stack.callback(scanner.close)
            upstream = Upstream(
                settings.upstream,
                ArtifactCache(settings.cache_dir),
                pages=pages,
                page_ttl=settings.page_ttl,
                timeout=settings.upstream_timeout,
                transport=transport,
            )
            stack.push_async_callback(wait_closed, upstream)
            firewall = Firewall(
                upstream,
                chosen,
                verdicts,
                scanner,
                prescan_timeout=settings.prescan_timeout,
                prescan_releases=settings.prescan_releases,
            )
            stack.push_async_callback(firewall.aclose)
            app.state.proxy = ProxyState(settings, firewall, upstream, verdicts, scanner, chosen, time.time())
            log.info(
                "depvet proxy: upstream %s, policy %s, verdicts in %s",
                settings.upstream_shown,
                settings.policy.source or "defaults",
                settings.db_path,
            )
            yield

    routes = [
        Route("/", status_page),
        Route("/-/health", health),
        Route("/simple", to_root),
        Route("/simple/", root_page),
        Route("/simple/{project}/", project_page),
        Route("/simple/{project}", project_page),
        Route("/files/{project}/{sha256}/{filename}", file_download),
        Route("/-/blocked-by-depvet/{filename}/{reason}", blocked),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _state(request: Request) -> ProxyState:
    state: ProxyState = request.app.state.proxy
    return state


def _format(request: Request) -> PageFormat | None:
    named = request.query_params.get("format")
    if named:
        return format_named(named)
    return negotiate(request.headers.get("accept"))


def _not_acceptable() -> Response:
    return PlainTextResponse(
        f"none of the media types this index serves is acceptable: {', '.join(SUPPORTED)}\n", 406
    )


# -- simple index --------------------------------------------------------------------------------------


async def to_root(request: Request) -> Response:
    return RedirectResponse("simple/", status_code=301)


async def root_page(request: Request) -> Response:
    page_format = _format(request)
    if page_format is None:
        return _not_acceptable()
    projects = _state(request).upstream.known_projects()
    return Response(
        render_root(projects, page_format),
        media_type=page_format.content_type,
        headers={"Vary": "Accept", "Cache-Control": _REVALIDATE},
    )


async def project_page(request: Request) -> Response:
    given: str = request.path_params["project"]
    if not _PROJECT_NAME.fullmatch(given):
        return PlainTextResponse(f"{given!r} is not a valid project name\n", 404)
    name = canonicalize_name(given)
    if given != name or not request.url.path.endswith("/"):
        # Relative, so it stays right behind a reverse proxy that adds a prefix.
        target = f"../{name}/" if request.url.path.endswith("/") else f"{name}/"
        if request.url.query:
            target += f"?{request.url.query}"
        return RedirectResponse(target, status_code=301)
    page_format = _format(request)
    if page_format is None:
        return _not_acceptable()
    try:
        listing = await _state(request).firewall.listing(name)
    except UpstreamNotFound as exc:
        return PlainTextResponse(f"{exc}\n", 404)
    except UpstreamError as exc:
        return PlainTextResponse(f"{exc}; no copy of the {name} page is kept\n", 502)
    headers = {"Vary": "Accept", "Cache-Control": _REVALIDATE}
    if listing.stale is not None:
        headers[STALE_HEADER] = f"{listing.stale:.0f}"
    body = render_project(_project_page(listing), page_format)
    return Response(body, media_type=page_format.content_type, headers=headers)


def _project_page(listing: Listing) -> ProjectPage:
    files = tuple(
        PageFile(
            filename=item.file.filename,
            # Relative to /simple/<project>/: the files route of this same proxy, never the upstream.
            url=f"../../files/{listing.project}/{item.file.sha256 or '-'}/{quote(item.file.filename)}",
            sha256=item.file.sha256,
            requires_python=item.file.requires_python,
            yanked=item.yanked,
            upload_time=item.file.upload_time,
            size=item.file.size,
            core_metadata=_core_metadata(item.file),
        )
        for item in listing.files
    )
    return ProjectPage(listing.project, files, listing.versions)


def _core_metadata(file: IndexFile) -> str | bool:
    """What to advertise: the upstream's metadata (and its hash) when it offers it; for any hashed
    wheel, the METADATA the proxy reads from the wheel itself (no hash known before that)."""
    if file.core_metadata:
        return file.core_metadata
    return bool(file.sha256) and file.filename.endswith(".whl")


# -- files ---------------------------------------------------------------------------------------------


async def file_download(request: Request) -> Response:
    project: str = request.path_params["project"]
    sha256: str = request.path_params["sha256"]
    filename: str = request.path_params["filename"]
    if not _PROJECT_NAME.fullmatch(project) or canonicalize_name(project) != project:
        return PlainTextResponse("not a file of this index\n", 404)
    if not _SHA256_OR_NONE.fullmatch(sha256):
        return PlainTextResponse("not a file of this index\n", 404)
    firewall = _state(request).firewall
    if filename.endswith(METADATA_SUFFIX):
        answer = await firewall.metadata(project, sha256, filename.removesuffix(METADATA_SUFFIX))
        if answer.status is not FileStatus.SERVE or answer.body is None:
            return PlainTextResponse(answer.message + "\n", answer.status.value)
        return Response(answer.body, media_type="text/plain", headers={"Cache-Control": "no-cache"})
    client = request.client.host if request.client else "unknown client"
    answer = await firewall.fetch(project, sha256, filename, client)
    if answer.status is FileStatus.BLOCKED:
        # pip and uv print the URL that failed but never a response body: send them to a URL that
        # says why, which then answers 403 (relative: /files/<project>/<sha256>/ is three levels down).
        target = f"../../../-/blocked-by-depvet/{quote(filename)}/{reason_slug(answer.message)}"
        return PlainTextResponse(answer.message + "\n", 303, headers={"Location": target})
    if answer.status is not FileStatus.SERVE or answer.path is None:
        return PlainTextResponse(answer.message + "\n", answer.status.value)
    etag = f'"{sha256}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return FileResponse(answer.path, media_type="application/octet-stream", headers=headers)


async def blocked(request: Request) -> Response:
    """Where a refused download is sent: 403 with the reason the block log holds for the file."""
    filename: str = request.path_params["filename"]
    release = release_of(filename)
    record = (
        None
        if release is None
        else _state(request).verdicts.latest_block(release[0], str(release[1]), filename)
    )
    if record is None:
        return PlainTextResponse(f"{YANK_PREFIX}{filename}\n", 403)
    entry = record.entry
    return PlainTextResponse(
        f"{YANK_PREFIX}{entry.project} {entry.version} ({filename}): {entry.detail}\n", 403
    )


def reason_slug(message: str) -> str:
    """The reason as one readable URL path segment: ``scan-verdict-malicious-DV101-.pth-file-runs-…``."""
    _, _, reason = message.partition("): ")
    return re.sub(r"[^A-Za-z0-9._]+", "-", reason or message).strip("-.")[:160] or "blocked"


# -- status --------------------------------------------------------------------------------------------


async def health(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "upstream": "down" if state.upstream.down_since is not None else "up",
        }
    )


async def status_page(request: Request) -> Response:
    state = _state(request)
    settings = state.settings
    counts = state.verdicts.counts()
    stats = state.firewall.stats
    upstream = state.upstream
    if upstream.down_since is None:
        upstream_state = "answering"
    else:
        upstream_state = f"down since {_when(upstream.down_since)} ({html.escape(upstream.down_reason)})"
    rows = "".join(
        "<tr>"
        f"<td>{_when(record.last_seen)}</td>"
        f"<td>{html.escape(record.entry.project)}</td>"
        f"<td>{html.escape(record.entry.version)}</td>"
        f"<td>{html.escape(record.entry.filename or 'every file')}</td>"
        f"<td>{html.escape(', '.join(record.entry.reasons))}</td>"
        f"<td>{html.escape(record.entry.detail)}</td>"
        f"<td>{record.refused}</td>"
        "</tr>\n"
        for record in state.verdicts.blocks()
    )
    facts = [
        ("upstream", f"{html.escape(settings.upstream_shown)} ({upstream_state})"),
        ("policy", html.escape(settings.policy.source or "built-in defaults")),
        ("cooldown", html.escape(str(settings.policy.min_release_age))),
        ("block verdict", html.escape(settings.policy.block_verdict.value)),
        ("verdict database", html.escape(str(settings.db_path))),
        ("running since", _when(state.started_at)),
        (
            "projects cached",
            str(upstream.pages.count() if upstream.pages else len(upstream.known_projects())),
        ),
        ("scan verdicts stored", str(counts.verdicts)),
        ("scans run since start", str(state.scanner.scans)),
        ("pages served", str(stats.pages)),
        ("files served", str(stats.files_served)),
        ("downloads refused", str(stats.refused)),
        ("upstream failures", str(stats.upstream_failures)),
    ]
    facts_html = "".join(f"<tr><th>{name}</th><td>{value}</td></tr>\n" for name, value in facts)
    table = (
        "<table class=blocks>\n<tr><th>last seen</th><th>project</th><th>version</th><th>file</th>"
        f"<th>reasons</th><th>why</th><th>downloads refused</th></tr>\n{rows}</table>\n"
        if rows
        else "<p>Nothing blocked yet.</p>\n"
    )
    body = (
        "<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>depvet proxy</title>\n"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}</style>\n"
        f"</head><body>\n<h1>depvet proxy {html.escape(__version__)}</h1>\n"
        '<p>Point pip at <a href="simple/">simple/</a> of this address.</p>\n'
        f"<table>\n{facts_html}</table>\n<h2>Blocked</h2>\n{table}</body></html>\n"
    )
    return Response(body, media_type="text/html")


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


# -- running -------------------------------------------------------------------------------------------


class ListenError(DepvetError):
    """The address to listen on cannot be had."""


def listen(host: str, port: int) -> socket.socket:
    """A bound socket for ``host:port`` (0: any free port), so a taken port is a clean error.

    Made with ``IPPROTO_TCP`` explicitly: asyncio sets ``TCP_NODELAY`` only on sockets that say so,
    and without it every response waited 40 ms for a delayed ACK (``socket.create_server`` leaves
    the protocol 0).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock = socket.socket(family, kind, proto)
    try:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def server_config(app: Starlette, *, access_log: bool) -> uvicorn.Config:
    """Logging is the caller's (``log_config=None``); no websockets. httptools and uvloop are used
    when installed (``uvicorn[standard]``), else the pure-Python h11 and asyncio."""
    return uvicorn.Config(
        app,
        log_config=None,
        access_log=access_log,
        lifespan="on",
        ws="none",
        http="auto",
        loop="auto",
        timeout_graceful_shutdown=10,
        server_header=False,
    )


@dataclass(frozen=True, slots=True)
class RunningServer:
    url: str  # http://127.0.0.1:PORT (no trailing slash)
    app: Starlette
    server: uvicorn.Server

    @property
    def index_url(self) -> str:
        return f"{self.url}/simple/"

    @property
    def state(self) -> ProxyState:
        state: ProxyState = self.app.state.proxy
        return state


@contextmanager
def serve_in_thread(app: Starlette, host: str = "127.0.0.1", port: int = 0) -> Iterator[RunningServer]:
    """Run ``app`` in a background thread until the block ends (signals stay with the main thread)."""
    sock = listen(host, port)
    server = uvicorn.Server(server_config(app, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="depvet-proxy", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the proxy did not start (see the log)")
            time.sleep(0.01)
        bound_port = sock.getsockname()[1]
        yield RunningServer(f"http://{host}:{bound_port}", app, server)
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
