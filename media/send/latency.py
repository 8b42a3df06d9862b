"""The SRT latency a layer asks for, from the link it runs over: RTT and loss, measured.

SRT plays each packet at send time + latency; a lost packet can only be repaired if a
retransmission arrives before then. One repair takes the time to notice the gap (the next
packet's arrival, up to a frame or an audio packet later) plus a round trip; a repair that
is itself lost (as likely as any packet) takes about one more round trip and the periodic
NAK. So the latency is `k x RTT + margin`, with k growing with the loss: at 1 % loss a
second round is needed every ~50 losses, at 0.1 % every ~500 (`LatencyRule`). The value
goes into SRTO_LATENCY on the caller; libsrt plays at the larger of the two sides' values,
so the backend's own (`--srt-latency-ms`, 20 by default) is the floor for every sender.

Where the numbers come from (`LinkMemory`, one per output, both layers feeding it):
the time a connect took (two round trips: induction and conclusion), then libsrt's own RTT
estimate and the share of packets the receiver reported lost, every second while
connected. A layer's first connection uses the profile's latency; once the measured link
asks for something clearly different the sender reconnects once with it (`should_retune`),
and every later connection starts with the value the link asks for.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

_LOSS_WEIGHT = 0.1  # each second's loss share moves the estimate this much (~10 s memory)
_RTT_WEIGHT = 0.25


@dataclass(frozen=True, slots=True)
class LinkEstimate:
    """What is known of the path to one listener."""

    rtt_ms: float
    loss: float  # fraction of packets the receiver reported lost (before any repair)
    source: str  # "handshake" (connect time / 2) or "srt" (libsrt's estimate while sending)
    seconds: int = 0  # seconds of measurement behind `loss`


@dataclass(frozen=True, slots=True)
class LatencyChoice:
    """The SRT latency a connection asks for, and why, in words for the director."""

    latency_ms: int
    why: str  # "52 ms: RTT 31 ms x 1.5 + 6 (loss 1.0 %)", "120 ms: wan profile, no RTT yet"
    rtt_ms: float | None = None
    loss: float | None = None
    derived: bool = False  # from the measured link (False: an override or the profile)

    def describe(self) -> str:
        return self.why


@dataclass(frozen=True, slots=True)
class LatencyRule:
    """latency = clamp(ceil(k x RTT + margin), floor, cap), k by loss (`multiplier`)."""

    floor_ms: int = 20
    cap_ms: int = 2000
    margin_ms: int = 20  # the gap before a loss is noticed, and scheduling slack
    # (loss up to, k): one repair round below 0.2 %, two up to ~2 %, more beyond.
    steps: tuple[tuple[float, float], ...] = (
        (0.002, 1.5),
        (0.005, 2.0),
        (0.02, 2.5),
        (0.05, 3.0),
        (0.10, 4.0),
    )
    worst: float = 6.0  # k above the last step

    def __post_init__(self) -> None:
        if not 0 <= self.floor_ms <= self.cap_ms:
            raise ValueError("need 0 <= floor_ms <= cap_ms")

    def multiplier(self, loss: float) -> float:
        for limit, k in self.steps:
            if loss <= limit:
                return k
        return self.worst

    def choose(self, link: LinkEstimate) -> LatencyChoice:
        k = self.multiplier(link.loss)
        raw = k * link.rtt_ms + self.margin_ms
        latency = min(self.cap_ms, max(self.floor_ms, math.ceil(raw)))
        why = (
            f"{latency} ms: RTT {link.rtt_ms:.0f} ms x {k:g} + {self.margin_ms}"
            f" (loss {100 * link.loss:.1f} %)"
        )
        if latency == self.floor_ms and raw < self.floor_ms:
            why += f", floor {self.floor_ms}"
        elif latency == self.cap_ms and raw > self.cap_ms:
            why += f", cap {self.cap_ms}"
        return LatencyChoice(latency, why, link.rtt_ms, link.loss, derived=True)


def should_retune(current_ms: int, wanted: LatencyChoice) -> bool:
    """Whether a live connection at `current_ms` is worth a reconnect to get `wanted`:
    only a clear difference (a reconnect costs viewers a moment), never for an override."""
    if not wanted.derived:
        return False
    gap = abs(wanted.latency_ms - current_ms)
    return gap >= max(15, 0.25 * current_ms)


class LinkMemory:
    """RTT and loss per listener address, from every connection of an output (thread-safe:
    each layer's sender thread writes). A handshake time only fills a gap: libsrt's own
    estimate, once there, is better."""

    def __init__(self, rule: LatencyRule | None = None) -> None:
        self.rule = rule or LatencyRule()
        self._lock = threading.Lock()
        self._links: dict[str, LinkEstimate] = {}

    def get(self, address: str) -> LinkEstimate | None:
        with self._lock:
            return self._links.get(address)

    def handshake(self, address: str, connect_s: float) -> None:
        """A connect took `connect_s`: two round trips (induction, conclusion)."""
        rtt = max(0.0, connect_s * 1000 / 2)
        with self._lock:
            if address not in self._links:
                self._links[address] = LinkEstimate(rtt, 0.0, "handshake")

    def measured(self, address: str, rtt_ms: float, sent: int, lost: int) -> None:
        """One stats interval of a connection: libsrt's RTT, packets sent and reported lost."""
        if rtt_ms <= 0 or sent <= 0:
            return
        share = min(1.0, max(0, lost) / sent)
        with self._lock:
            old = self._links.get(address)
            if old is None or old.source != "srt":
                self._links[address] = LinkEstimate(rtt_ms, share, "srt", 1)
                return
            rtt = old.rtt_ms + _RTT_WEIGHT * (rtt_ms - old.rtt_ms)
            # Loss: the running mean for the first seconds, then an exponential average.
            weight = max(_LOSS_WEIGHT, 1 / (old.seconds + 1))
            loss = old.loss + weight * (share - old.loss)
            self._links[address] = LinkEstimate(rtt, loss, "srt", old.seconds + 1)

    def choose(self, address: str, fallback_ms: int, fallback_why: str) -> LatencyChoice:
        link = self.get(address)
        if link is None:
            return LatencyChoice(fallback_ms, f"{fallback_ms} ms: {fallback_why}")
        return self.rule.choose(link)
