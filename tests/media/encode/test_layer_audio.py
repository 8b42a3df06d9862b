"""Each layer's own Opus: hi stereo, lo mono, on the same pts; lo fits 0.1 Mbps with sound.

The sound is the layer-rates benchmark's (a gliding harmonic voice, noise bursts, a pink
floor, left and right different), not a sine; the hard picture is ffmpeg's noisy testsrc2,
streamed from Debian's ffmpeg a frame at a time.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import replace

import av
import numpy as np
import pytest

from bench.encode import CONTENT
from bench.layer_rates import program_sound
from media.audio.frames import AudioFrame
from media.clock import OutputFrame
from media.encode.config import LO, LO_AUDIO, LO_BUDGET, PTS_HZ, EncoderConfig, LayerConfig
from media.encode.simulcast import SimulcastEncoder
from media.encode.units import LayerUnit
from media.frames import Frame
from tests.media.encode.support import TB, Program

SOUND_S = 10.0
SOUND = program_sound(SOUND_S)


def sounding(tick: OutputFrame) -> OutputFrame:
    """`tick` with the benchmark's sound instead of the helper's tone."""
    at = tick.pts * 800
    audio = AudioFrame(SOUND[at : at + 800], at)
    return OutputFrame(tick.pts, tick.time_base, tick.frame, tick.time, audio)


def stereo(packet: bytes) -> bool:
    return bool(packet[0] & 0x04)  # the TOC byte's s bit (RFC 6716 section 3.1)


def test_hi_is_stereo_lo_is_mono_and_both_have_the_same_pts() -> None:
    encoder = SimulcastEncoder(EncoderConfig(encoder="libx264"))
    program = Program()
    units: dict[str, list[LayerUnit]] = {"hi": [], "lo": []}
    for pts in range(120):  # 2 s
        for name, unit in encoder.encode_tick(sounding(program.tick(pts))).items():
            units[name].append(unit)
    hi = [a for u in units["hi"] for a in u.audio]
    lo = [a for u in units["lo"] for a in u.audio]
    assert len(hi) == 99
    # The same 20 ms framing of the same samples: a viewer can change layer at any packet.
    assert [a.pts90 for a in hi] == [a.pts90 for a in lo]
    assert [a.duration90 for a in hi] == [a.duration90 for a in lo] == [1800] * 99
    # and each tick's unit carries the same instants in both layers
    assert [[a.pts90 for a in u.audio] for u in units["hi"]] == [
        [a.pts90 for a in u.audio] for u in units["lo"]
    ]
    assert all(stereo(a.data) for a in hi) and not any(stereo(a.data) for a in lo)
    assert sum(len(a.data) for a in lo) < 0.6 * sum(len(a.data) for a in hi)
    # Both decode; hi keeps the difference between left and right, lo has none.
    for packets, different in ((hi, True), (lo, False)):
        decoder = av.CodecContext.create("opus", "r")
        pcm = np.concatenate(
            [f.to_ndarray() for a in packets for f in decoder.decode(av.Packet(a.data))], axis=1
        )
        left, right = pcm[0], pcm[-1]
        assert np.sqrt(np.mean(left**2)) > 0.02  # the sound is there (its RMS is ~0.05)
        assert bool(np.max(np.abs(left - right)) > 0.05) is different
    stats = encoder.stats()
    assert stats.audio_packets == 99
    assert all(s.audio_packets == 99 and s.audio_cpu_s > 0 for s in stats.layers.values())


def noisy_frames(seconds: float) -> Iterator[Frame]:
    """The benchmark's hard picture, one 640x360 I420 frame at a time from ffmpeg."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("needs Debian's ffmpeg: apt-get install ffmpeg")
    argv = [ffmpeg, "-v", "error", "-f", "lavfi", "-i", CONTENT, "-t", str(seconds)]
    argv += ["-pix_fmt", "yuv420p", "-f", "rawvideo", "-"]
    size = 640 * 540
    with subprocess.Popen(argv, stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        while len(raw := proc.stdout.read(size)) == size:
            yield Frame(np.frombuffer(raw, np.uint8).reshape(540, 640).copy())


def test_lo_fits_a_tenth_of_a_megabit_with_its_sound() -> None:
    """The configured budget as a property: lo's video + Opus payload over 10 s of hard
    content with sound stays within 100 kbps. Bits per second from the pts, not the clock."""
    encoder = SimulcastEncoder(EncoderConfig(layers=(LO,), encoder="libx264"))
    video = audio = 0
    last_pts90 = 0
    ticks = 0
    for pts, frame in enumerate(noisy_frames(SOUND_S)):
        unit = encoder.encode_tick(sounding(OutputFrame(pts, TB, frame, 0.0)))["lo"]
        ticks += 1
        if unit.video is not None:
            video += len(unit.video.data)
            last_pts90 = max(last_pts90, unit.video.pts90)
        audio += sum(len(a.data) for a in unit.audio)
        assert not any(stereo(a.data) for a in unit.audio)
    assert ticks == SOUND_S * 60
    seconds = (last_pts90 + PTS_HZ / LO.rate) / PTS_HZ  # through the end of the last frame
    video_bps, audio_bps = video * 8 / seconds, audio * 8 / seconds
    assert video_bps + audio_bps <= LO_BUDGET, (video_bps, audio_bps)
    # and neither part got there by starving: each is near what it was set to
    assert 0.9 * LO.bitrate <= video_bps and 0.9 * LO_AUDIO.bitrate <= audio_bps


def test_a_layer_without_its_own_opus_takes_the_default_and_none_turns_audio_off() -> None:
    custom = EncoderConfig(layers=(LayerConfig("mid", LO.size, 30, 300_000), LO))
    assert custom.layer_audio("mid") == custom.audio and custom.audio_channels("mid") == 2
    assert custom.audio_channels("lo") == 1
    silent = EncoderConfig(audio=None)
    assert silent.layer_audio("hi") is None and silent.audio_channels("lo") is None
    encoder, program = SimulcastEncoder(replace(silent, encoder="libx264")), Program()
    assert not any(
        u.audio for pts in range(10) for u in encoder.encode_tick(program.tick(pts)).values()
    )
