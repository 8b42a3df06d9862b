"""Sliding-window rate limits for the endpoints people can brute-force: per client address,
and for logins per account too (`LoginGuard`)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from cloud.config import RateLimit
from cloud.errors import TooManyRequests

# Bounds memory under a flood of distinct addresses; the oldest windows go first.
MAX_TRACKED_CLIENTS = 100_000


class RateLimiter:
    def __init__(
        self,
        name: str,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        what: str | None = None,
    ) -> None:
        self._what = what or f"{name} attempts"  # "too many <what>"
        self._limit = limit
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}

    def check(self, client: str) -> None:
        """Record one attempt by `client`, or raise TooManyRequests if it is over the limit."""
        self.refuse_if_full(client)
        self.record(client)

    def refuse_if_full(self, key: str) -> None:
        """Raise TooManyRequests if `key` has used its window up; record nothing."""
        window, now = self._window(key)
        if len(window) >= self._limit.count:
            retry = max(window[0] + self._limit.seconds - now, 0)
            raise TooManyRequests(
                f"too many {self._what}; try again in {retry:.0f} s",
                {"retry_after_s": round(retry, 1)},
            )

    def used(self, key: str) -> int:
        """How many attempts `key` has in the window now."""
        return len(self._window(key)[0])

    def full(self, key: str) -> bool:
        return self.used(key) >= self._limit.count

    def record(self, key: str) -> None:
        window, now = self._window(key)
        window.append(now)

    def _window(self, key: str) -> tuple[deque[float], float]:
        now = self._clock()
        window = self._hits.pop(key, None) or deque()
        while window and window[0] <= now - self._limit.seconds:
            window.popleft()
        # Re-inserting keeps dict order = least recently seen first, for eviction.
        self._hits[key] = window
        while len(self._hits) > MAX_TRACKED_CLIENTS:
            del self._hits[next(iter(self._hits))]
        return window, now


class LoginGuard:
    """Failed logins per account, so that guessing one account's password is slow from
    anywhere, while its owner is not locked out by someone else's failures (docs/security.md,
    "Login limits"):

    - `pair`: failures for one account from one address. Past it, that address may not try
      that account (the right password included) until the window frees a slot; the
      account's other addresses are untouched.
    - `account`: failures for one account from every address. Past it the account is under
      attack: an address that has failed on it may not try it again, but one that has not
      (its owner's, at home or on the venue's NAT where nobody failed) still may.
    Successful logins count nothing; the per-address limit (`--login-rate`) still applies.
    """

    def __init__(
        self, pair: RateLimit, account: RateLimit, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pair = RateLimiter(
            "login", pair, clock, "failed logins for this account from this address"
        )
        self._account = RateLimiter("login", account, clock, "failed logins for this account")

    def check(self, account: str, address: str) -> None:
        pair = _pair_key(account, address)
        self._pair.refuse_if_full(pair)
        if self._pair.used(pair) and self._account.full(account):
            self._account.refuse_if_full(account)

    def failed(self, account: str, address: str) -> None:
        self._pair.record(_pair_key(account, address))
        self._account.record(account)


def _pair_key(account: str, address: str) -> str:
    return f"{account}\0{address}"
