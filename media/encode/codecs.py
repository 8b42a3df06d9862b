"""Per-encoder settings for the one H.264 profile we send, and opening a codec context.

Every encoder gets the same contract: constrained baseline, no B-frames, no lookahead,
an IDR every `keyint` frames and whenever a frame arrives with pict_type I, SPS/PPS in
band before every IDR (a viewer can join or switch layers at any IDR), and CBR-like rate
control with a VBV short enough that no frame waits long for the network.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from fractions import Fraction

import av
from av.codec.hwaccel import HWAccel

from media.encode.config import LayerConfig

SOFTWARE = "libx264"
HARDWARE = ("h264_nvenc", "h264_qsv", "h264_videotoolbox", "h264_vaapi")
"""In order of preference for "auto"."""

# Where each hardware encoder can exist at all: VideoToolbox is Apple's, VAAPI is Linux's.
_PLATFORMS = {
    "h264_nvenc": ("linux", "win32"),
    "h264_qsv": ("linux", "win32"),
    "h264_videotoolbox": ("darwin",),
    "h264_vaapi": ("linux",),
}
# Pixel formats that are frames on a device, not in memory; the encoder uploads to them.
_DEVICE_FORMATS = {"vaapi": "vaapi", "qsv": "qsv", "cuda": "cuda", "videotoolbox_vld": None}


def candidates(platform: str = sys.platform) -> tuple[str, ...]:
    """The hardware encoders worth a trial open on `platform`, in auto's order."""
    return tuple(name for name in HARDWARE if platform in _PLATFORMS[name])


@dataclass(frozen=True, slots=True)
class InputFormat:
    """How frames go into an encoder: the context's pixel format, and for hardware frames
    the device and the software format uploaded to it."""

    pix_fmt: str  # the codec context's: "yuv420p", "nv12", or a device format ("vaapi")
    frame_format: str  # what we hand to encode(): yuv420p (as made) or nv12
    device: str | None = None  # the HWAccel device type when pix_fmt is a device format

    @property
    def uploads(self) -> bool:
        return self.device is not None


def codec_formats(encoder: str) -> tuple[str, ...]:
    """The pixel formats FFmpeg's descriptor of `encoder` lists (a ValueError,
    UnknownCodecError, if this PyAV has no such encoder)."""
    codec = av.codec.Codec(encoder, "w")
    return tuple(f.name for f in codec.video_formats or ())


def input_format(encoder: str, formats: tuple[str, ...]) -> InputFormat:
    """The input an encoder with these pixel formats takes, preferring no conversion.

    Our frames are yuv420p: taken as they are where the encoder lists it (libx264, NVENC,
    VideoToolbox), else converted to nv12 in memory (QSV lists nv12 and qsv), else uploaded
    as nv12 to the device (VAAPI lists only vaapi). ValueError if none of these fits.
    """
    if "yuv420p" in formats:
        return InputFormat("yuv420p", "yuv420p")
    if "nv12" in formats:
        return InputFormat("nv12", "nv12")
    for fmt in formats:
        device = _DEVICE_FORMATS.get(fmt)
        if device is not None:
            return InputFormat(fmt, "nv12", device)
    raise ValueError(f"{encoder} takes none of yuv420p, nv12 or device frames ({formats})")


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


def configure_video(
    encoder: str, layer: LayerConfig, *, preset: str = "veryfast", threads: int = 0
) -> tuple[av.VideoCodecContext, InputFormat]:
    """An encoder context for `layer`, set up but not opened, and how frames go into it.

    Raises av.FFmpegError (or ValueError for an unknown name or a format it cannot take).
    """
    try:
        formats = codec_formats(encoder)
    except ValueError as exc:  # UnknownCodecError
        raise ValueError(f"this FFmpeg has no encoder {encoder}") from exc
    fmt = input_format(encoder, formats)
    # Device frames need the device: PyAV builds the frames context (sw_format nv12) at
    # open() and uploads each software frame we hand it.
    hwaccel = HWAccel(fmt.device) if fmt.device is not None else None
    ctx = av.CodecContext.create(encoder, "w", hwaccel=hwaccel)
    if not isinstance(ctx, av.VideoCodecContext):
        raise ValueError(f"{encoder} is not a video encoder")
    ctx.width, ctx.height = layer.size.width, layer.size.height
    ctx.pix_fmt = fmt.pix_fmt
    if fmt.uploads:
        ctx.sw_format = fmt.frame_format
    ctx.time_base = Fraction(1) / layer.rate
    ctx.framerate = layer.rate
    ctx.bit_rate = layer.bitrate
    ctx.gop_size = layer.keyint
    ctx.max_b_frames = 0
    if threads:
        ctx.thread_count = threads
    ctx.options = encoder_options(encoder, layer, preset)
    return ctx, fmt


def open_video(
    encoder: str, layer: LayerConfig, *, preset: str = "veryfast", threads: int = 0
) -> tuple[av.VideoCodecContext, InputFormat]:
    """An opened encoder for `layer`; frames go in as InputFormat.frame_format with pts in
    1/fps units. Raises av.FFmpegError (or ValueError) when it cannot open."""
    ctx, fmt = configure_video(encoder, layer, preset=preset, threads=threads)
    ctx.open()
    return ctx, fmt
