"""Bounds on what reading one artifact may cost; crossing one is an error, never a hang."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    # A member larger than this is not read (its first bytes are, to tell what it is): real
    # wheels carry native libraries of hundreds of MB that need no text analysis.
    max_member_bytes: int = 64 * MIB
    # Everything decompressed from one artifact, nested archives included.
    max_total_bytes: int = 1024 * MIB
    # Uncompressed/compressed, checked once a member or stream passes ``ratio_floor_bytes``:
    # source compresses 3-15x and zeros 1000x, so the ratio alone says nothing; a high ratio
    # *and* a large output is a bomb (scipy ships a 53 KB .npz that expands to 9 MB of zeros).
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 64 * MIB
    max_members: int = 100_000
    # The artifact itself is depth 0; an archive inside it is depth 1.
    max_depth: int = 4
    # Bytes kept of a member too large to read, enough to recognise its format.
    head_bytes: int = 4096


DEFAULT_LIMITS = Limits()
