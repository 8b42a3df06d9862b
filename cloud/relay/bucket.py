"""A token bucket: a burst of messages at once, then a steady rate."""

from __future__ import annotations


class TokenBucket:
    def __init__(self, burst: int, per_second: float, now: float) -> None:
        self._burst = float(burst)
        self._rate = per_second
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> bool:
        """Spend one token if there is one; False means the message is over the limit."""
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
