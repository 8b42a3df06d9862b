"""Which layer a viewer should get: a pure decision over link samples, unit-tested alone.

Down (hi -> lo) when loss > 3 % or RTT > 150 ms or the receiver's bandwidth estimate is
under 200 kbps; up (lo -> hi) when loss < 1 % and RTT < 100 ms and the estimate is over
1.5 Mbps. A sample may lack a number (no receiver report yet, no REMB from this browser):
an unknown number never causes a switch down, and an unknown *bandwidth* does not block a
switch up (most browsers that negotiate transport-cc send no REMB; loss and RTT still
decide). Unknown loss or RTT does block a switch up: we only go up on evidence.

A receive-side estimate (REMB, what Chromium sends to aiortc, which offers no transport-cc)
says little by its level. libwebrtc raises it to at most 1.5x the rate it receives + 10 kbps
and then holds it, and lowers it only on congestion (backing off to 0.85x the received
rate). So on lo it cannot show 1.5 Mbps on any link, and after a backoff it stays under
200 kbps, lo's own cap, until hi has been sent for a while. Measured with Chromium through
a clean loopback relay: lo at ~107 kbps held the estimate at 171 kbps; hi at ~350 kbps at
~540 kbps; after a 200 ms RTT spike it fell to 74 kbps and took 20 s to climb to 146. Read
by level, the rules kept a healed viewer on lo for good (never over 1.5 Mbps) or, after a
backoff, sent it straight back down a second after each switch up (under 200 kbps). So the
estimate counts as evidence only when it falls (by more than `estimate_fall`): under
200 kbps that sends hi down, and under 1.5 Mbps it holds lo for a cooldown, like a switch
down. A steady or rising estimate is the estimator's cap or its catching up: no evidence
either way, like a missing one.

Cooldowns (5 s each, per direction): hi -> lo at most once per cooldown; lo -> hi at most
once per cooldown and not within a cooldown of the last hi -> lo, so one good sample right
after a drop does not flap back. The policy decides the *wanted* layer; the viewer's tap
makes the switch at the wanted layer's next IDR.

A ceiling (the invite link's, set by the director: docs/gateway.md, "Quality by role") sits
above all of it: under `lo` the layer is lo whatever the mode or the samples say, and a
viewer that asks for `high` is told so (`capped`) rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["auto", "high", "low"]
MODES: tuple[Mode, ...] = ("auto", "high", "low")
# What a link lets its viewers have: both layers by the network (auto), or lo only.
Ceiling = Literal["auto", "lo"]
CEILINGS: tuple[Ceiling, ...] = ("auto", "lo")
CEILING_REASON = "this link includes low quality only (the director's choice)"


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
    estimate_fall: float = 0.05  # a drop of more than this fraction is a backoff (0.85x)


class QualityPolicy:
    """Holds one viewer's wanted layer and when it last changed. No I/O, no clock of its own."""

    def __init__(
        self,
        layer: str = "hi",
        mode: Mode = "auto",
        thresholds: Thresholds | None = None,
        ceiling: Ceiling = "auto",
    ) -> None:
        if ceiling not in CEILINGS:
            raise ValueError(f"ceiling must be one of {', '.join(CEILINGS)}")
        self.thresholds = thresholds or Thresholds()
        self.ceiling: Ceiling = ceiling
        self.layer = "lo" if ceiling == "lo" else layer
        self.mode: Mode = mode
        self._last_down: float | None = None
        self._last_up: float | None = None
        self._estimate: float | None = None  # the last bandwidth estimate seen
        self._last_fall: float | None = None  # when it last fell while under up_kbps
        if mode != "auto":
            self.layer = "hi" if mode == "high" and ceiling == "auto" else "lo"

    @property
    def capped(self) -> bool:
        """Whether the viewer asked for more than its link includes (high, or auto's hi)."""
        return self.ceiling == "lo" and self.mode != "low"

    def set_mode(self, mode: Mode) -> str:
        """The page's override; back to `auto` keeps the current layer until samples say."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.mode = mode
        if self.ceiling == "lo" or mode == "low":
            self.layer = "lo"
        elif mode == "high":
            self.layer = "hi"
        return self.layer

    def should_go_down(self, s: LinkSample, estimate_fell: bool) -> bool:
        t = self.thresholds
        return (
            (s.loss is not None and s.loss > t.down_loss)
            or (s.rtt_ms is not None and s.rtt_ms > t.down_rtt_ms)
            or (estimate_fell and s.bandwidth_kbps is not None and s.bandwidth_kbps < t.down_kbps)
        )

    def may_go_up(self, s: LinkSample) -> bool:
        t = self.thresholds
        return (
            s.loss is not None
            and s.loss < t.up_loss
            and s.rtt_ms is not None
            and s.rtt_ms < t.up_rtt_ms
        )

    def _estimate_fell(self, s: LinkSample) -> bool:
        """Whether this sample's estimate is under the last one seen: a backoff."""
        if s.bandwidth_kbps is None:
            return False
        before, self._estimate = self._estimate, s.bandwidth_kbps
        return before is not None and s.bandwidth_kbps < before * (
            1 - self.thresholds.estimate_fall
        )

    def decide(self, sample: LinkSample, now: float) -> str:
        """The layer this viewer should get after `sample` (taken at monotonic `now`)."""
        t = self.thresholds
        fell = self._estimate_fell(sample)
        if fell and sample.bandwidth_kbps is not None and sample.bandwidth_kbps <= t.up_kbps:
            self._last_fall = now
        if self.mode != "auto" or self.ceiling == "lo":
            return self.layer
        cool = t.cooldown_s
        if self.layer == "hi":
            if self.should_go_down(sample, fell) and _since(self._last_down, now) >= cool:
                self.layer = "lo"
                self._last_down = now
        elif (
            self.may_go_up(sample)
            and _since(self._last_up, now) >= cool
            and _since(self._last_down, now) >= cool
            and _since(self._last_fall, now) >= cool
        ):
            self.layer = "hi"
            self._last_up = now
        return self.layer


def _since(then: float | None, now: float) -> float:
    return float("inf") if then is None else now - then
