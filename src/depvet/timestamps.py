"""Times as locks, indexes and users write them (RFC 3339, PEP 700), read one way everywhere."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_timestamp(text: str) -> datetime | None:
    """An RFC 3339 time or a date, timezone-aware (naive means UTC); None when it is neither."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
