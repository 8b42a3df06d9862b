"""Opus from program audio: packets on the program clock, gaps filled, decodable."""

from __future__ import annotations

import itertools

import av
import numpy as np

from media.audio.frames import AudioFrame
from media.encode.audio import OpusEncoder
from media.encode.units import EncodedAudio


def tone(tick: int, count: int = 800, freq: float = 440.0) -> AudioFrame:
    t = (np.arange(count) + tick * 800) / 48000
    mono = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return AudioFrame(np.stack([mono, mono], axis=1), tick * 800)


def run(ticks: list[int]) -> tuple[OpusEncoder, list[EncodedAudio]]:
    encoder = OpusEncoder()
    out: list[EncodedAudio] = []
    for tick in ticks:
        out += encoder.encode(tone(tick))
    return encoder, out


def test_packets_are_20_ms_apart_on_the_program_clock() -> None:
    encoder, packets = run(list(range(120)))  # 2 s at 60 fps
    assert encoder.frame_size == 960
    assert len(packets) == 99  # 100 frames, minus the first (its pre-skip starts before 0)
    pts = [p.pts90 for p in packets]
    assert all(b - a == 1800 for a, b in itertools.pairwise(pts))
    assert all(p.duration90 == 1800 for p in packets)
    # frame k starts at sample 960 k; the packet's pts is that less the 2.5 ms pre-skip
    assert pts[0] == (960 - 120) * 90_000 // 48_000


def test_skipped_ticks_become_silence_and_a_long_jump_restarts() -> None:
    ticks = [*range(30), *range(33, 60), *range(600, 630)]  # 3 ticks missed, then a 9 s jump
    encoder, packets = run(ticks)
    assert encoder.gaps_filled == 1 and encoder.restarts == 1
    pts = [p.pts90 for p in packets]
    assert all(b > a for a, b in itertools.pairwise(pts))
    before = [p for p in pts if p < 600 * 1500]
    assert all(b - a == 1800 for a, b in itertools.pairwise(before))  # no drift
    assert min(p for p in pts if p >= 600 * 1500) >= 600 * 1500 - 120 * 90_000 // 48_000


def test_packets_decode_to_the_tone() -> None:
    _, packets = run(list(range(60)))
    decoder = av.CodecContext.create("opus", "r")
    samples = []
    for packet in packets:
        for frame in decoder.decode(av.Packet(packet.data)):
            samples.append(frame.to_ndarray()[0])  # planar: the left channel
    left = np.concatenate(samples)[:24000]
    peak_hz = np.argmax(np.abs(np.fft.rfft(left))) * 48000 / len(left)
    assert abs(peak_hz - 440) < 5
