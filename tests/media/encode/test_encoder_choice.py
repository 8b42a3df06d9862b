"""Which encoders are offered and chosen, with which pixel format, and the mid-show fallback.

No hardware here: the pixel-format rule is checked against the descriptors this PyAV
reports for each encoder (av.codec.Codec(name, "w").video_formats), and "does it open" is
faked only at the trial-open boundary (an opener passed in). The fallback test uses a real
libx264 context wrapped so that it fails after N frames, posing as h264_nvenc.
"""

from __future__ import annotations

import sys
from typing import Any

import av
import pytest

from media.encode.codecs import (
    SOFTWARE,
    InputFormat,
    candidates,
    codec_formats,
    configure_video,
    input_format,
    open_video,
)
from media.encode.config import HI, LO, EncoderConfig, LayerConfig, to_pts90
from media.encode.detect import (
    AUTO_HARDWARE,
    AUTO_SOFTWARE,
    CHOSEN,
    FELL_BACK,
    EncoderChoice,
    available_encoders,
    choose_encoder,
)
from media.encode.errors import EncoderUnavailable
from media.encode.nal import NAL_SPS, nal_types
from media.encode.simulcast import SimulcastEncoder
from media.encode.video import LayerEncoder
from tests.media.encode.support import TB, Program


def opens(*names: str) -> Any:
    """A trial open where only `names` (and libx264) open."""

    def opener(name: str) -> str | None:
        return None if name in (*names, SOFTWARE) else f"{name}: no device"

    return opener


def test_pixel_formats_follow_pyav_descriptors() -> None:
    # What this PyAV build says each encoder takes; the rule picks from that list.
    assert input_format(SOFTWARE, codec_formats(SOFTWARE)) == InputFormat("yuv420p", "yuv420p")
    nvenc = codec_formats("h264_nvenc")
    assert "yuv420p" in nvenc and "nv12" in nvenc
    assert input_format("h264_nvenc", nvenc) == InputFormat("yuv420p", "yuv420p")
    qsv = codec_formats("h264_qsv")
    assert "yuv420p" not in qsv and "nv12" in qsv  # the bug: QSV was given yuv420p
    assert input_format("h264_qsv", qsv) == InputFormat("nv12", "nv12")
    # h264_vaapi is not in the pip wheels; FFmpeg's vaapi_encode_h264.c lists only
    # AV_PIX_FMT_VAAPI: frames on the device, nv12 uploaded to them.
    vaapi = input_format("h264_vaapi", ("vaapi",))
    assert vaapi == InputFormat("vaapi", "nv12", "vaapi") and vaapi.uploads
    assert input_format("x", ("qsv",)).device == "qsv"
    with pytest.raises(ValueError, match="takes none"):
        input_format("h264_weird", ("rgb24",))


def test_contexts_are_set_up_with_that_format_before_opening() -> None:
    # configure_video stops short of avcodec_open2, which is where hardware is needed.
    qsv, fmt = configure_video("h264_qsv", HI)
    assert qsv.pix_fmt == "nv12" and fmt.frame_format == "nv12"
    nvenc, _ = configure_video("h264_nvenc", HI)
    assert nvenc.pix_fmt == "yuv420p"
    assert nvenc.options["forced-idr"] == "1"
    with pytest.raises(ValueError, match="no encoder"):
        configure_video("h264_nonexistent", HI)


def test_an_nv12_encoder_is_fed_nv12() -> None:
    # libx264 takes nv12 too: make it pose as an nv12-only encoder, and decode the result.
    def nv12_only(encoder: str, layer: LayerConfig, **kw: Any) -> tuple[Any, InputFormat]:
        ctx, _ = configure_video(encoder, layer, **kw)
        ctx.pix_fmt = "nv12"
        ctx.open()
        return ctx, InputFormat("nv12", "nv12")

    encoder = LayerEncoder(LO, SOFTWARE, opener=nv12_only)
    program = Program()
    units = []
    for pts in range(0, 8, 2):
        units += encoder.encode(program.tick(pts).frame, to_pts90(pts, TB), pts)
    decoder = av.CodecContext.create("h264", "r")
    frames = [f for u in units for f in decoder.decode(av.Packet(u.data))]
    assert frames and (frames[0].width, frames[0].height) == (320, 180)


def test_offered_encoders_are_those_that_open_here() -> None:
    hardware = candidates()
    assert available_encoders(opens()) == (SOFTWARE,)
    if hardware:
        assert available_encoders(opens(hardware[-1])) == (hardware[-1], SOFTWARE)
    assert "h264_videotoolbox" in candidates("darwin")
    assert "h264_videotoolbox" not in candidates("linux")
    assert "h264_vaapi" not in candidates("win32")
    assert candidates("linux") == ("h264_nvenc", "h264_qsv", "h264_vaapi")


@pytest.mark.skipif(sys.platform != "linux", reason="the candidates below are Linux's")
def test_auto_says_why_it_chose() -> None:
    chosen = choose_encoder("auto", opens("h264_qsv", "h264_vaapi"))
    assert chosen == EncoderChoice("h264_qsv", AUTO_HARDWARE, ("h264_nvenc",))
    assert "first hardware encoder that opens" in chosen.describe()
    none = choose_encoder("auto", opens())
    assert none.name == SOFTWARE and none.reason == AUTO_SOFTWARE
    assert none.tried == ("h264_nvenc", "h264_qsv", "h264_vaapi")
    assert "no hardware encoder opens here; tried h264_nvenc" in none.describe()
    assert choose_encoder("h264_qsv", opens("h264_qsv")) == EncoderChoice("h264_qsv", CHOSEN)
    with pytest.raises(EncoderUnavailable, match="h264_nvenc cannot be used here"):
        choose_encoder("h264_nvenc", opens("h264_qsv"))


def test_the_real_machine_answers_too() -> None:
    # No fake: libx264 always opens; whatever else opens here is offered before it.
    offered = available_encoders()
    assert offered[-1] == SOFTWARE
    assert choose_encoder("auto").name == offered[0]


class FailsAfter:
    """A real libx264 context that raises after `n` frames, as a GPU that went away."""

    def __init__(self, ctx: av.VideoCodecContext, n: int) -> None:
        self._ctx, self._left = ctx, n

    def encode(self, frame: av.VideoFrame | None = None) -> list[av.Packet[Any]]:
        if self._left <= 0:
            raise av.error.ExternalError(-542398533, "Generic error in an external library")
        self._left -= 1
        packets: list[av.Packet[Any]] = self._ctx.encode(frame)
        return packets


def failing_hardware(n: int) -> Any:
    def opener(encoder: str, layer: LayerConfig, **kw: Any) -> tuple[Any, InputFormat]:
        ctx, fmt = open_video(SOFTWARE, layer, **kw)
        if encoder == SOFTWARE:
            return ctx, fmt
        return FailsAfter(ctx, n), fmt

    return opener


def test_a_layer_whose_encoder_fails_mid_show_goes_on_with_libx264() -> None:
    layer = HI
    encoder = LayerEncoder(layer, "h264_nvenc", opener=failing_hardware(50))
    program = Program()
    units = []
    for pts in range(150):
        units += encoder.encode(program.tick(pts).frame, to_pts90(pts, TB), pts)
    assert encoder.encoder == SOFTWARE and encoder.failed == "h264_nvenc"
    assert "ExternalError" in encoder.failure
    # Every frame came out: the one the encoder failed on was encoded again by libx264.
    assert [u.program_pts for u in units] == list(range(150))
    idrs = [u.program_pts for u in units if u.idr]
    assert 50 in idrs  # the first libx264 frame: an IDR at once, well within one GOP
    gap_after_failure = min(p for p in idrs if p >= 50) - 50
    assert gap_after_failure < layer.keyint
    assert all(NAL_SPS in nal_types(u.data) for u in units if u.idr)
    # The stream decodes straight through the switch.
    decoder = av.CodecContext.create("h264", "r")
    decoded = [f for u in units[50:] for f in decoder.decode(av.Packet(u.data))]
    assert len(decoded) >= 99


def test_the_simulcast_encoder_reports_the_fallback() -> None:
    config = EncoderConfig(layers=(HI, LO), audio=None, encoder="h264_nvenc")
    choice = EncoderChoice("h264_nvenc", CHOSEN)
    encoder = SimulcastEncoder(config, choice=choice, opener=failing_hardware(10))
    assert encoder.encoder == "h264_nvenc"
    program = Program()
    units: dict[str, list[Any]] = {"hi": [], "lo": []}
    for pts in range(60):
        for name, unit in encoder.encode_tick(program.tick(pts)).items():
            if unit.video is not None:
                units[name].append(unit.video)
    stats = encoder.stats()
    assert stats.encoder == SOFTWARE
    assert encoder.choice == EncoderChoice(SOFTWARE, FELL_BACK, failed="h264_nvenc")
    assert "h264_nvenc failed during the show" in encoder.choice.describe()
    assert all(layer.errors == 0 for layer in stats.layers.values())  # nothing was lost
    hi = units["hi"]
    assert len(hi) == 60 and hi[10].idr  # the 11th frame is libx264's first: an IDR
    lo = units["lo"]
    assert len(lo) == 30 and lo[10].idr
    assert encoder.layer_encoder("hi") == encoder.layer_encoder("lo") == SOFTWARE
