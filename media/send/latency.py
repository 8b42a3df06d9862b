"""The SRT latency a layer asks for, from the link it runs over: RTT and loss, measured.

SRT plays each packet at send time + latency; a lost packet can only be repaired if a
retransmission arrives before then. The receiver asks for it when it notices the gap (the
next packet's arrival, up to a frame or an audio packet later), and libsrt's receiver asks
again for every packet still missing at each periodic NAK report, every max(20 ms, RTT/2)
(its live congestion control, LiveCC, halves RTT + 4 RTTVar). So the n-th chance to repair
a loss lands about `notice + RTT + (n - 1) x NAK period` after the packet was due, and each
chance fails if the request or the retransmission is lost (~2 x loss).

`LatencyRule` gives a loss as many chances as it takes to leave at most `residual` of all
packets unrepaired (1e-5: at the hi layer's ~100 packets a second on a camera's picture,
one every ~15 minutes at the worst loss a choice covers, one every ~40 minutes at a steady
1 %; the gateway turns such a hole into a short freeze and asks for a keyframe, rather than
a broken picture until the next one: cloud/gateway/repair.py):

    latency = margin + RTT + (chances - 1) x NAK period

The value goes into SRTO_LATENCY on the caller; libsrt plays at the larger of the two
sides' values, so the backend's own (`--srt-latency-ms`, 20 by default) is the floor for
every sender.

Where the numbers come from (`LinkMemory`, one per output, both layers feeding it):
the time a connect took (two round trips: induction and conclusion), then libsrt's own RTT
estimate and the share of packets the receiver reported lost, every second while
connected. libsrt's sender counts a packet once per report that names it after it was
retransmitted, so a loss is counted ~1 + RTT / NAK period times (3x on long paths:
measured 5.7 % on a 2 % path); `LinkMemory` divides that out. A layer's first connection
uses the profile's latency; once the measured link asks for something clearly different
the sender reconnects once with it (`should_retune`), and every later connection starts
with the value the link asks for.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

_RTT_WEIGHT = 0.25
# Loss is counted over packets, older ones fading: after this many newer packets one weighs
# 1/e (~35 s of both layers on a camera's picture). A new link starts as if this many had
# gone through clean, so the few losses of its first seconds do not read as a bad path.
_LOSS_MEMORY_PACKETS = 4000.0
_LOSS_PRIOR_PACKETS = 200.0
NAK_MIN_MS = 20.0  # libsrt LiveCC's shortest periodic NAK interval


def nak_period_ms(rtt_ms: float) -> float:
    """How often libsrt's receiver asks again for packets still missing."""
    return max(NAK_MIN_MS, rtt_ms / 2)


def reports_per_loss(rtt_ms: float) -> float:
    """How many loss reports the sender counts for one lost packet: the first, then each
    periodic report in the round trip before the retransmission lands (a uniform phase)."""
    return 1.0 + rtt_ms / nak_period_ms(rtt_ms)


@dataclass(frozen=True, slots=True)
class LinkEstimate:
    """What is known of the path to one listener."""

    rtt_ms: float
    loss: float  # fraction of packets lost on the way (before any repair)
    source: str  # "handshake" (connect time / 2) or "srt" (libsrt's estimate while sending)
    packets: float = 0.0  # packets behind `loss`, older ones fading (prior included)


@dataclass(frozen=True, slots=True)
class LatencyChoice:
    """The SRT latency a connection asks for, and why, in words for the director."""

    latency_ms: int
    why: str  # "70 ms: RTT 30 ms + 20, 2 repair chances (loss 1.0 %)", "120 ms: wan profile ..."
    rtt_ms: float | None = None
    loss: float | None = None
    derived: bool = False  # from the measured link (False: an override or the profile)

    def describe(self) -> str:
        return self.why


@dataclass(frozen=True, slots=True)
class LatencyRule:
    """latency = clamp(ceil(margin + RTT + (chances - 1) x NAK period), floor, cap), with as
    many repair chances as keep the unrepaired share under `residual` (`chances`)."""

    floor_ms: int = 20
    cap_ms: int = 2000
    margin_ms: int = 20  # the gap before a loss is noticed (a 60 fps frame), and slack
    residual: float = 1e-5  # of all packets, left unrepaired at most
    max_chances: int = 8

    def __post_init__(self) -> None:
        if not 0 <= self.floor_ms <= self.cap_ms:
            raise ValueError("need 0 <= floor_ms <= cap_ms")

    def chances(self, loss: float) -> int:
        """Repair chances a loss needs: a packet stays lost when it and every request or
        retransmission for it are lost, `loss x (2 x loss) ** chances`."""
        for n in range(1, self.max_chances):
            if loss * (2 * loss) ** n <= self.residual:
                return n
        return self.max_chances

    def choose(self, link: LinkEstimate) -> LatencyChoice:
        n = self.chances(link.loss)
        period = nak_period_ms(link.rtt_ms)
        raw = self.margin_ms + link.rtt_ms + (n - 1) * period
        latency = min(self.cap_ms, max(self.floor_ms, math.ceil(raw)))
        rounds = f"{n} repair chance" if n == 1 else f"{n} repair chances"
        why = (
            f"{latency} ms: RTT {link.rtt_ms:.0f} ms + {self.margin_ms}, {rounds}"
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
        """One stats interval of a connection: libsrt's RTT, packets sent and the loss
        reports the sender counted (repeats divided out: `reports_per_loss`)."""
        if rtt_ms <= 0 or sent <= 0:
            return
        unique = min(float(sent), max(0, lost) / reports_per_loss(rtt_ms))
        with self._lock:
            old = self._links.get(address)
            if old is None or old.source != "srt":
                old = LinkEstimate(rtt_ms, 0.0, "srt", _LOSS_PRIOR_PACKETS)
            rtt = old.rtt_ms + _RTT_WEIGHT * (rtt_ms - old.rtt_ms)
            fade = math.exp(-sent / _LOSS_MEMORY_PACKETS)
            packets = old.packets * fade + sent
            loss = (old.loss * old.packets * fade + unique) / packets
            self._links[address] = LinkEstimate(rtt, loss, "srt", packets)

    def choose(self, address: str, fallback_ms: int, fallback_why: str) -> LatencyChoice:
        link = self.get(address)
        if link is None:
            return LatencyChoice(fallback_ms, f"{fallback_ms} ms: {fallback_why}")
        return self.rule.choose(link)
