"""aioice logs each candidate pair's every state change at info: an offer with 220
candidates wrote 443 lines. Its loggers keep a budget of lines; past it, lines are
counted and the next one let through says how many were left out."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

LOGGERS = ("aioice.ice", "aioice.turn", "aioice.stun")
BURST = 40
PER_SECOND = 2.0


class LineBudget(logging.Filter):
    def __init__(
        self,
        burst: int = BURST,
        rate: float = PER_SECOND,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst, self._rate, self._clock = burst, rate, clock
        self._tokens = float(burst)
        self._at = clock()
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True  # problems are never held back
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            self.suppressed += 1
            return False
        self._tokens -= 1
        if self.suppressed:
            record.msg = f"{record.getMessage()} ({self.suppressed} aioice lines left out before)"
            record.args = ()
            self.suppressed = 0
        return True


def install() -> None:
    """Give aioice's loggers one shared budget (once per process)."""
    loggers = [logging.getLogger(name) for name in LOGGERS]
    if any(isinstance(f, LineBudget) for f in loggers[0].filters):
        return
    budget = LineBudget()
    for logger in loggers:
        logger.addFilter(budget)
