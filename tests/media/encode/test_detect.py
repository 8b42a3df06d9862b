"""Choosing the encoder: hardware by a real trial open, libx264 otherwise."""

from __future__ import annotations

import os

import av
import pytest

from media.encode.codecs import HARDWARE, SOFTWARE
from media.encode.config import HI, to_pts90
from media.encode.detect import pick_encoder, trial_open
from media.encode.errors import EncoderUnavailable
from media.encode.nal import NAL_SPS, nal_types
from media.encode.video import LayerEncoder
from tests.media.encode.support import TB, Program

HWENC_ENV = "RETURNFEED_TEST_HWENC"


def test_auto_falls_back_to_libx264_without_hardware() -> None:
    usable = [name for name in HARDWARE if trial_open(name) is None]
    expected = usable[0] if usable else SOFTWARE
    assert pick_encoder("auto") == expected
    assert trial_open(SOFTWARE) is None
    assert trial_open.cache_info().hits > 0  # the machine does not change: asked once


def test_a_named_encoder_that_cannot_open_says_why() -> None:
    with pytest.raises(EncoderUnavailable, match="h264_nonexistent"):
        pick_encoder("h264_nonexistent")
    with pytest.raises(EncoderUnavailable, match=r"cannot be used"):
        pick_encoder("libopus")
    assert pick_encoder(SOFTWARE) == SOFTWARE


def test_hardware_encoder_meets_the_contract() -> None:
    name = os.environ.get(HWENC_ENV)
    if not name:
        pytest.skip(
            f"hardware encoders are tested only when asked: {HWENC_ENV}=h264_nvenc "
            f"(or h264_qsv, h264_videotoolbox, h264_vaapi) pytest {__file__}"
        )
    assert pick_encoder(name) == name, trial_open(name)
    encoder = LayerEncoder(HI, name)
    program = Program()
    units = []
    for pts in range(150):
        if pts == 70:
            encoder.request_keyframe()
        units += encoder.encode(program.tick(pts).frame, to_pts90(pts, TB), pts)
    idrs = [u.program_pts for u in units if u.idr]
    assert idrs[0] == 0 and any(70 <= p <= 72 for p in idrs), idrs  # within 2 frames
    assert all(NAL_SPS in nal_types(u.data) for u in units if u.idr)
    assert len(units) >= 148  # at most the encoder's pipeline delay still inside
    decoder = av.CodecContext.create("h264", "r")
    decoder.decode(av.Packet(units[0].data))
    assert decoder.profile in ("Constrained Baseline", "Baseline")
