"""One layer's H.264: profile, IDR schedule, SPS/PPS per IDR, forced IDRs, decimation, scaling."""

from __future__ import annotations

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media.encode.config import HI, LO, LayerConfig, to_pts90
from media.encode.nal import NAL_IDR, NAL_PPS, NAL_SPS, nal_types
from media.encode.units import EncodedVideo
from media.encode.video import LayerEncoder
from media.frames import Size
from media.stamp import decode_stamp
from tests.media.encode.support import TB, Program


def encode(
    layer: LayerConfig, ticks: range, keyframe_at: frozenset[int] = frozenset()
) -> list[EncodedVideo]:
    encoder = LayerEncoder(layer, "libx264")
    program = Program()
    out = []
    for pts in ticks:
        if pts in keyframe_at:
            encoder.request_keyframe()
        out += encoder.encode(program.tick(pts).frame, to_pts90(pts, TB), pts)
    return out


def decode(units: list[EncodedVideo]) -> list[av.VideoFrame]:
    decoder = av.CodecContext.create("h264", "r")
    frames = []
    for unit in units:
        frames += decoder.decode(av.Packet(unit.data))
    return frames


def test_hi_is_constrained_baseline_with_headers_on_every_idr() -> None:
    units = encode(HI, range(250))
    assert [u.program_pts for u in units] == list(range(250))
    assert [u.program_pts for u in units if u.idr] == [0, 120, 240]  # keyint 2 s at 60 fps
    for unit in units:
        types = list(nal_types(unit.data))
        if unit.idr:
            assert types.index(NAL_SPS) < types.index(NAL_PPS) < types.index(NAL_IDR)
        else:
            assert NAL_SPS not in types and NAL_IDR not in types
    frames = decode(units)
    assert len(frames) == 250  # no B-frames: every packet decodes to its frame at once
    assert (frames[0].width, frames[0].height) == (640, 360)
    assert all(decode_stamp(f) is not None for f in frames[:10])
    decoder = av.CodecContext.create("h264", "r")
    decoder.decode(av.Packet(units[0].data))
    assert decoder.profile == "Constrained Baseline"


def test_lo_takes_every_other_frame_on_the_shared_timeline() -> None:
    units = encode(LO, range(130))
    assert [u.program_pts for u in units] == list(range(0, 130, 2))
    assert [u.pts90 for u in units] == [pts * 1500 for pts in range(0, 130, 2)]
    assert [u.program_pts for u in units if u.idr] == [0, 120]  # 60 frames at 30 fps
    frames = decode(units)
    assert (frames[0].width, frames[0].height) == (320, 180)
    # The stamp survives 180p, as test_send_ffmpeg reads it: at 100 kbps the P-frame right
    # after an IDR may leave some of its blocks from the frame before (the fresh-clone CI
    # read one such frame as no stamp; 1 run in 30 here shows the previous frame's stamp).
    stamps = [decode_stamp(f) for f in frames]
    assert sum(s is not None for s in stamps) >= 0.95 * len(frames)
    readable = [s for s in stamps if s is not None]
    assert readable == sorted(readable)  # never a value that was not drawn before it


def test_requested_keyframe_is_the_next_frame() -> None:
    units = encode(HI, range(60), keyframe_at=frozenset({17, 40}))
    assert [u.program_pts for u in units if u.idr] == [0, 17, 40]
    idr = next(u for u in units if u.program_pts == 17)
    assert NAL_SPS in nal_types(idr.data)


@pytest.mark.parametrize("odd", [Size(1280, 720), Size(480, 360), Size(64, 36)])
def test_frames_of_another_size_are_scaled(odd: Size) -> None:
    encoder = LayerEncoder(HI, "libx264")
    program = Program()
    units = []
    for pts in range(6):
        size = odd if pts % 2 else None
        units += encoder.encode(program.tick(pts, size).frame, to_pts90(pts, TB), pts)
    frames = decode(units)
    assert len(frames) == 6
    assert {(f.width, f.height) for f in frames} == {(640, 360)}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=200))
def test_decimation_takes_one_frame_per_slot_whatever_is_dropped(dropped: list[bool]) -> None:
    encoder = LayerEncoder.__new__(LayerEncoder)  # the slot arithmetic only, no codec
    encoder.layer, encoder._last_slot = LO, -1
    kept = []
    for pts, drop in enumerate(dropped):
        pts90 = to_pts90(pts, TB)
        if not drop and encoder.wants(pts90):
            encoder._last_slot = encoder.slot(pts90)
            kept.append(pts90)
    # The first frame that reaches each 1/30 s slot, so pts only grow, and a dropped
    # program frame costs the layer nothing when its neighbour lands in the same slot.
    delivered = [to_pts90(p, TB) for p, d in enumerate(dropped) if not d]
    first_per_slot: dict[int, int] = {}
    for pts90 in delivered:
        first_per_slot.setdefault(pts90 // 3000, pts90)
    assert kept == sorted(first_per_slot.values())
