"""Per-encoder settings for the one H.264 profile we send, and opening a codec context.

Every encoder gets the same contract: constrained baseline, no B-frames, no lookahead,
an IDR every `keyint` frames and whenever a frame arrives with pict_type I, SPS/PPS in
band before every IDR (a viewer can join or switch layers at any IDR), and CBR-like rate
control with a VBV short enough that no frame waits long for the network.
"""

from __future__ import annotations

from fractions import Fraction

import av
from av.codec.hwaccel import HWAccel

from media.encode.config import LayerConfig

SOFTWARE = "libx264"
HARDWARE = ("h264_nvenc", "h264_qsv", "h264_videotoolbox", "h264_vaapi")
"""In order of preference for "auto"."""


def _x264(layer: LayerConfig, preset: str) -> dict[str, str]:
    kbps, buf_kbit = layer.bitrate // 1000, layer.vbv_bits // 1000
    params = [
        f"keyint={layer.keyint}",
        f"min-keyint={layer.keyint}",
        "scenecut=0",  # IDRs only on schedule or on request: predictable sizes
        "bframes=0",
        "rc-lookahead=0",
        "sync-lookahead=0",
        "repeat-headers=1",  # SPS/PPS before every IDR
        "aud=1",  # MPEG-TS wants an access unit delimiter per frame
        f"vbv-maxrate={kbps}",
        f"vbv-bufsize={max(1, buf_kbit)}",
        "sliced-threads=1",  # threads split a frame (latency) rather than pipeline frames
    ]
    return {
        "preset": preset,
        "tune": "zerolatency",
        "profile": "baseline",  # x264's baseline is Constrained Baseline (no FMO/ASO)
        "forced-idr": "1",  # a frame sent with pict_type I becomes an IDR, not an I-frame
        "x264-params": ":".join(params),
    }


def _nvenc(layer: LayerConfig) -> dict[str, str]:
    return {
        "preset": "p2",
        "tune": "ull",  # ultra low latency
        "profile": "baseline",
        "rc": "cbr",
        "zerolatency": "1",
        "delay": "0",
        "rc-lookahead": "0",
        "forced-idr": "1",
        "maxrate": str(layer.bitrate),
        "bufsize": str(layer.vbv_bits),
        # SPS/PPS are repeated on IDRs as long as no global header is asked for.
    }


def _qsv(layer: LayerConfig) -> dict[str, str]:
    return {
        "preset": "veryfast",
        "profile": "baseline",
        "look_ahead": "0",
        "async_depth": "1",  # one frame in flight: latency over throughput
        "forced_idr": "1",
        "idr_interval": "0",
        "maxrate": str(layer.bitrate),
        "bufsize": str(layer.vbv_bits),
    }


def _videotoolbox(layer: LayerConfig) -> dict[str, str]:
    return {
        "profile": "constrained_baseline",
        "realtime": "1",
        "allow_sw": "0",
        "prio_speed": "1",
        "maxrate": str(layer.bitrate),
        "bufsize": str(layer.vbv_bits),
    }


def _vaapi(layer: LayerConfig) -> dict[str, str]:
    return {
        "profile": "constrained_baseline",
        "rc_mode": "CBR",
        "async_depth": "1",
        "maxrate": str(layer.bitrate),
        "bufsize": str(layer.vbv_bits),
    }


def encoder_options(encoder: str, layer: LayerConfig, preset: str = "veryfast") -> dict[str, str]:
    """The FFmpeg private options for `encoder` making `layer`."""
    if encoder == SOFTWARE:
        return _x264(layer, preset)
    if encoder == "h264_nvenc":
        return _nvenc(layer)
    if encoder == "h264_qsv":
        return _qsv(layer)
    if encoder == "h264_videotoolbox":
        return _videotoolbox(layer)
    if encoder == "h264_vaapi":
        return _vaapi(layer)
    return {}  # another FFmpeg H.264 encoder: its defaults, plus the generic settings below


def open_video(
    encoder: str, layer: LayerConfig, *, preset: str = "veryfast", threads: int = 0
) -> av.VideoCodecContext:
    """An opened encoder for `layer`; frames go in with pts in 1/fps units.

    Raises av.FFmpegError (or ValueError for an unknown name) when it cannot open.
    """
    hwaccel = HWAccel("vaapi") if encoder == "h264_vaapi" else None
    ctx = av.CodecContext.create(encoder, "w", hwaccel=hwaccel)
    if not isinstance(ctx, av.VideoCodecContext):
        raise ValueError(f"{encoder} is not a video encoder")
    ctx.width, ctx.height = layer.size.width, layer.size.height
    ctx.pix_fmt = "yuv420p"
    ctx.time_base = Fraction(1) / layer.rate
    ctx.framerate = layer.rate
    ctx.bit_rate = layer.bitrate
    ctx.gop_size = layer.keyint
    ctx.max_b_frames = 0
    if threads:
        ctx.thread_count = threads
    ctx.options = encoder_options(encoder, layer, preset)
    ctx.open()
    return ctx
