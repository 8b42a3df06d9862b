"""An NDI test sender: a moving, labelled picture on one solid colour, sent with ndi-python.

`returnfeed ndi-test` (or `python -m media.ndi_test_sender`) puts a real NDI source on
this machine, for the demo and the end-to-end tests when no camera or NDI tool is around.
Receivers find it by IP (`--ndi-extra-ips 127.0.0.1`): mDNS often finds nothing.

The picture is a solid background (orange unless told otherwise: no colour of the test
pattern's bars, so a viewer tells this source from them at a glance, and so can a test),
a white box that bounces, the source's name, and a capture stamp (media/stamp.py) in the
top rows, so the same latency tools read it as they read the test pattern.

With the picture goes sound: a 1 kHz sine at -20 dBFS (`--tone-hz`, 0 for none), one audio
frame per video frame, sent just before it so both carry the same NDI timestamp. `--sync`
is for lip-sync measurements: once a second the whole picture is white for one frame and
the audio of that frame opens with a 2 ms burst at -2 dBFS, at the very same timestamp.
`--audio-channels` and `--audio-rate` send odd formats (8 channels, 44.1 or 96 kHz).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from media.audio.meter import db_to_gain
from media.errors import NdiUnavailable
from media.font import GLYPH_H, draw_text, text_width
from media.frames import C_ZERO, Y_BLACK, Y_WHITE, Size, fill, new_buffer, rgb_to_yuv
from media.sources.ndi import NdiConfig, start_ndi
from media.stamp import draw_stamp, now_ms, stamp_height

log = logging.getLogger(__name__)

DEFAULT_NAME = "ReturnFeed Test"
DEFAULT_COLOUR = (230, 110, 20)  # orange: far from every 75 % bar colour
SIZE = Size(640, 360)
TONE_HZ = 1000.0
TONE_DBFS = -20.0  # peak, as media/audio/tone.py measures it
TICKS = 10_000_000  # NDI time units per second
CLICK_S = 0.002
CLICK_HZ = 4000.0
CLICK_LEVEL = db_to_gain(-2.0)  # far above the tone, so a threshold finds its first sample
AUDIO_RATES = (32_000, 44_100, 48_000, 88_200, 96_000)
F32 = npt.NDArray[np.float32]


def sender_audio(
    start: int, count: int, rate: int, channels: int, tone_hz: float, click: bool
) -> F32:
    """Planar (channels, count) float32 from sample `start`; `click` opens it with a burst."""
    k = np.arange(start, start + count, dtype=np.float64)
    # Phase from the absolute position reduced modulo a period: exact however long it runs.
    mono = db_to_gain(TONE_DBFS) * np.sin(2 * np.pi * np.mod(k * tone_hz, rate) / rate)
    if click:
        burst = min(count, int(CLICK_S * rate))
        mono[:burst] += CLICK_LEVEL * np.sin(2 * np.pi * CLICK_HZ * np.arange(burst) / rate)
    return np.repeat(mono.astype(np.float32)[None, :], channels, axis=0)


class SenderPicture:
    """Frame `index` as packed UYVY (h, w, 2), NDI's native format; one buffer, reused."""

    def __init__(self, name: str, size: Size, colour: tuple[int, int, int]) -> None:
        self.size = size
        w, h = size.width, size.height
        self._background = new_buffer(size)
        fill(self._background, size, rgb_to_yuv(colour))
        scale = max(1, h // 90)
        label_h = (GLYPH_H + 4) * scale
        label_w = min(w, text_width(name, scale) + 4 * scale)
        ly, lx = (h - label_h - 2 * scale) & ~1, ((w - label_w) // 2) & ~1
        self._background[ly : ly + label_h, lx : lx + label_w] = Y_BLACK
        draw_text(self._background, name, lx + 2 * scale, ly + 2 * scale, scale, Y_WHITE)
        u, v = self._planes(self._background)
        u[ly // 2 : (ly + label_h) // 2, lx // 2 : (lx + label_w) // 2] = C_ZERO
        v[ly // 2 : (ly + label_h) // 2, lx // 2 : (lx + label_w) // 2] = C_ZERO
        self._top = stamp_height(size)
        self._box = max(4, (h // 8) & ~1)
        self._frame = new_buffer(size)
        self.uyvy = np.empty((h, w, 2), np.uint8)

    def _planes(
        self, buffer: npt.NDArray[np.uint8]
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8]]:
        w, h = self.size.width, self.size.height
        quarter = (h // 2) * (w // 2)
        flat = buffer.reshape(-1)
        u = flat[w * h : w * h + quarter].reshape(h // 2, w // 2)
        v = flat[w * h + quarter :].reshape(h // 2, w // 2)
        return u, v

    def render(self, index: int, stamp_value: int) -> npt.NDArray[np.uint8]:
        w, h, box = self.size.width, self.size.height, self._box
        frame = self._frame
        frame[:] = self._background
        span = w - box
        x = abs((index * 4) % (2 * span) - span) & ~1
        y = (self._top + (h - self._top - box) // 2) & ~1
        frame[y : y + box, x : x + box] = Y_WHITE
        u, v = self._planes(frame)
        u[y // 2 : (y + box) // 2, x // 2 : (x + box) // 2] = C_ZERO
        v[y // 2 : (y + box) // 2, x // 2 : (x + box) // 2] = C_ZERO
        draw_stamp(frame, self.size, stamp_value)
        return self._to_uyvy(frame)

    def flash(self) -> npt.NDArray[np.uint8]:
        """The all-white frame of --sync."""
        self.uyvy[:, :, 0], self.uyvy[:, :, 1] = C_ZERO, Y_WHITE
        return self.uyvy

    def _to_uyvy(self, frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        h = self.size.height
        u, v = self._planes(frame)
        # I420 -> UYVY: each chroma row serves two picture rows.
        self.uyvy[:, :, 1] = frame[:h]
        self.uyvy[:, 0::2, 0] = np.repeat(u, 2, axis=0)
        self.uyvy[:, 1::2, 0] = np.repeat(v, 2, axis=0)
        return self.uyvy


class NdiTestSender:
    """Sends the picture at `fps` on its own thread until stop()."""

    def __init__(
        self,
        name: str = DEFAULT_NAME,
        *,
        fps: int = 30,
        colour: tuple[int, int, int] = DEFAULT_COLOUR,
        size: Size = SIZE,
        config: NdiConfig | None = None,
        tone_hz: float = TONE_HZ,
        sync: bool = False,
        audio_channels: int = 2,
        audio_rate: int = 48_000,
    ) -> None:
        self.name = name
        self.fps = fps
        self.tone_hz = tone_hz
        self.sync = sync  # a white frame and a click together, once a second
        self.audio_channels = audio_channels
        self.audio_rate = audio_rate
        self.frames_sent = 0
        self._picture = SenderPicture(name, size, colour)
        self._ndi: ModuleType = start_ndi(config)
        self._sender: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        settings = self._ndi.SendCreate(p_ndi_name=self.name, clock_video=False, clock_audio=False)
        self._sender = self._ndi.send_create(settings)
        if self._sender is None:
            raise NdiUnavailable(f"cannot create the NDI sender {self.name!r}")
        self._stop.clear()
        self._thread = threading.Thread(target=self._pump, name="ndi-test-sender", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        ndi = self._ndi
        size = self._picture.size
        frame = ndi.VideoFrameV2(size.width, size.height, ndi.FOURCC_VIDEO_TYPE_UYVY, self.fps, 1)
        sound = ndi.AudioFrameV2(self.audio_rate, self.audio_channels)
        with_audio = self.tone_hz > 0 or self.sync
        epoch = time.time_ns() // 100  # NDI time: 100 ns since 1970
        t0 = time.monotonic()
        index = 0
        while not self._stop.is_set():
            flash = self.sync and index % self.fps == 0
            if with_audio:
                start, end = (i * self.audio_rate // self.fps for i in (index, index + 1))
                sound.data = sender_audio(
                    start, end - start, self.audio_rate, self.audio_channels, self.tone_hz, flash
                )
                # The times are set, not left to NDI: it would stamp each frame with when it
                # was handed over, and a late wake-up would move the sound against the picture.
                sound.timestamp = epoch + start * TICKS // self.audio_rate
                ndi.send_send_audio_v2(self._sender, sound)
            frame.data = self._picture.flash() if flash else self._picture.render(index, now_ms())
            frame.timestamp = epoch + index * TICKS // self.fps
            ndi.send_send_video_v2(self._sender, frame)
            self.frames_sent += 1
            # A deadline schedule; behind by more than a frame (a loaded machine): skip ahead.
            index = max(index + 1, int((time.monotonic() - t0) * self.fps))
            self._stop.wait(max(0.0, t0 + index / self.fps - time.monotonic()))

    def connections(self) -> int:
        """Receivers connected right now."""
        return int(self._ndi.send_get_no_connections(self._sender, 0))

    def stop(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)
        sender, self._sender = self._sender, None
        if sender is not None:
            self._ndi.send_destroy(sender)


def parse_colour(text: str) -> tuple[int, int, int]:
    """'#e66e14' or '230,110,20'."""
    text = text.strip()
    try:
        if text.startswith("#") and len(text) == 7:
            return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
        r, g, b = (int(part) for part in text.split(","))
    except ValueError as exc:
        raise ValueError(f"{text!r} is not #rrggbb or r,g,b") from exc
    if not all(0 <= c <= 255 for c in (r, g, b)):
        raise ValueError(f"{text!r}: each component is 0..255")
    return (r, g, b)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default=DEFAULT_NAME, help=f"the NDI source name ({DEFAULT_NAME!r})")
    p.add_argument("--fps", type=int, default=30, choices=(25, 30, 50, 60))
    p.add_argument(
        "--colour", default="#e66e14", metavar="#RRGGBB", help="background colour (orange)"
    )
    p.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--tone-hz", type=float, default=TONE_HZ, metavar="HZ", help="sine at -20 dBFS (0: silent)"
    )
    p.add_argument(
        "--sync", action="store_true", help="a white frame and a click together, once a second"
    )
    p.add_argument(
        "--audio-channels",
        type=int,
        default=2,
        choices=range(1, 17),
        metavar="N",
        help="audio channels, each the same tone (2)",
    )
    p.add_argument(
        "--audio-rate",
        type=int,
        default=48_000,
        choices=AUDIO_RATES,
        metavar="HZ",
        help="audio sample rate (48000); 44100 and 96000 test conversion",
    )


def run(args: argparse.Namespace) -> int:
    """Send until SIGINT/SIGTERM (or --duration); 0 on a clean stop."""
    try:
        colour = parse_colour(args.colour)
    except ValueError as exc:
        print(f"returnfeed ndi-test: --colour {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        sender = NdiTestSender(
            args.name,
            fps=args.fps,
            colour=colour,
            tone_hz=args.tone_hz,
            sync=args.sync,
            audio_channels=args.audio_channels,
            audio_rate=args.audio_rate,
        )
        sender.start()
    except NdiUnavailable as exc:
        print(f"returnfeed ndi-test: {exc}", file=sys.stderr)
        return 1
    sound = f"{args.tone_hz:g} Hz tone" if args.tone_hz > 0 else "no tone"
    if args.sync:
        sound += ", flash and click each second"
    print(
        f"NDI test sender {args.name!r} is on air ({args.fps} fps, 640x360, {sound}, "
        f"{args.audio_channels} ch at {args.audio_rate} Hz).",
        flush=True,
    )
    try:
        stop.wait(args.duration)
    finally:
        sender.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="returnfeed ndi-test", description=__doc__.split("\n")[0])
    add_arguments(p)
    return run(p.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
