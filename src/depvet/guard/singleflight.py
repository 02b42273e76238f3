"""One piece of work per key at a time, its result shared by everyone who asked meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """``await flights.run(key, work)``: the first caller starts ``work()``, later callers with the
    same key wait for that same result (or exception) until it is done.

    The work runs as its own task and each caller waits through ``asyncio.shield``: a client that
    disconnects cancels its own wait, never the download or scan that other clients (or the next
    request) need.
    """

    def __init__(self) -> None:
        self._running: dict[K, asyncio.Task[V]] = {}

    def run(self, key: K, work: Callable[[], Coroutine[Any, Any, V]]) -> asyncio.Future[V]:
        return asyncio.shield(self.task(key, work))

    def task(self, key: K, work: Callable[[], Coroutine[Any, Any, V]]) -> asyncio.Task[V]:
        """The running task for ``key``, started now if there is none."""
        task = self._running.get(key)
        if task is None:
            task = asyncio.create_task(work())
            self._running[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _forget(self, key: K, task: asyncio.Task[V]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled():
            task.exception()  # retrieved: nobody may be waiting any more, and asyncio would warn

    def __len__(self) -> int:
        return len(self._running)

    async def cancel_all(self) -> None:
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
