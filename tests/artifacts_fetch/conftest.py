"""The 127.0.0.1 index of ``tests/localindex.py`` as a fixture, with canned answers per path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.localindex import JSON_TYPE, IndexServer, Route, running

__all__ = ["JSON_TYPE", "IndexServer", "Route"]


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    root = tmp_path / "www"
    root.mkdir()
    with running(IndexServer(root)) as state:
        yield state
