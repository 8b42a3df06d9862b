"""The simulcast encoder: every program frame into each layer, with its own Opus, off the clock.

One encode thread reads the program clock's bounded queue (the clock never waits: when the
encoder falls behind, the queue drops the oldest frame and counts it). Per tick it encodes
each layer in order (hi first, so the layer most sensitive to latency never waits for
another): that layer's Opus, then its picture, and hands the layer's unit to its sink at
once. Sinks must not block (a sender puts the unit on its own bounded queue).

Each layer has its own Opus encoder (hi 64 kbps stereo, lo 24 kbps mono: config.py says
why) fed the same program samples, so the packets differ in bytes but not in pts. An Opus
encode of 20 ms costs a fraction of a millisecond (bench/layer_rates.py measures it), far
less than a second thread's hand-off would.

One thread rather than one per layer: PyAV releases the GIL while x264 encodes and x264
splits each frame across its own slice threads, so a second Python thread buys no
parallelism, only a second hand-off (bench/encode.py measures both the CPU and latency).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import av

from media.clock import OutputFrame
from media.encode.audio import OpusEncoder
from media.encode.codecs import open_video
from media.encode.config import EncoderConfig, to_pts90
from media.encode.detect import FELL_BACK, EncoderChoice, choose_encoder
from media.encode.meter import RateMeter
from media.encode.units import EncodedAudio, LayerUnit
from media.encode.video import ContextOpener, LayerEncoder
from media.fanout import DropOldestQueue

log = logging.getLogger(__name__)

Sink = Callable[[LayerUnit], None]


@dataclass(frozen=True, slots=True)
class LayerEncodeStats:
    name: str
    width: int
    height: int
    fps: float  # frames encoded per second, over the last 2 s
    kbps: float  # video + audio bytes handed to the sender, over the last 2 s
    audio_packets: int  # this layer's Opus packets
    audio_cpu_s: float  # thread CPU its Opus encoder has used
    encode_ms_p50: float  # scale + encode per frame, over the last 600 frames
    encode_ms_p99: float
    frames: int
    idrs: int
    errors: int


@dataclass(frozen=True, slots=True)
class EncoderStats:
    encoder: str
    ticks: int  # program frames taken from the queue
    queue_drops: int  # program frames the clock dropped because the encoder was behind
    audio_packets: int  # Opus packets per layer (each layer encodes the same 20 ms frames)
    layers: dict[str, LayerEncodeStats]


class SimulcastEncoder:
    def __init__(
        self,
        config: EncoderConfig | None = None,
        *,
        choice: EncoderChoice | None = None,
        opener: ContextOpener = open_video,
    ) -> None:
        """`choice` skips choose_encoder (tests); `opener` opens each layer's context."""
        self.config = config or EncoderConfig()
        self._choice = choice or choose_encoder(self.config.encoder)
        self._layers = {
            layer.name: LayerEncoder(
                layer,
                self._choice.name,
                preset=self.config.preset,
                threads=self.config.threads,
                opener=opener,
            )
            for layer in self.config.layers
        }
        self._audio: dict[str, OpusEncoder] = {}
        for layer in self.config.layers:
            audio = self.config.layer_audio(layer.name)
            if audio is not None:
                self._audio[layer.name] = OpusEncoder(audio)
        self._sinks: dict[str, Sink] = {}
        self._meters = {name: RateMeter() for name in self._layers}
        self._idrs = dict.fromkeys(self._layers, 0)
        self._errors = dict.fromkeys(self._layers, 0)
        self._ticks = 0
        self._audio_packets = dict.fromkeys(self._layers, 0)
        self._queue: DropOldestQueue[OutputFrame] | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(self._layers)

    @property
    def choice(self) -> EncoderChoice:
        """The encoder in use and why; after a hardware encoder failed on any layer, the
        libx264 that took over (the layers that had not failed yet follow at their next
        error, if any)."""
        for layer in self._layers.values():
            if layer.failed:
                return EncoderChoice(layer.encoder, FELL_BACK, failed=layer.failed)
        return self._choice

    @property
    def encoder(self) -> str:
        """The FFmpeg encoder in use ("libx264", "h264_nvenc", ...)."""
        return self.choice.name

    def set_sink(self, layer: str, sink: Sink | None) -> None:
        """Where `layer`'s units go (None: nowhere). Set before start or any time after."""
        if layer not in self._layers:
            raise KeyError(layer)
        sinks = dict(self._sinks)  # replaced, never mutated: the encode thread reads it
        if sink is None:
            sinks.pop(layer, None)
        else:
            sinks[layer] = sink
        self._sinks = sinks

    def request_keyframe(self, layer: str | None = None) -> None:
        """An IDR on `layer` (or every layer) at the next frame it encodes; any thread."""
        for name, encoder in self._layers.items():
            if layer is None or layer == name:
                encoder.request_keyframe()

    # -- the thread ----------------------------------------------------------------------

    def start(self, queue: DropOldestQueue[OutputFrame]) -> None:
        """Encode what arrives on `queue` (ProgramClock.subscribe("program", ...))."""
        if self._thread is not None:
            return
        if self._stopping.is_set():
            raise RuntimeError("a stopped encoder cannot be restarted; make a new one")
        self._queue = queue
        self._thread = threading.Thread(target=self._run, name="encode", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop and join the thread (the queue stays open: its owner closes it)."""
        self._stopping.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                log.warning("encode thread did not stop within %.1f s", timeout)

    def _run(self) -> None:
        queue = self._queue
        assert queue is not None
        while not self._stopping.is_set():
            item = queue.get(timeout=0.2)
            if item is None:
                if queue.closed:
                    break
                continue
            try:
                self.encode_tick(item)
            except Exception:  # one bad tick must not end the output
                log.exception("encoding program tick %d failed", item.pts)

    # -- one tick (public so tests and benchmarks can drive it without a clock) ----------

    def encode_tick(self, item: OutputFrame) -> dict[str, LayerUnit]:
        """Encode one program frame into every layer and hand the units to the sinks.

        Returns each layer's unit for this tick (the one carrying its audio). An encoder
        with a pipeline delay may hand back more than one picture at once: the earlier
        ones go to the sink first, as units of their own.
        """
        self._ticks += 1
        pts90 = to_pts90(item.pts, item.time_base)
        last: dict[str, LayerUnit] = {}
        for name, encoder in self._layers.items():
            audio = self._encode_audio(name, item)
            units = self._encode_layer(name, encoder, item, pts90, audio)
            last[name] = units[-1]
            sink = self._sinks.get(name)
            if sink is not None:
                for unit in units:
                    try:
                        sink(unit)
                    except Exception:  # a sink's bug must not stop the other layers
                        log.exception("layer %s: sink failed", name)
        return last

    def _encode_audio(self, name: str, item: OutputFrame) -> tuple[EncodedAudio, ...]:
        opus = self._audio.get(name)
        if opus is None or item.audio is None:
            return ()
        try:
            audio = tuple(opus.encode(item.audio))
        except (av.FFmpegError, ValueError):
            log.exception("layer %s: audio encode failed at pts %d", name, item.pts)
            return ()
        self._audio_packets[name] += len(audio)
        return audio

    def _encode_layer(
        self,
        name: str,
        encoder: LayerEncoder,
        item: OutputFrame,
        pts90: int,
        audio: tuple[EncodedAudio, ...],
    ) -> list[LayerUnit]:
        try:
            videos = encoder.encode(item.frame, pts90, item.pts)
        except (av.FFmpegError, ValueError):
            # One bad frame must not end the stream; the next frame is an IDR so a viewer
            # that lost a reference recovers at once.
            log.exception("layer %s: encode failed at pts %d", name, item.pts)
            self._errors[name] += 1
            encoder.request_keyframe()
            videos = []
        meter, now = self._meters[name], time.monotonic()
        units = [LayerUnit(name, video, (), item.time) for video in videos[:-1]]
        units.append(LayerUnit(name, videos[-1] if videos else None, audio, item.time))
        for unit in units:
            if unit.video is not None:
                self._idrs[name] += int(unit.video.idr)
                meter.add(now, unit.nbytes, unit.video.encode_ms)
            elif unit.audio:
                meter.add_bytes(now, unit.nbytes)
        return units

    # -- stats ---------------------------------------------------------------------------

    def stats(self) -> EncoderStats:
        now = time.monotonic()
        layers = {}
        for name, encoder in self._layers.items():
            meter = self._meters[name]
            reading = meter.reading(now)
            size = encoder.layer.size
            layers[name] = LayerEncodeStats(
                name=name,
                width=size.width,
                height=size.height,
                fps=reading.fps,
                kbps=reading.kbps,
                audio_packets=self._audio_packets[name],
                audio_cpu_s=opus.cpu_s if (opus := self._audio.get(name)) else 0.0,
                encode_ms_p50=reading.p50_ms,
                encode_ms_p99=reading.p99_ms,
                frames=meter.count,
                idrs=self._idrs[name],
                errors=self._errors[name],
            )
        drops = self._queue.dropped if self._queue is not None else 0
        packets = max(self._audio_packets.values(), default=0)
        return EncoderStats(self.encoder, self._ticks, drops, packets, layers)

    def layer_encoder(self, name: str) -> str:
        """The encoder layer `name` uses now (a layer falls back on its own)."""
        return self._layers[name].encoder
