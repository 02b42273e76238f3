"""When a bad release was installed or downloaded, against when it could be had from the index."""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from importlib import resources

from packaging.utils import canonicalize_name

from depvet.hunt.model import TimelineEvent
from depvet.timestamps import parse_timestamp


@dataclass(frozen=True, slots=True)
class ReleaseWindow:
    release: str  # name==version
    published: datetime
    removed: datetime | None


def release_windows() -> dict[str, ReleaseWindow]:
    """``name==version`` (normalised name) -> its window, from the curated tainted releases."""
    text = resources.files("depvet.advisories").joinpath("data/tainted.toml").read_text("utf-8")
    windows: dict[str, ReleaseWindow] = {}
    for entry in tomllib.loads(text).get("incident", []):
        published = parse_timestamp(str(entry.get("published", "")))
        if published is None:
            continue
        removed = parse_timestamp(str(entry["removed"])) if "removed" in entry else None
        for version in entry.get("versions", []):
            key = f"{canonicalize_name(entry['package'])}=={version}"
            windows[key] = ReleaseWindow(key, published, removed)
    return windows


def build_timeline(events: Iterable[TimelineEvent]) -> tuple[TimelineEvent, ...]:
    """The events, each placed against its release's window, plus the windows' own ends; oldest first."""
    windows = release_windows()
    placed: list[TimelineEvent] = []
    seen_windows: set[str] = set()
    for event in events:
        key = _key(event.release)
        window = windows.get(key) if key else None
        if key is None or window is None:
            placed.append(event)
            continue
        inside = event.when >= window.published and (window.removed is None or event.when <= window.removed)
        placed.append(replace(event, inside_window=inside))
        if key not in seen_windows:
            seen_windows.add(key)
            placed.append(
                TimelineEvent(window.published, "release published on the index", event.release, None)
            )
            if window.removed is not None:
                placed.append(
                    TimelineEvent(window.removed, "release removed from the index", event.release, None)
                )
    return tuple(sorted(placed, key=lambda e: e.when))


def _key(release: str | None) -> str | None:
    if not release or "==" not in release:
        return None
    name, version = release.split("==", 1)
    return f"{canonicalize_name(name)}=={version}"
