"""Reconnect delays: exponential with jitter, and slower for refusals that won't fix
themselves (a wrong passphrase stays wrong until someone changes it)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    first_s: float = 0.25
    # A restarted listener is found within about this long (plus the connect timeout);
    # one attempt every 2 s is still no load on a dead server.
    max_s: float = 2.0
    factor: float = 2.0
    jitter: float = 0.2  # +-20 %: many senders that lost one gateway don't return in step
    rejected_first_s: float = 5.0
    rejected_max_s: float = 60.0

    def __post_init__(self) -> None:
        if (
            not 0 < self.first_s <= self.max_s
            or not 0 < self.rejected_first_s <= self.rejected_max_s
        ):
            raise ValueError("backoff delays must be > 0 and first <= max")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("factor must be >= 1 and jitter in [0, 1)")


class Backoff:
    """The next delay to wait; `reset` once a connection has proved itself."""

    def __init__(self, policy: BackoffPolicy | None = None, rng: random.Random | None = None):
        self.policy = policy or BackoffPolicy()
        self._rng = rng or random.Random()
        self._next = self.policy.first_s
        self._next_rejected = self.policy.rejected_first_s

    def next(self, *, rejected: bool = False) -> float:
        p = self.policy
        if rejected:
            base = self._next_rejected
            self._next_rejected = min(base * p.factor, p.rejected_max_s)
        else:
            base = self._next
            self._next = min(base * p.factor, p.max_s)
        return base * self._rng.uniform(1 - p.jitter, 1 + p.jitter)

    def reset(self) -> None:
        self._next = self.policy.first_s
        self._next_rejected = self.policy.rejected_first_s
