"""Our MPEG-TS muxer: well-formed, read by ffprobe and PyAV, and each frame demuxable the
moment its bytes arrive (what PyAV's interleaving muxer could not give us)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from media.encode.config import EncoderConfig
from media.encode.simulcast import SimulcastEncoder
from media.encode.units import EncodedVideo, LayerUnit
from media.send.ts import AUDIO_PID, PAT_PID, PMT_PID, PTS_OFFSET, VIDEO_PID, TsMuxer
from media.srt import LOW_LATENCY_DEMUX
from tests.media.encode.support import Program, demux_bytes
from tests.media.srt.support import ffprobe_streams


def ticks(count: int, *, keyframe_at: int | None = None) -> Iterator[dict[str, LayerUnit]]:
    encoder = SimulcastEncoder(EncoderConfig(encoder="libx264"))
    program = Program()
    for pts in range(count):
        if pts == keyframe_at:
            encoder.request_keyframe()
        yield encoder.encode_tick(program.tick(pts))


@pytest.fixture(scope="module")
def streams() -> dict[str, list[bytes]]:
    """Per layer, the TS bytes of each of 150 ticks (an IDR requested at tick 70)."""
    config = EncoderConfig()  # as the senders make them: each layer's channel count
    muxers = {name: TsMuxer(audio_channels=config.audio_channels(name)) for name in ("hi", "lo")}
    out: dict[str, list[bytes]] = {"hi": [], "lo": []}
    for units in ticks(150, keyframe_at=70):
        for name, unit in units.items():
            out[name].append(muxers[name].mux(unit))
    return out


def packets(data: bytes) -> list[bytes]:
    assert len(data) % 188 == 0
    return [data[i : i + 188] for i in range(0, len(data), 188)]


def pid(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def test_packets_are_well_formed(streams: dict[str, list[bytes]]) -> None:
    data = b"".join(streams["hi"])
    ts = packets(data)
    assert all(p[0] == 0x47 for p in ts)
    assert [pid(p) for p in ts[:3]] == [PAT_PID, PMT_PID, VIDEO_PID]
    counters: dict[int, int] = {}
    for p in ts:
        cc = p[3] & 0x0F
        if pid(p) in counters:
            assert cc == (counters[pid(p)] + 1) & 0x0F, "continuity counter skipped"
        counters[pid(p)] = cc
    assert set(counters) == {PAT_PID, PMT_PID, VIDEO_PID, AUDIO_PID}


def test_idrs_carry_psi_pcr_and_random_access(streams: dict[str, list[bytes]]) -> None:
    for index in (0, 70):  # the first, and the one requested (which restarts the 2 s cycle)
        ts = packets(streams["hi"][index])
        assert [pid(p) for p in ts[:2]] == [PAT_PID, PMT_PID]
        first_video = ts[2]
        assert first_video[3] & 0x20, "no adaptation field"
        flags = first_video[5]
        assert flags & 0x10 and flags & 0x40, "PCR and random_access_indicator expected"
    ordinary = packets(streams["hi"][71])
    assert pid(ordinary[0]) == VIDEO_PID and not ordinary[0][5] & 0x40


def test_ffprobe_sees_both_layers_as_sent(streams: dict[str, list[bytes]], tmp_path: Path) -> None:
    # ffprobe, the independent peer, reads hi's Opus as stereo and lo's as mono.
    expected = {"hi": (640, 360, "60/1", 150, 2), "lo": (320, 180, "30/1", 75, 1)}
    for name, (width, height, rate, frames, channels) in expected.items():
        path = tmp_path / f"{name}.ts"
        path.write_bytes(b"".join(streams[name]))
        found = {s["codec_type"]: s for s in ffprobe_streams(path)}
        video, audio = found["video"], found["audio"]
        assert (video["codec_name"], video["profile"]) == ("h264", "Constrained Baseline")
        assert (video["width"], video["height"], video["r_frame_rate"]) == (width, height, rate)
        assert int(video["nb_read_packets"]) == frames
        assert (audio["codec_name"], audio["sample_rate"], audio["channels"]) == (
            "opus",
            "48000",
            channels,
        )
        assert int(audio["nb_read_packets"]) == 124  # 2.5 s of 20 ms, less the first


def test_layers_share_one_timeline(streams: dict[str, list[bytes]]) -> None:
    hi = demux_bytes(b"".join(streams["hi"]))
    lo = demux_bytes(b"".join(streams["lo"]))
    assert [pts for pts, _ in hi.video] == [PTS_OFFSET + 1500 * n for n in range(150)]
    assert [pts for pts, _ in lo.video] == [PTS_OFFSET + 1500 * n for n in range(0, 150, 2)]
    assert hi.audio == lo.audio  # each layer's own Opus, on the same pts
    assert hi.idr_pts == [PTS_OFFSET + 1500 * n for n in (0, 70)]
    assert all(b - a == 1800 for a, b in zip(hi.audio, hi.audio[1:], strict=False))


class TickReader:
    """Hands the demuxer one tick's bytes per read, and remembers how far it has read."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.ticks_read = 0
        self._rest = b""

    def read(self, n: int = -1) -> bytes:
        if not self._rest:
            if self.ticks_read == len(self._chunks):
                return b""
            self._rest = self._chunks[self.ticks_read]
            self.ticks_read += 1
        data, self._rest = self._rest[:n], self._rest[n:]
        return data


def test_each_frame_demuxes_before_the_next_one_is_read(streams: dict[str, list[bytes]]) -> None:
    reader = TickReader(streams["hi"])
    lag = []
    with av.open(reader, format="mpegts", options=LOW_LATENCY_DEMUX) as container:
        for packet in container.demux(container.streams.video[0]):
            if packet.size:
                tick = (packet.pts - PTS_OFFSET) // 1500
                lag.append(reader.ticks_read - 1 - tick)
    assert len(lag) == 150
    # The probe (probesize 32 KB) holds the first frames back; after it, every frame comes
    # out while its own tick is the last one read: no frame waits for the next.
    caught_up = lag.index(0)
    assert caught_up < 50 and lag[caught_up:] == [0] * (150 - caught_up)


def test_a_frame_too_big_for_a_pes_length_still_muxes() -> None:
    big = EncodedVideo("hi", 0, b"\x00\x00\x00\x01\x65" + bytes(70_000), True, 0.0, 0)
    data = TsMuxer().mux(LayerUnit("hi", big, (), 0.0))
    pes = packets(data)[2]
    start = 4 + 1 + pes[4]  # after the adaptation field
    assert pes[start : start + 3] == b"\x00\x00\x01" and pes[start + 4 : start + 6] == b"\x00\x00"
