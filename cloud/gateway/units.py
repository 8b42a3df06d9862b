"""The one unit type that travels from the demuxer to the viewers, and a bounded ring."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")

LAYERS = ("hi", "lo")


@dataclass(frozen=True, slots=True)
class Unit:
    """One H.264 access unit or one Opus packet, as the publisher sent it (no re-encoding).

    `pts` is on the publisher's 90 kHz timeline, which both layers share.
    """

    kind: Literal["video", "audio"]
    layer: str
    pts: int
    data: bytes = field(repr=False)
    idr: bool = False


class Ring(Generic[T]):
    """A bounded FIFO read by one consumer on the event loop. `put` never blocks: when full,
    the caller decides what to drop (`full`), and `dropped` counts what was lost."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("a ring holds at least one item")
        self.size = size
        self.dropped = 0
        self._items: deque[T] = deque()
        self._ready = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    @property
    def full(self) -> bool:
        return len(self._items) >= self.size

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, item: T) -> None:
        """Append; the oldest item goes (and is counted) when the ring is full."""
        if self._closed:
            return
        if self.full:
            self._items.popleft()
            self.dropped += 1
        self._items.append(item)
        self._ready.set()

    def clear(self) -> int:
        """Drop everything queued; returns (and counts) how many."""
        n = len(self._items)
        self._items.clear()
        self.dropped += n
        return n

    async def get(self) -> T | None:
        """The next item; None once the ring is closed and empty."""
        while not self._items:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self._closed = True
        self._ready.set()
