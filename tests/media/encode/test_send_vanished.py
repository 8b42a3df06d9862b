"""A listener that vanishes without a word (its process killed): the sender notices from the
missing ACKs well before libsrt's own ~5 s, and reconnects when a listener is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from media.send.link import LinkPhase
from media.send.silence import AckSilence
from media.send.target import LAN
from media.srt import SrtOptions, listen
from tests.media.encode.show import Show, target, vet
from tests.media.srt.support import Closer, wait_for
from tests.support.procs import free_udp_port

ROOT = Path(__file__).resolve().parents[3]
LISTENER = textwrap.dedent(
    """
    import sys
    from media.srt import SrtOptions, listen
    from tests.media.encode.show import vet
    listener = listen("127.0.0.1", int(sys.argv[1]), SrtOptions(latency_ms=20), accept_filter=vet)
    conn = listener.accept(timeout=30)
    print("accepted", flush=True)
    while conn.recv(timeout=30):
        pass
    """
)


def test_silence_counts_only_while_sending() -> None:
    acks = AckSilence(1.5)
    acks.update(0.0, sent_total=10, acks_total=3)
    acks.update(1.0, sent_total=10, acks_total=3)
    assert acks.silent_for(5.0) == 0.0  # nothing sent since the last ACK: nothing to hear
    acks.update(5.0, sent_total=11, acks_total=3)
    assert acks.silent_for(5.0) == 5.0 and acks.dead(5.0)
    acks.update(5.1, sent_total=12, acks_total=4)  # an ACK: all fine again
    assert acks.silent_for(6.0) == 0.0 and not acks.dead(6.0)
    acks.update(6.0, sent_total=13, acks_total=4)
    assert acks.silent_for(6.5) == pytest.approx(1.4) and not acks.dead(6.5)
    assert acks.dead(6.7)
    with pytest.raises(ValueError):
        AckSilence(0)


@pytest.fixture
def doomed_listener() -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = free_udp_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", LISTENER, str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    yield port, proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_a_killed_listener_is_noticed_and_a_new_one_gets_the_stream(
    show: Show, doomed_listener: tuple[int, subprocess.Popen[str]], closing: Closer
) -> None:
    port, proc = doomed_listener
    output = show.send({"hi": target(port, "hi")})
    assert proc.stdout is not None and proc.stdout.readline().strip() == "accepted"
    wait_for(lambda: output.stats().layer("hi").fps > 0, 10, "frames going out")

    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    state = wait_for(
        lambda: (
            output.senders["hi"].state.phase is not LinkPhase.CONNECTED
            and output.senders["hi"].state
        ),
        8,
        "the sender to notice",
    )
    noticed_s = time.monotonic() - killed_at
    assert "no answer from the listener" in state.detail, state
    # The limit plus a check interval, with room for a loaded machine; libsrt alone: ~5 s.
    assert noticed_s < LAN.ack_silence_ms / 1000 + 2.0, noticed_s

    again = closing(listen("127.0.0.1", port, SrtOptions(latency_ms=20), accept_filter=vet))
    closing(again.accept(timeout=8))
    wait_for(lambda: output.stats().layer("hi").connects == 2, 8, "the second connection")
