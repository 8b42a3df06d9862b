"""What the ingest could not recover, counted: the gateway's SRT ingest (real libsrt, in this
process) behind the project's lossy relay, a libsrt caller (our binding) sending an H.264
MPEG-TS paced in real time (noise, ~200 packets a second: a hi layer's rate).

Over a 30 ms round trip, an SRT latency of 20 ms leaves no time for a retransmission: every
lost packet stays lost, and the ingest counts it (gateway_srt_packets_unrecovered_total and
continuity-counter gaps in the TS it demuxes). With a latency of several round trips the
same path loses packets and repairs every one: lost > 0, unrecovered and gaps 0.

What the ingest hands on from such a stream (cloud/gateway/repair.py): every video frame
whole, byte for byte as the encoder made it, and after a hole nothing until an IDR; each
hole asks for a keyframe at once.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
import pytest
from prometheus_client import CollectorRegistry

from cloud.gateway.ingest import Credentials, Ingest, IngestAuth
from cloud.gateway.linkhealth import ContinuityCheck, LinkDamage
from cloud.gateway.metrics import GatewayMetrics
from cloud.gateway.units import Unit
from media.srt import SrtOptions, StreamId, connect, format_streamid
from tests.support.lossy_relay import lossy_relay

SESSION, TOKEN, PASSPHRASE = "wan1", "publish-token-wan-000001", "passphrase-wan-0001"
ONE_WAY_MS = 15.0  # RTT 30 ms
SECONDS = 4.0


class Events:
    def __init__(self) -> None:
        self.units: list[Unit] = []  # ingest thread appends; read once the publisher left
        self.holes = 0

    def unit(self, session_id: str, unit: Unit) -> None:
        self.units.append(unit)

    def video_hole(self, session_id: str, layer: str) -> None:
        self.holes += 1

    def publisher_up(self, session_id: str, layer: str, peer: str) -> None:
        pass

    def publisher_down(self, session_id: str, layer: str) -> None:
        pass

    def credentials_missed(self, session_id: str) -> None:
        pass


@dataclass(frozen=True)
class Stream:
    ts: bytes
    frames: list[bytes]  # each encoded frame as the encoder gave it, in order
    fps: int


def noisy_ts(seconds: float, fps: int = 30) -> Stream:
    """H.264 of noise (so every frame is several packets), no audio, IDR every second."""
    out = io.BytesIO()
    frames: list[bytes] = []
    rng = np.random.default_rng(7)
    with av.open(out, "w", format="mpegts") as ts:
        video = ts.add_stream("libx264", rate=fps)
        video.width, video.height = 160, 96
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
        for i in range(round(seconds * fps)):
            picture = rng.integers(0, 256, (96, 160, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            for packet in video.encode(frame):
                frames.append(bytes(packet))
                ts.mux(packet)
        for packet in video.encode(None):
            frames.append(bytes(packet))
            ts.mux(packet)
    return Stream(out.getvalue(), frames, fps)


@pytest.fixture(scope="module")
def stream() -> Stream:
    return noisy_ts(SECONDS)


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def ingest(events: Events) -> Iterator[tuple[Ingest, CollectorRegistry]]:
    registry = CollectorRegistry()
    auth = IngestAuth()
    auth.put(SESSION, Credentials(PASSPHRASE, TOKEN, time.time() + 3600))
    ing = Ingest("127.0.0.1", 0, 20, auth, events, GatewayMetrics(registry))
    ing.start()
    yield ing, registry
    ing.close()


def publish(port: int, latency_ms: int, loss: float, data: bytes) -> None:
    """Send `data` through a relay (loss, RTT 30 ms) at its real-time pace, then hang up."""
    with lossy_relay(("127.0.0.1", port), seed=3) as relay:
        relay.impair(loss=loss, delay_ms=ONE_WAY_MS)
        options = SrtOptions(
            latency_ms=latency_ms,
            passphrase=PASSPHRASE,
            streamid=format_streamid(StreamId(SESSION, "hi", TOKEN)),
        )
        with connect(*relay.address, options) as conn:
            chunks = [data[i : i + 1316] for i in range(0, len(data), 1316)]
            start = time.monotonic()
            for n, chunk in enumerate(chunks):
                time.sleep(max(0.0, start + n * SECONDS / len(chunks) - time.monotonic()))
                conn.send(chunk)
            time.sleep(latency_ms / 1000 + 0.3)  # the tail plays out (and a last look)
            conn.drain(2.0)


def counted(registry: CollectorRegistry, name: str) -> float:
    return float(registry.get_sample_value(name, {"layer": "hi"}) or 0.0)


def settled(ingest: Ingest) -> LinkDamage:
    """The damage once the publisher has gone (its last look taken)."""
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and ingest.damage(SESSION, "hi").lost == 0:
        time.sleep(0.1)
    time.sleep(0.5)
    return ingest.damage(SESSION, "hi")


def test_too_little_latency_for_a_retransmission_is_counted(
    ingest: tuple[Ingest, CollectorRegistry], stream: bytes
) -> None:
    ing, registry = ingest
    publish(ing.address[1], 20, 0.05, stream.ts)
    damage = settled(ing)
    assert damage.lost > 0
    assert damage.unrecovered > 0, damage
    assert damage.ts_gaps > 0, damage  # the demuxer saw the holes
    assert counted(registry, "gateway_srt_packets_unrecovered_total") == damage.unrecovered
    assert registry.get_sample_value(
        "gateway_ts_continuity_errors_total", {"layer": "hi", "stream": "video"}
    )


def test_time_for_retransmissions_repairs_every_loss(
    ingest: tuple[Ingest, CollectorRegistry], stream: bytes
) -> None:
    ing, registry = ingest
    publish(ing.address[1], 300, 0.01, stream.ts)
    damage = settled(ing)
    assert damage.lost > 0, "the relay lost packets"
    assert (damage.unrecovered, damage.ts_gaps) == (0, 0), damage
    assert counted(registry, "gateway_srt_packets_lost_total") == damage.lost
    assert counted(registry, "gateway_srt_packets_unrecovered_total") == 0


def test_a_hole_is_held_to_the_next_idr_and_asks_for_one(
    ingest: tuple[Ingest, CollectorRegistry], events: Events, stream: Stream
) -> None:
    ing, registry = ingest
    publish(ing.address[1], 20, 0.01, stream.ts)
    damage = settled(ing)
    assert damage.ts_gaps > 0, damage  # holes in the stream, as above
    index = {frame: n for n, frame in enumerate(stream.frames)}
    handed = [u for u in list(events.units) if u.kind == "video"]
    where = []
    for unit in handed:
        # The muxer put an access unit delimiter in front; the rest must be the frame, whole.
        found = [n for n in range(len(stream.frames)) if unit.data.endswith(stream.frames[n])]
        assert found, f"a damaged frame was handed on ({len(unit.data)} bytes)"
        where.append(found[0])
    assert where == sorted(where) and len(where) < len(index)  # some were held back
    for before, after, unit in zip(where, where[1:], handed[1:], strict=False):
        if after != before + 1:  # frames were held: play resumes at a keyframe only
            assert unit.idr and after % stream.fps == 0, (before, after)
    holes = registry.get_sample_value("gateway_video_holes_total", {"layer": "hi"})
    assert holes and events.holes == holes  # each hole asked for a keyframe once
    held = registry.get_sample_value("gateway_video_held_units_total", {"layer": "hi"})
    assert held and held + len(handed) <= len(stream.frames)  # a frame lost whole never came


def test_continuity_check() -> None:
    def packet(pid: int, cc: int, payload: bool = True) -> bytes:
        flags = (0x10 if payload else 0x20) | cc
        return bytes([0x47, pid >> 8, pid & 0xFF, flags]) + bytes(184)

    check = ContinuityCheck()
    data = b"".join(packet(0x100, n % 16) for n in range(20))
    assert check.feed(data[:100]) == 0 and check.feed(data[100:]) == 0  # split anywhere
    assert check.feed(packet(0x100, 4) + packet(0x100, 4)) == 0  # next, then one repeat
    assert check.feed(packet(0x100, 9)) == 1  # 5..8 missing
    assert check.feed(packet(0x101, 0) + packet(0x101, 0, payload=False) + packet(0x101, 1)) == 0
    assert check.feed(packet(0x1FFF, 3) + packet(0x1FFF, 9)) == 0  # null packets don't count
    assert check.errors == {0x100: 1} and check.total == 1
