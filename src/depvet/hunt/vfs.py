"""A file as the hunt checks see it, whether it lies on this host or inside a container image."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

MAX_READ = 4 * 1024 * 1024  # the most of one file a check reads: IOC hashes need whole small files


@dataclass(frozen=True, slots=True)
class VirtualFile:
    """``path`` is absolute inside its tree (``/usr/lib/python3.11/site-packages/x.pth``);
    ``read`` returns at most ``MAX_READ`` bytes and raises ``OSError`` when it cannot."""

    path: str
    size: int
    modified: datetime | None
    read: Callable[[], bytes]
    shown: str  # how reports name it: the host path, or "image.tar!/path"
