"""One SrtTarget per layer, for every program sender in the app (Go Live and `returnfeed send`).

Both name each layer's SRT connection the same way (streamid = session + layer + publish
token, or a raw streamid), share one passphrase and one latency profile, and validate every
option before anything starts; the callers only phrase the errors for their own audience.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from media.send.target import LatencyProfile, SrtTarget, parse_srt_url, profile_for
from media.srt import StreamId, StreamIdError, format_streamid

TAKEOVER = "o=takeover"  # the gateway's streamid item (docs/gateway.md)


class TargetError(ValueError):
    """A target that cannot work; `part` says which setting ("url", "streamid", "options")."""

    def __init__(self, part: str, message: str) -> None:
        super().__init__(message)
        self.part = part


def publish_streamid(
    session_id: str | None, token: str | None, takeover: bool = False
) -> Callable[[str], str]:
    """The streamid of each layer of `session_id`, carrying the publish `token`; with
    `takeover` it replaces the layer's current publisher instead of being refused (1409)."""

    def streamid(layer: str) -> str:
        if not session_id or not token:
            raise TargetError("streamid", f"layer {layer}: no session id or publish token")
        try:
            text = format_streamid(StreamId(session_id, layer, token))
            return f"{text},{TAKEOVER}" if takeover else text
        except StreamIdError as exc:
            raise TargetError("streamid", str(exc)) from exc

    return streamid


def layer_targets(
    srt_url: str,
    layers: Iterable[str],
    streamid: Callable[[str], str],
    passphrase: str | None,
    *,
    profile: LatencyProfile | None = None,
    latency_ms: int | None = None,
    packet_filter: str | None = None,
) -> dict[str, SrtTarget]:
    """`srt://host:port` and a streamid per layer -> validated targets (TargetError if not).

    The profile defaults to the listener's kind of network (LAN for loopback and private
    addresses); `latency_ms` fixes the SRT latency (otherwise it follows the measured link,
    media/send/latency.py); `packet_filter` asks for SRT's FEC (media/send/target.py).
    """
    try:
        host, port = parse_srt_url(srt_url)
    except ValueError as exc:
        raise TargetError("url", str(exc)) from exc
    profile = profile or profile_for(host)
    targets = {}
    for layer in layers:
        target = SrtTarget(
            host, port, streamid(layer), passphrase or None, profile, latency_ms, packet_filter
        )
        try:
            target.options()  # validates the passphrase length, latency and streamid size
        except ValueError as exc:
            raise TargetError("options", str(exc)) from exc
        targets[layer] = target
    return targets
