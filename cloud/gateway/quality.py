"""Which layer a viewer should get: a pure decision over link samples, unit-tested alone.

Down (hi -> lo) when loss > 3 % or RTT > 150 ms or the receiver's bandwidth estimate is
under 200 kbps; up (lo -> hi) when loss < 1 % and RTT < 100 ms and the estimate is over
1.5 Mbps. A sample may lack a number (no receiver report yet, no REMB from this browser):
an unknown number never causes a switch down, and an unknown *bandwidth* does not block a
switch up (most browsers that negotiate transport-cc send no REMB; loss and RTT still
decide). Unknown loss or RTT does block a switch up: we only go up on evidence.

Cooldowns (5 s each, per direction): hi -> lo at most once per cooldown; lo -> hi at most
once per cooldown and not within a cooldown of the last hi -> lo, so one good sample right
after a drop does not flap back. The policy decides the *wanted* layer; the viewer's tap
makes the switch at the wanted layer's next IDR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["auto", "high", "low"]
MODES: tuple[Mode, ...] = ("auto", "high", "low")


@dataclass(frozen=True, slots=True)
class LinkSample:
    loss: float | None  # fraction 0..1 of packets lost since the last receiver report
    rtt_ms: float | None
    bandwidth_kbps: float | None  # the receiver's estimate (REMB); None when none came


@dataclass(frozen=True, slots=True)
class Thresholds:
    down_loss: float = 0.03
    down_rtt_ms: float = 150.0
    down_kbps: float = 200.0
    up_loss: float = 0.01
    up_rtt_ms: float = 100.0
    up_kbps: float = 1500.0
    cooldown_s: float = 5.0


class QualityPolicy:
    """Holds one viewer's wanted layer and when it last changed. No I/O, no clock of its own."""

    def __init__(
        self, layer: str = "hi", mode: Mode = "auto", thresholds: Thresholds | None = None
    ) -> None:
        self.thresholds = thresholds or Thresholds()
        self.layer = layer
        self.mode: Mode = mode
        self._last_down: float | None = None
        self._last_up: float | None = None
        if mode != "auto":
            self.layer = "hi" if mode == "high" else "lo"

    def set_mode(self, mode: Mode) -> str:
        """The page's override; back to `auto` keeps the current layer until samples say."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode
        if mode == "high":
            self.layer = "hi"
        elif mode == "low":
            self.layer = "lo"
        return self.layer

    def should_go_down(self, s: LinkSample) -> bool:
        t = self.thresholds
        return (
            (s.loss is not None and s.loss > t.down_loss)
            or (s.rtt_ms is not None and s.rtt_ms > t.down_rtt_ms)
            or (s.bandwidth_kbps is not None and s.bandwidth_kbps < t.down_kbps)
        )

    def may_go_up(self, s: LinkSample) -> bool:
        t = self.thresholds
        return (
            s.loss is not None
            and s.loss < t.up_loss
            and s.rtt_ms is not None
            and s.rtt_ms < t.up_rtt_ms
            and (s.bandwidth_kbps is None or s.bandwidth_kbps > t.up_kbps)
        )

    def decide(self, sample: LinkSample, now: float) -> str:
        """The layer this viewer should get after `sample` (taken at monotonic `now`)."""
        if self.mode != "auto":
            return self.layer
        cool = self.thresholds.cooldown_s
        if self.layer == "hi":
            if self.should_go_down(sample) and _since(self._last_down, now) >= cool:
                self.layer = "lo"
                self._last_down = now
        elif (
            self.may_go_up(sample)
            and _since(self._last_up, now) >= cool
            and _since(self._last_down, now) >= cool
        ):
            self.layer = "hi"
            self._last_up = now
        return self.layer


def _since(then: float | None, now: float) -> float:
    return float("inf") if then is None else now - then
