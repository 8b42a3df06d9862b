"""Go Live's program stream: the session's SRT ingest as SimulcastOutput targets, and stats.

The same pipeline as `returnfeed send` (app/send.py): the program clock feeds
`SimulcastOutput`, one SRT caller per layer, streamid = session + layer + publish token
(app/srt_targets.py builds the targets for both). Here the clock is the runtime's own and
the targets come from the backend's `GET /api/sessions/{id}/srt` answer instead of
command-line options; viewers' keyframe requests reach the output through
app/keyframes.py, as they do for `returnfeed send --cloud`. A layer refused for its
credentials (1403: the publish token expired or was rotated; 10: the passphrase was
rotated) gets them fetched again (app/srt_renewal.py), so a show on air longer than the
token lives, or through a rotation, reconnects by itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from app.keyframes import KeyframeTarget
from app.srt_targets import TargetError, layer_targets, publish_streamid
from media.encode.config import DEFAULT_LAYERS
from media.encode.detect import CHOSEN, EncoderChoice
from media.send.output import LayerStats, OutputStats, SimulcastOutput
from media.send.target import SrtTarget

LAYERS: tuple[str, ...] = tuple(layer.name for layer in DEFAULT_LAYERS)


class ProgramOutput(KeyframeTarget, Protocol):
    """What Go Live needs of `media.send.output.SimulcastOutput` (a fake in some tests)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def stats(self) -> OutputStats: ...
    def retarget(self, targets: Mapping[str, SrtTarget]) -> None: ...
    def reconnect_now(self) -> None: ...


OutputFactory = Callable[[Mapping[str, SrtTarget]], ProgramOutput]


@dataclass(frozen=True, slots=True)
class StreamLayer:
    """One layer as the Go Live panel shows it."""

    name: str
    state: str  # "connected", "connecting: host:port", "rejected: wrong passphrase (...)"
    connected: bool
    fps: float
    kbps: float
    rtt_ms: float | None
    loss_pct: float | None
    reject_code: int | None = None  # the listener's last refusal while not connected
    latency: str = (
        ""  # the SRT latency and why: "70 ms: RTT 31 ms + 20, 2 repair chances (loss 1.0 %)"
    )

    def line(self) -> str:
        if not self.connected:
            return f"{self.name}: {self.state}"
        text = f"{self.name}: {self.fps:.0f} fps · {self.kbps:.0f} kbps"
        if self.rtt_ms is not None:
            text += f" · RTT {self.rtt_ms:.0f} ms · loss {self.loss_pct or 0.0:.1f}%"
        if self.latency:
            text += f" · latency {self.latency}"
        return text


def stream_layer(stats: LayerStats) -> StreamLayer:
    return StreamLayer(
        stats.name,
        stats.state,
        stats.state == "connected",
        stats.fps,
        stats.kbps,
        stats.rtt_ms,
        stats.loss_pct,
        stats.reject_code,
        stats.latency_why,
    )


def encoder_choice(output: ProgramOutput, stats: OutputStats) -> EncoderChoice:
    """The encoder the output uses and why (a stand-in output only knows its name)."""
    if isinstance(output, SimulcastOutput):
        return output.encoder.choice
    return EncoderChoice(stats.encoder, CHOSEN)


def session_targets(
    srt_url: str,
    session_id: str,
    publish_token: str,
    passphrase: str | None,
    takeover: bool = False,
    layers: Iterable[str] = LAYERS,
    latency_ms: int | None = None,
) -> dict[str, SrtTarget]:
    """One SrtTarget per layer; ValueError with a message for the director if one cannot work.
    `takeover` asks the gateway to replace a layer's current publisher (another sender);
    `latency_ms` fixes the SRT latency (the director's setting), None follows the link."""
    try:
        streamid = publish_streamid(session_id, publish_token, takeover)
        return layer_targets(srt_url, layers, streamid, passphrase, latency_ms=latency_ms)
    except TargetError as exc:
        if exc.part == "url":
            raise ValueError(f"the backend's SRT address {srt_url!r} is not usable: {exc}") from exc
        raise ValueError(f"the session's SRT credentials are not usable: {exc}") from exc
