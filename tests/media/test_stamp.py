from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from media.frames import Size, solid
from media.pattern import PatternRenderer
from media.stamp import MODULUS, age_ms, decode_stamp, now_ms


def test_stamp_round_trips_in_every_picture_form() -> None:
    renderer = PatternRenderer("CAM 1", Size(640, 360))
    for value in (0, 1, 123_456_789, MODULUS - 1):
        frame = renderer.render(7, value)
        assert decode_stamp(frame) == value
        assert decode_stamp(frame.to_av()) == value
        assert decode_stamp(frame.y) == value
        rgb = frame.to_av().to_ndarray(format="rgb24")
        assert decode_stamp(rgb) == value


def test_pictures_without_stamp_read_none() -> None:
    size = Size(640, 360)
    assert decode_stamp(solid(size, (0, 0, 0))) is None
    assert decode_stamp(solid(size, (255, 255, 255))) is None
    assert decode_stamp(PatternRenderer("X", size, stamp=False).render(3)) is None
    noise = np.random.default_rng(1).integers(0, 256, (360, 640), dtype=np.uint8)
    assert decode_stamp(noise) is None
    blocks = np.repeat(np.repeat(np.random.default_rng(2).integers(0, 2, (2, 20)), 32, 0), 32, 1)
    fake = np.zeros((360, 640), np.uint8)
    fake[:64] = np.where(blocks == 1, 235, 16)
    # Random black/white blocks pass the level check; the CRC must reject them.
    assert decode_stamp(fake) is None


def test_age_wraps_around() -> None:
    assert age_ms(MODULUS - 10, now=5) == 15
    assert age_ms(100, now=90) == -10
    assert 0 <= age_ms(now_ms()) < 1000


def _round_trip(
    work: Size, out: Size, bit_rate: int, fps: int, step: int, n: int, *, grain: bool = False
) -> tuple[float, float]:
    """Encode the pattern like the simulcast layers do, decode, count exact stamps: the
    share read exactly and the bitrate the encoder used (bits/s)."""
    renderer = PatternRenderer("CAM 1 wide shot", work, grain=grain)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = out.width, out.height, "yuv420p"
        stream.bit_rate = bit_rate
        kbps = bit_rate // 1000
        stream.codec_context.options = {
            "preset": "veryfast",
            "tune": "zerolatency",
            "profile": "baseline",
            "x264-params": f"vbv-maxrate={kbps}:vbv-bufsize={kbps}:keyint={2 * fps}",
        }
        stamps = []
        for i in range(n):
            value = (1_795_000_000_000 + (i * step * 1000) // 60) % MODULUS
            picture = renderer.render(i * step, value).to_av()
            picture = picture.reformat(width=out.width, height=out.height)
            picture.pts = i
            picture.time_base = Fraction(1, fps)
            stamps.append(value)
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    # Sanity: the encoder really was starved to about the rate asked for.
    used = len(buffer.getvalue()) * 8 * fps / n
    assert used < bit_rate * 1.5
    buffer.seek(0)
    with av.open(buffer, format="h264") as decoded:
        read = [decode_stamp(frame) for frame in decoded.decode(video=0)]
    assert len(read) == n
    return sum(a == b for a, b in zip(read, stamps, strict=True)) / n, used


@pytest.mark.parametrize(
    ("work", "out", "bit_rate", "fps", "step"),
    [
        (Size(640, 360), Size(320, 180), 100_000, 30, 2),  # the lo layer
        (Size(640, 360), Size(640, 360), 1_000_000, 60, 1),  # the hi layer
        (Size(1280, 720), Size(320, 180), 100_000, 30, 2),  # lo from a 720p working size
    ],
)
def test_stamp_survives_h264(work: Size, out: Size, bit_rate: int, fps: int, step: int) -> None:
    assert _round_trip(work, out, bit_rate, fps, step, n=240)[0] >= 0.95


def test_grain_makes_the_encoder_spend_its_rate_and_keeps_the_stamp() -> None:
    """The grained pattern is the benchmarks' hard content: at the hi layer's settings the
    bars alone leave most of the rate unused, the grain does not, and the stamp reads."""
    hi = (Size(640, 360), Size(640, 360), 1_000_000, 60, 1)
    plain_read, plain_rate = _round_trip(*hi, n=180)
    grain_read, grain_rate = _round_trip(*hi, n=180, grain=True)
    assert grain_read >= 0.95 and plain_read >= 0.95
    assert grain_rate > 0.85 * 1_000_000 and grain_rate > 1.8 * plain_rate, (
        plain_rate,
        grain_rate,
    )
