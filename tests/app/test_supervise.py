"""The recovery rule's parts on their own: supervise, Nudge, WakeWatch and the health board.

No network here: these are the pieces every link in the app is built from, driven with
injected failures and clocks. The links themselves are tested against the real backend in
test_long_show.py.
"""

from __future__ import annotations

import asyncio

import pytest

from app.session_link import events as ev
from app.session_link.health import HealthBoard
from app.supervise import Failure, Nudge, Permanent, supervise
from app.wake import WakeWatch
from media.send.backoff import BackoffPolicy

QUICK = BackoffPolicy(first_s=0.01, max_s=0.02)


def test_any_exception_is_retried_until_the_task_succeeds() -> None:
    failures: list[Failure] = []
    runs = 0

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("a bug in a token source")
        if runs == 2:
            raise KeyError("something odd")

    asyncio.run(supervise("flaky", flaky, failures.append, policy=QUICK))
    assert runs == 3
    assert [type(f.error) for f in failures] == [RuntimeError, KeyError]
    assert all(f.retry_in is not None and f.retry_in > 0 for f in failures)
    assert [f.restarts for f in failures] == [1, 2]


def test_only_a_permanent_failure_ends_it_and_it_is_reported() -> None:
    failures: list[Failure] = []
    runs = 0

    async def refused() -> None:
        nonlocal runs
        runs += 1
        raise Permanent("the login ended; log in again")

    asyncio.run(supervise("relay", refused, failures.append, policy=QUICK))
    assert runs == 1
    assert len(failures) == 1 and failures[0].retry_in is None
    assert "log in again" in str(failures[0].error)


def test_cancel_ends_a_supervised_task_without_a_report() -> None:
    failures: list[Failure] = []

    async def main() -> None:
        task = asyncio.create_task(supervise("forever", asyncio.Event().wait, failures.append))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert failures == []


def test_a_nudge_ends_a_long_backoff_at_once() -> None:
    slow = BackoffPolicy(first_s=60.0, max_s=60.0)
    runs = 0

    async def main() -> None:
        nudge = Nudge()
        started = asyncio.Event()

        async def once_broken() -> None:
            nonlocal runs
            runs += 1
            if runs == 1:
                started.set()
                raise OSError("network is down")

        task = asyncio.create_task(
            supervise("link", once_broken, lambda f: None, policy=slow, nudge=nudge)
        )
        await started.wait()
        await asyncio.sleep(0.05)  # now inside its 60 s wait
        nudge.fire()
        await asyncio.wait_for(task, 5)  # far less than the backoff

    asyncio.run(main())
    assert runs == 2


def test_one_fire_wakes_every_waiter_and_none_later() -> None:
    async def main() -> tuple[list[bool], bool]:
        nudge = Nudge()
        waiters = [asyncio.create_task(nudge.wait(30)) for _ in range(3)]
        await asyncio.sleep(0)
        nudge.fire()
        woke = list(await asyncio.gather(*waiters))
        later = await nudge.wait(0.05)
        return woke, later

    woke, later = asyncio.run(main())
    assert woke == [True, True, True]
    assert later is False


class FakeClocks:
    """A laptop's two clocks: Linux stops monotonic time while suspended."""

    def __init__(self) -> None:
        self.wall = 1_000_000.0
        self.mono = 50.0
        self.suspend_after: int | None = None
        self.ticks = 0
        self.stop_after = 0
        self.done: asyncio.Event | None = None

    async def sleep(self, seconds: float) -> None:
        self.ticks += 1
        self.wall += seconds
        self.mono += seconds
        if self.ticks == self.suspend_after:
            self.wall += 3600.0  # an hour with the lid closed; monotonic stood still
        if self.ticks >= self.stop_after and self.done is not None:
            self.done.set()
        await asyncio.sleep(0)


def _watch(clocks: FakeClocks, ticks: int) -> list[float]:
    gaps: list[float] = []
    watch = WakeWatch(gaps.append, wall=lambda: clocks.wall, mono=lambda: clocks.mono)
    watch._sleep = clocks.sleep

    async def main() -> None:
        clocks.stop_after = ticks
        clocks.done = asyncio.Event()
        task = asyncio.create_task(watch.run())
        await clocks.done.wait()
        task.cancel()

    asyncio.run(main())
    return gaps


def test_a_suspend_is_noticed_once_from_the_clocks() -> None:
    clocks = FakeClocks()
    clocks.suspend_after = 5
    gaps = _watch(clocks, 20)
    assert len(gaps) == 1 and 3590 < gaps[0] < 3610


def test_ticking_on_time_is_never_a_wake() -> None:
    assert _watch(FakeClocks(), 50) == []


def test_the_board_keeps_since_through_new_words_and_publishes_the_whole_list() -> None:
    seen: list[ev.LinkEvent] = []
    now = [100.0]
    board = HealthBoard(seen.append, clock=lambda: now[0])
    board.down("relay", "reconnecting in 0.3 s (connection refused)")
    now[0] = 105.0
    board.down("relay", "reconnecting in 2.0 s (connection refused)")
    board.down("stream hi", "another sender is publishing this layer", "take_over")
    board.down("stream hi", "another sender is publishing this layer", "take_over")  # same
    last = seen[-1]
    assert isinstance(last, ev.HealthChanged)
    relay = next(d for d in last.degraded if d.link == "relay")
    assert relay.since == 100.0 and "2.0 s" in relay.detail
    assert len(seen) == 3
    board.up("relay", "stream hi")
    assert seen[-1] == ev.HealthChanged(())
    board.up("relay")
    assert len(seen) == 4  # nothing changed, nothing sent
