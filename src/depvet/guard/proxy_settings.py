"""How one index firewall is set up: what ``depvet proxy``'s options say, as one value.

Kept apart from the web modules so the command line can build and check it without starlette,
uvicorn or httpx installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from depvet.errors import UsageError
from depvet.userdirs import user_cache_dir

if TYPE_CHECKING:
    # The command line builds its parsers at each start; these load when the proxy runs.
    from depvet.policy import Policy

DEFAULT_PORT = 3141  # devpi's, so a team's muscle memory (and firewall rules) carry over
DB_NAME = "proxy.sqlite3"


def default_db_path() -> Path:
    return user_cache_dir() / DB_NAME


def _default_policy() -> Policy:
    from depvet.policy import Policy

    return Policy()


@dataclass(frozen=True, slots=True)
class ProxySettings:
    upstream: str  # the simple index URL, e.g. https://pypi.org/simple/
    policy: Policy = field(default_factory=_default_policy)
    db_path: Path = field(default_factory=default_db_path)
    cache_dir: Path = field(default_factory=user_cache_dir)  # ArtifactCache root, shared with `depvet scan`
    advisory_db: Path | None = None  # None: the curated tainted releases only
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    jobs: int = 2  # scanning processes
    page_ttl: float = 60.0  # seconds an upstream page is used before asking again
    # Seconds a page request may wait for the scans of the newest release: under pip's default
    # read timeout (15 s), since the page's first byte is sent only after them.
    prescan_timeout: float = 10.0
    prescan_releases: int = 3
    upstream_timeout: float = 15.0

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"--upstream must be an http(s) URL of a simple index, not {_redacted(self.upstream)!r}"
            )
        if self.jobs < 1:
            raise UsageError("--jobs must be 1 or more")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, not {self.port}")
        for name, value in (
            ("page TTL", self.page_ttl),
            ("prescan timeout", self.prescan_timeout),
            ("upstream timeout", self.upstream_timeout),
        ):
            if value < 0:
                raise UsageError(f"the {name} must not be negative")

    @property
    def upstream_shown(self) -> str:
        return _redacted(self.upstream)


def _redacted(url: str) -> str:
    from depvet.artifacts.simpleindex import redact_url

    return redact_url(url)
