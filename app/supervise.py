"""One recovery rule for the app's long-lived tasks (ARCHITECTURE.md, "Long-lived links").

A task that keeps part of the show alive (the relay's event pump, the program stream, the
phones poll, the invite keeper) runs under `supervise`: when it raises anything but a
cancel, the failure is logged, counted and reported, and the task starts again after a
capped, jittered backoff (the senders' own `media.send.backoff`, so every link in the app
waits the same way). Only a `Permanent` failure ends it: one that retrying cannot cure,
reported with what the director must do.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from media.send.backoff import Backoff, BackoffPolicy

log = logging.getLogger(__name__)

# The same schedule as the relay client and the SRT senders: a restarted backend is found
# within about two seconds of coming back.
TASK_BACKOFF = BackoffPolicy(first_s=0.25, max_s=2.0)
# A run that lasted this long proved itself: the next failure starts the backoff over.
PROVEN_S = 10.0


class Permanent(Exception):
    """Retrying cannot help (the login ended, the session is gone); the message says what
    the director must do."""


@dataclass(frozen=True, slots=True)
class Failure:
    task: str
    error: BaseException
    retry_in: float | None  # None: it ended for good (Permanent)
    restarts: int  # restarts of this task so far


async def supervise(
    name: str,
    run: Callable[[], Awaitable[None]],
    report: Callable[[Failure], None],
    *,
    policy: BackoffPolicy = TASK_BACKOFF,
    nudge: Nudge | None = None,
) -> None:
    """Run `run()` until it returns; restart it after each failure. Cancelling ends it.
    A `nudge` ends a backoff wait at once."""
    backoff = Backoff(policy)
    restarts = 0
    while True:
        started = time.monotonic()
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Permanent as exc:
            log.warning("%s stopped: %s", name, exc)
            report(Failure(name, exc, None, restarts))
            return
        except Exception as exc:  # any failure at all is retried: that is the rule
            if time.monotonic() - started >= PROVEN_S:
                backoff.reset()
            delay = backoff.next()
            restarts += 1
            log.warning("%s failed (%r); restart %d in %.2f s", name, exc, restarts, delay)
            report(Failure(name, exc, delay, restarts))
        await (nudge or Nudge()).wait(delay)


class Nudge:
    """Ends every backoff wait in progress at once: the machine woke from sleep, so each
    link should try now instead of sleeping out a timer that started before the suspend."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        # Waiters hold the old event; later waits get a fresh one, so one fire wakes
        # everyone waiting now and nobody after.
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seconds: float) -> bool:
        """Wait up to `seconds`; True if nudged."""
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        return True
