"""SimulcastOutput: the program clock to SRT, one object for the app to start and watch.

    output = SimulcastOutput(clock, {"hi": hi_target, "lo": lo_target})
    output.start()
    output.stats()            # a frozen snapshot, from any thread
    output.request_keyframe() # e.g. when the gateway says a viewer joined
    output.retarget(targets)  # e.g. a fresh publish token after a 1403 refusal
    output.stop()

Threads: the clock's, one encode thread, one sender per layer; hand-offs between them are
bounded queues that drop the oldest, so neither a slow encoder nor a slow link ever holds
up the clock.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from media.clock import OutputFrame, ProgramClock
from media.encode.config import EncoderConfig
from media.encode.simulcast import SimulcastEncoder
from media.fanout import DropOldestQueue
from media.send.backoff import BackoffPolicy
from media.send.latency import LinkMemory
from media.send.link import LinkPhase
from media.send.sender import ConnectFn, LayerSender
from media.send.target import SrtTarget
from media.srt import connect


@dataclass(frozen=True, slots=True)
class LayerStats:
    """One layer, end to end. Rates are over the last 2 s; counters since start."""

    name: str
    width: int
    height: int
    state: str  # "connected", "rejected: wrong passphrase (retry in 8.0 s)", ...
    phase: LinkPhase
    reject_code: int | None
    retry_in_s: float | None
    fps: float  # frames sent per second
    kbps: float  # TS bitrate sent
    encode_fps: float
    encode_ms_p50: float
    encode_ms_p99: float
    queue_drops: int  # program frames the encoder missed (shared by all layers) ...
    send_drops: int  # ... plus units this layer's sender dropped or failed to send
    srt_drops: int  # packets libsrt dropped as too late to send
    rtt_ms: float | None
    loss_pct: float | None  # of packets sent in the last second, reported lost by the peer
    retransmits: int | None  # packets sent again, since the connection started
    bandwidth_mbps: float | None  # libsrt's estimate of the link capacity
    send_rate_mbps: float | None
    connects: int
    rejects: int
    idrs: int
    frames_sent: int
    bytes_sent: int
    # `rejects` by reject reason (e.g. {1403: 2}): every refusal since start, whatever the
    # layer's state shows now (a layer woken by `retarget` leaves "rejected" at once).
    refusals: Mapping[int, int] = field(default_factory=dict)
    latency_ms: int | None = None  # the SRT latency this layer's connection asked for
    # "70 ms: RTT 31 ms + 20, 2 repair chances (loss 1.0 %)", "120 ms: wan profile, ..."
    latency_why: str = ""
    packet_filter: str = ""  # the FEC config both sides agreed on, "" for none
    retunes: int = 0  # reconnections made to change the latency
    packets_sent: int | None = None  # data packets this connection sent: media, again, FEC
    fec_packets: int | None = None  # ... of which FEC (its bandwidth cost)


@dataclass(frozen=True, slots=True)
class OutputStats:
    encoder: str  # "libx264", "h264_nvenc", ...
    ticks: int
    layers: tuple[LayerStats, ...]

    def layer(self, name: str) -> LayerStats:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


class SimulcastOutput:
    def __init__(
        self,
        clock: ProgramClock,
        targets: Mapping[str, SrtTarget],
        config: EncoderConfig | None = None,
        *,
        backoff: BackoffPolicy | None = None,
        connect_fn: ConnectFn = connect,
        links: LinkMemory | None = None,
    ) -> None:
        config = config or EncoderConfig()
        unknown = set(targets) - {layer.name for layer in config.layers}
        if unknown:
            raise ValueError(f"targets for layers that are not encoded: {sorted(unknown)}")
        self._clock = clock
        self.encoder = SimulcastEncoder(config)
        # RTT and loss per listener, for each layer's latency (pass one to keep it across
        # outputs: the next Go Live then starts with the latency the link asked for).
        self.links = links or LinkMemory()
        self.senders = {
            name: LayerSender(
                name,
                target,
                request_keyframe=functools.partial(self.encoder.request_keyframe, name),
                audio_channels=config.audio_channels(name),
                backoff=backoff,
                connect_fn=connect_fn,
                links=self.links,
            )
            for name, target in targets.items()
        }
        for name, sender in self.senders.items():
            self.encoder.set_sink(name, sender.offer)
        self._queue: DropOldestQueue[OutputFrame] | None = None

    def start(self) -> None:
        if self._queue is not None:
            return
        for sender in self.senders.values():
            sender.start()
        self._queue = self._clock.subscribe(
            "program", "encoder", maxsize=self.encoder.config.queue_size
        )
        self.encoder.start(self._queue)

    def stop(self) -> None:
        """Stop encoding and sending; threads joined, sockets closed. The clock keeps going."""
        queue, self._queue = self._queue, None
        if queue is not None:
            self._clock.unsubscribe("program", queue)  # closes it: the encoder thread ends
        self.encoder.stop()
        for sender in self.senders.values():
            sender.stop()

    def request_keyframe(self, layer: str | None = None) -> None:
        self.encoder.request_keyframe(layer)

    def retarget(self, targets: Mapping[str, SrtTarget]) -> None:
        """New credentials for some layers: used from each one's next connection (at once
        where a layer waits to retry); connected layers stay connected."""
        for name, target in targets.items():
            sender = self.senders.get(name)
            if sender is not None:
                sender.retarget(target)

    def reconnect_now(self) -> None:
        """Every layer waiting to retry tries now (the machine woke from sleep)."""
        for sender in self.senders.values():
            sender.reconnect_now()

    def stats(self) -> OutputStats:
        now = time.monotonic()
        encoded = self.encoder.stats()
        layers = []
        for name, enc in encoded.layers.items():
            sender = self.senders.get(name)
            sent = sender.stats() if sender is not None else None
            srt = sent.srt if sent is not None else None
            state = sent.state if sent is not None else None
            loss = None
            if srt is not None:
                loss = 100.0 * srt.interval_pkt_snd_loss / max(1, srt.interval_pkt_sent)
            layers.append(
                LayerStats(
                    name=name,
                    width=enc.width,
                    height=enc.height,
                    state=state.describe(now) if state is not None else "not sent",
                    phase=state.phase if state is not None else LinkPhase.IDLE,
                    reject_code=state.reject_code if state is not None else None,
                    retry_in_s=state.retry_in(now) if state is not None else None,
                    fps=sent.fps if sent else 0.0,
                    kbps=sent.kbps if sent else 0.0,
                    encode_fps=enc.fps,
                    encode_ms_p50=enc.encode_ms_p50,
                    encode_ms_p99=enc.encode_ms_p99,
                    queue_drops=encoded.queue_drops,
                    send_drops=(sent.queue_drops + sent.send_errors) if sent else 0,
                    srt_drops=srt.pkt_snd_drop if srt else 0,
                    rtt_ms=srt.rtt_ms if srt else None,
                    loss_pct=loss,
                    retransmits=srt.pkt_retrans if srt else None,
                    bandwidth_mbps=srt.bandwidth_mbps if srt else None,
                    send_rate_mbps=srt.send_rate_mbps if srt else None,
                    connects=sent.connects if sent else 0,
                    rejects=sent.rejects if sent else 0,
                    idrs=enc.idrs,
                    frames_sent=sent.frames_sent if sent else 0,
                    bytes_sent=sent.bytes_sent if sent else 0,
                    refusals=sent.refusals if sent else {},
                    latency_ms=sent.latency.latency_ms if sent and sent.latency else None,
                    latency_why=sent.latency.why if sent and sent.latency else "",
                    packet_filter=sent.packet_filter if sent else "",
                    retunes=sent.retunes if sent else 0,
                    packets_sent=srt.pkt_sent if srt else None,
                    fec_packets=srt.pkt_snd_filter_extra if srt else None,
                )
            )
        return OutputStats(self.encoder.encoder, encoded.ticks, tuple(layers))
