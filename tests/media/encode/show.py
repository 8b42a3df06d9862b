"""The sender tests' show: a test pattern with a tone on a real program clock, sent by a
SimulcastOutput to whatever targets a test gives (the `show` fixture in conftest.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from media.clock import ProgramClock
from media.encode.config import EncoderConfig
from media.send.backoff import BackoffPolicy
from media.send.output import SimulcastOutput
from media.send.target import LAN, SrtTarget
from media.sources.testpattern import TestPatternSource
from media.srt import (
    AcceptDecision,
    Address,
    RejectReason,
    StreamId,
    StreamIdError,
    format_streamid,
    parse_streamid,
)
from tests.media.encode.support import PASSPHRASE

SESSION = "show1"
TOKEN = "publish-token-0123456789"
FAST = BackoffPolicy(first_s=0.1, max_s=0.5, rejected_first_s=5.0)


def streamid(layer: str, token: str = TOKEN) -> str:
    return format_streamid(StreamId(SESSION, layer, token))


def target(port: int, layer: str, **kw: Any) -> SrtTarget:
    fields: dict[str, Any] = {"streamid": streamid(layer), "passphrase": PASSPHRASE}
    fields.update(kw)
    return SrtTarget("127.0.0.1", port, profile=LAN, **fields)


def vet(sid: str, peer: Address) -> AcceptDecision:
    """The gateway's check, in memory: our session and token, else FORBIDDEN."""
    try:
        parsed = parse_streamid(sid)
    except StreamIdError:
        return AcceptDecision.reject(RejectReason.BAD_REQUEST)
    if parsed.session_id != SESSION or parsed.token != TOKEN:
        return AcceptDecision.reject(RejectReason.FORBIDDEN)
    return AcceptDecision.allow(passphrase=PASSPHRASE)


class Show:
    def __init__(self, source: TestPatternSource, clock: ProgramClock) -> None:
        self.source, self.clock = source, clock
        self.outputs: list[SimulcastOutput] = []

    def send(self, targets: Mapping[str, SrtTarget], **kw: Any) -> SimulcastOutput:
        kw.setdefault("backoff", FAST)
        output = SimulcastOutput(self.clock, targets, EncoderConfig(encoder="libx264"), **kw)
        self.outputs.append(output)
        output.start()
        return output
