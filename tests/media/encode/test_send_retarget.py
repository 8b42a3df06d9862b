"""New credentials for a refused sender: tried at once, never a fast loop, never a cut."""

from __future__ import annotations

import time

from media.send.link import LinkPhase
from media.srt import RejectReason, SrtListener, SrtOptions, listen
from tests.media.encode.show import Show, streamid, target, vet
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
