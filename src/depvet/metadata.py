"""The Name and Version of core metadata (METADATA, PKG-INFO), read from its header block only."""

from __future__ import annotations


def name_and_version(text: str) -> tuple[str | None, str | None]:
    """The ``Name`` and ``Version`` headers before the first blank line; None where absent."""
    name: str | None = None
    version: str | None = None
    for line in text.splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key == "Name":
            name = value.strip()
        elif key == "Version":
            version = value.strip()
    return name, version
