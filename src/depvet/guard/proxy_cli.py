"""``depvet proxy``: run the index firewall in front of an upstream index until stopped.

Importable without the ``[proxy]`` extra (``cli.py`` adds the subcommand from here); the web
modules are imported only by ``run``, after checking they can be.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from depvet.errors import DepvetError, UsageError
from depvet.guard.proxy_settings import DEFAULT_PORT, ProxySettings, default_db_path

EXIT_OK = 0
EXIT_ERROR = 2
EXTRA_MODULES = ("starlette", "uvicorn", "httpx")

log = logging.getLogger("depvet.proxy")


def add_parser(subparsers: argparse._SubParsersAction[Any]) -> None:
    """``depvet proxy``; ``subparsers`` is cli.py's (whose parser class turns errors into exit 2)."""
    proxy = subparsers.add_parser(
        "proxy",
        help="run a package index that keeps bad releases away from pip and uv",
        description=(
            "Serve a PEP 503/691 simple index on HOST:PORT in front of an upstream index. Releases "
            "younger than the cooldown, known-bad or denied releases and files whose scan reaches the "
            "policy's threshold are listed as yanked with the reason and their downloads refused (403). "
            "Point pip at http://HOST:PORT/simple/ (--index-url); status page at http://HOST:PORT/. "
            "Needs the proxy extra: pip install 'depvet[proxy]'."
        ),
    )
    proxy.add_argument(
        "--upstream",
        metavar="URL",
        required=True,
        help="the simple index to protect, e.g. https://pypi.org/simple/",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    proxy.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0: any free)"
    )
    proxy.add_argument(
        "--policy",
        metavar="FILE",
        type=Path,
        help="depvet.toml or pyproject.toml with [tool.depvet] (default: found from the working directory)",
    )
    proxy.add_argument(
        "--db",
        metavar="PATH",
        type=Path,
        help=f"SQLite file of verdicts, blocks and pages (default: {default_db_path()})",
    )
    proxy.add_argument(
        "--cache-dir",
        metavar="DIR",
        type=Path,
        help="where downloaded files are kept (default: depvet's cache)",
    )
    proxy.add_argument("-j", "--jobs", type=int, default=0, help="scanning processes (default: CPU count)")
    proxy.add_argument(
        "--page-ttl",
        metavar="SECONDS",
        type=float,
        default=60.0,
        help="reuse an upstream page this long before asking again (default: 60)",
    )
    proxy.add_argument(
        "--prescan-timeout",
        metavar="SECONDS",
        type=float,
        default=10.0,
        help="how long a page request waits for the scans of the newest release (default: 10)",
    )
    proxy.add_argument("-q", "--quiet", action="store_true", help="log only warnings (blocks, upstream down)")


def run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT (exit 0); bad input is one line on stderr and exit 2."""
    with _logging(quiet=args.quiet):
        try:
            missing = [name for name in EXTRA_MODULES if importlib.util.find_spec(name) is None]
            if missing:
                raise UsageError(
                    f"depvet proxy needs {', '.join(missing)}: install them with pip install 'depvet[proxy]'"
                )
            settings = settings_from_args(args)
            _preflight(settings)
            from depvet.guard.proxy_app import listen

            sock = listen(settings.host, settings.port)
            _note_advisories(settings)
        except DepvetError as exc:
            print(f"depvet: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        with contextlib.closing(sock):
            return _serve(settings, sock, quiet=args.quiet)


def settings_from_args(args: argparse.Namespace) -> ProxySettings:
    from depvet.advisories.store import default_db_path as advisory_db_path
    from depvet.policy import load_policy
    from depvet.scanning import default_jobs
    from depvet.userdirs import user_cache_dir

    if args.jobs < 0:
        raise UsageError("--jobs must be 0 (automatic) or more")
    return ProxySettings(
        upstream=args.upstream,
        policy=load_policy(args.policy),
        db_path=args.db or default_db_path(),
        cache_dir=args.cache_dir or user_cache_dir(),
        advisory_db=advisory_db_path(),
        host=args.host,
        port=args.port,
        jobs=args.jobs or default_jobs(),
        page_ttl=args.page_ttl,
        prescan_timeout=args.prescan_timeout,
    )


def _preflight(settings: ProxySettings) -> None:
    """Open what startup opens, so a bad path is a one-line error now rather than a traceback later."""
    from depvet.artifacts.cache import ArtifactCache
    from depvet.guard.upstream import PageStore
    from depvet.guard.verdicts import VerdictStore

    VerdictStore(settings.db_path).close()
    PageStore(settings.db_path).close()
    try:
        ArtifactCache(settings.cache_dir).staging_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot use --cache-dir {settings.cache_dir}: {exc.strerror or exc}") from None


def _note_advisories(settings: ProxySettings) -> None:
    from depvet.advisories.store import AdvisoryStore

    if settings.advisory_db is None:
        return
    with AdvisoryStore(settings.advisory_db, readonly=True) as store:
        if not store.exists:
            log.warning(
                "no advisory database yet: only the curated tainted releases are matched "
                "(run 'depvet db update' for the OSV records)"
            )


def _serve(settings: ProxySettings, sock: socket.socket, *, quiet: bool) -> int:
    import uvicorn

    from depvet.guard.proxy_app import create_app, server_config

    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    log.info("listening on http://%s:%d/simple/ (status page: http://%s:%d/)", shown, port, shown, port)
    server = uvicorn.Server(server_config(create_app(settings), access_log=not quiet))
    # uvicorn raises SystemExit when startup fails, after logging why.
    with _signals_end_quietly(), contextlib.suppress(SystemExit):
        server.run(sockets=[sock])
    if not server.started:
        print("depvet: error: the proxy could not start (see the log above)", file=sys.stderr)
        return EXIT_ERROR
    log.info("stopped")
    return EXIT_OK


@contextlib.contextmanager
def _signals_end_quietly() -> Iterator[None]:
    """uvicorn shuts down on SIGTERM/SIGINT, then raises the signal again for the previous handler;
    with Python's defaults that would kill the process (SIGTERM) or raise KeyboardInterrupt after a
    clean shutdown. A handler that does nothing makes that an ordinary exit 0."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ignore(signum: int, frame: FrameType | None) -> None:
        pass

    previous = {sig: signal.signal(sig, ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def _logging(*, quiet: bool) -> Iterator[None]:
    """Log lines to stderr: depvet's and uvicorn's, with times."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S")
    )
    root = logging.getLogger()
    # httpx logs every request to the upstream at INFO; uvicorn's access log already tells the story.
    client = logging.getLogger("httpx")
    previous = root.level, client.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING if quiet else logging.INFO)
    client.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous[0])
        client.setLevel(previous[1])
