"""Hand-offs from one producer to many consumers: a bounded queue each, drop the oldest.

A slow consumer loses its own oldest items (and the count says how many); it
never blocks the producer or the other consumers.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, name: str, maxsize: int = 2) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.name = name
        self.maxsize = maxsize
        self._items: deque[T] = deque()
        self._ready = threading.Condition()
        self._closed = False
        self.put_count = 0
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._ready:
            if self._closed:
                return
            if len(self._items) >= self.maxsize:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self._ready.notify()

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, or None after `timeout` or once closed and empty."""
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait_for(lambda: bool(self._items) or self._closed, timeout)
            return self._items.popleft() if self._items else None

    def get_nowait(self) -> T | None:
        with self._ready:
            return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class Fanout(Generic[T]):
    """The producer's side: publish to every subscriber's own queue."""

    def __init__(self) -> None:
        # Replaced, never mutated, so publish() iterates without a lock.
        self._queues: tuple[DropOldestQueue[T], ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, name: str, maxsize: int = 2) -> DropOldestQueue[T]:
        queue: DropOldestQueue[T] = DropOldestQueue(name, maxsize)
        with self._lock:
            self._queues = (*self._queues, queue)
        return queue

    def unsubscribe(self, queue: DropOldestQueue[T]) -> None:
        with self._lock:
            self._queues = tuple(q for q in self._queues if q is not queue)
        queue.close()

    def publish(self, item: T) -> None:
        for queue in self._queues:
            queue.put(item)

    def drops(self) -> dict[str, int]:
        return {q.name: q.dropped for q in self._queues}

    def close(self) -> None:
        """Close every queue; they stay listed so their drop counts remain readable."""
        for queue in self._queues:
            queue.close()
