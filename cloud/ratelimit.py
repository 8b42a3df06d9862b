"""Per-client sliding-window rate limits for the endpoints people can brute-force."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cloud.config import RateLimit
from cloud.errors import TooManyRequests

# Bounds memory under a flood of distinct addresses; the oldest windows go first.
MAX_TRACKED_CLIENTS = 100_000


class RateLimiter:
    def __init__(self, name: str, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self._name = name
        self._limit = limit
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        """Record one attempt by `client`, or raise TooManyRequests if it is over the limit."""
        now = self._clock()
        window = self._hits.pop(client, None) or deque()
        while window and window[0] <= now - self._limit.seconds:
            window.popleft()
        # Re-inserting keeps dict order = least recently seen first, for eviction.
        self._hits[client] = window
        if len(window) >= self._limit.count:
            retry = window[0] + self._limit.seconds - now
            raise TooManyRequests(
                f"too many {self._name} attempts; try again in {max(retry, 0):.0f} s",
                {"retry_after_s": round(max(retry, 0), 1)},
            )
        window.append(now)
        while len(self._hits) > MAX_TRACKED_CLIENTS:
            del self._hits[next(iter(self._hits))]
