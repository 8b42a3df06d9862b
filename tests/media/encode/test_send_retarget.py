"""New credentials for a refused sender: tried at once, never a fast loop, never a cut."""

from __future__ import annotations

import threading
import time

from media.send.link import LinkPhase
from media.send.sender import LayerSender
from media.srt import (
    RejectReason,
    SrtConnection,
    SrtListener,
    SrtOptions,
    SrtRejected,
    listen,
)
from tests.media.encode.show import Show, streamid, target, vet
from tests.media.encode.support import HoldAtRefusal
from tests.media.srt.support import Closer, wait_for

LATENCY = SrtOptions(latency_ms=20)


def test_a_refused_layer_retries_at_once_with_new_credentials(show: Show, closing: Closer) -> None:
    listener: SrtListener = closing(listen("127.0.0.1", 0, LATENCY, accept_filter=vet))
    port = listener.address[1]
    stale = target(port, "hi", streamid=streamid("hi", token="expired-token-000"))
    output = show.send({"hi": stale})

    def refused() -> bool:
        layer = output.stats().layer("hi")
        return layer.phase is LinkPhase.REJECTED and layer.reject_code == RejectReason.FORBIDDEN

    wait_for(refused, 8, "the stale token refused")
    # The same credentials again change nothing: the slow schedule for refusals stays.
    output.retarget({"hi": stale})
    time.sleep(0.5)
    assert output.stats().layer("hi").rejects == 1
    assert (output.stats().layer("hi").retry_in_s or 0) > 3.0

    asked = time.monotonic()
    output.retarget({"hi": target(port, "hi"), "lo": target(port, "lo")})  # lo: not sent
    conn = closing(listener.accept(timeout=3))
    assert time.monotonic() - asked < 2.0, "well before the 5 s refusal backoff"
    assert conn.recv(timeout=3), "the layer sends on the new connection"

    # Retargeting a connected layer leaves its connection alone.
    output.retarget({"hi": stale})
    time.sleep(0.5)
    layer = output.stats().layer("hi")
    assert (layer.phase, layer.connects, layer.rejects) == (LinkPhase.CONNECTED, 1, 1)


class FakeListener:
    """A sender's `connect_fn`: records each attempt's streamid and refuses it (1403), holding
    attempts with a streamid in `held` until `release` is set."""

    def __init__(self, held: str = "") -> None:
        self.held = held
        self.attempts: list[tuple[float, str]] = []
        self.in_flight = threading.Event()
        self.release = threading.Event()

    def __call__(self, host: str, port: int, options: SrtOptions) -> SrtConnection:
        sid = options.streamid or ""
        self.attempts.append((time.monotonic(), sid))
        if self.held and sid == self.held:
            self.in_flight.set()
            self.release.wait(10)
        raise SrtRejected(RejectReason.FORBIDDEN)


def test_a_refusal_is_in_the_stats_with_its_reason_as_soon_as_it_is_counted() -> None:
    """Whoever watches for a kind of refusal reads it by reason, not off the state: a look
    can land after the refusal is counted and before the layer shows "rejected"."""
    sender = LayerSender(
        "lo", target(9, "lo"), request_keyframe=lambda: None, connect_fn=FakeListener()
    )
    with HoldAtRefusal() as hold:
        try:
            sender.start()
            assert hold.reached.wait(5)
            stats = sender.stats()
            assert stats.state.phase is LinkPhase.CONNECTING  # the window
            assert (stats.rejects, dict(stats.refusals)) == (1, {RejectReason.FORBIDDEN: 1})
            hold.resume.set()
            wait_for(lambda: sender.state.phase is LinkPhase.REJECTED, 5, "the refusal shown")
            assert dict(sender.stats().refusals) == {RejectReason.FORBIDDEN: 1}
        finally:
            sender.stop()


def test_a_connect_in_flight_with_the_old_token_retries_at_once_with_the_new_one() -> None:
    """New credentials that arrive while an attempt with the old ones is still out: its
    refusal is not waited out on the 5 s schedule, the new ones are tried at once."""
    old = target(9, "lo", streamid=streamid("lo", token="expired-token-000"))
    new = target(9, "lo")
    listener = FakeListener(held=old.streamid)
    sender = LayerSender("lo", old, request_keyframe=lambda: None, connect_fn=listener)
    try:
        sender.start()
        assert listener.in_flight.wait(5)
        sender.retarget(new)
        released = time.monotonic()
        listener.release.set()
        wait_for(lambda: len(listener.attempts) >= 2, 3, "an attempt with the new token")
        at, sid = listener.attempts[1]
        assert sid == new.streamid
        assert at - released < 1.0, "well before the 5 s refusal backoff"
    finally:
        sender.stop()
