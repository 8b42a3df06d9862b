"""A layer's connection state, as the director sees it: words, not error codes."""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field

from media.srt import RejectReason, reject_reason_name


class LinkPhase(enum.Enum):
    IDLE = "idle"  # not started
    CONNECTING = "connecting"
    CONNECTED = "connected"
    REJECTED = "rejected"  # the listener refused us; retried after a long wait
    RETRYING = "retrying"  # no answer or the link broke; retried soon
    STOPPED = "stopped"


_REJECT_WORDS: dict[int, str] = {
    RejectReason.BADSECRET: "wrong passphrase",
    RejectReason.UNSECURE: "encryption mismatch (one side has no passphrase)",
    RejectReason.FILTER: "the listener refused our FEC settings (--srt-fec)",
    RejectReason.BAD_REQUEST: "streamid not understood",
    RejectReason.UNAUTHORIZED: "publish token not accepted",
    RejectReason.FORBIDDEN: "streamid refused (unknown session or wrong publish token)",
    RejectReason.NOTFOUND: "unknown session",
    RejectReason.OVERLOAD: "listener overloaded",
    RejectReason.NOROOM: "listener full",
    RejectReason.BACKLOG: "listener backlog full",
    RejectReason.CONFLICT: "this layer already has a publisher",
    RejectReason.DOWN: "listener shutting down",
    RejectReason.ISE: "listener error",
}

TRANSIENT_REJECTS: frozenset[int] = frozenset(
    {
        RejectReason.CONFLICT,
        RejectReason.DOWN,
        RejectReason.ISE,
        RejectReason.OVERLOAD,
        RejectReason.NOROOM,
        RejectReason.BACKLOG,
        RejectReason.TIMEOUT,
    }
)
"""Refusals that may clear by themselves (a previous connection still registered, a
restarting gateway): retried on the normal schedule rather than the long one."""


def describe_reject(code: int) -> str:
    words = _REJECT_WORDS.get(code)
    return words if words else f"refused: {reject_reason_name(code)} ({code})"


@dataclass(frozen=True, slots=True)
class LinkState:
    phase: LinkPhase
    detail: str = ""  # why: "wrong passphrase", "no answer from host:port", "connection lost"
    reject_code: int | None = None
    retry_at: float | None = None  # time.monotonic() of the next attempt
    since: float = field(default_factory=time.monotonic)

    def retry_in(self, now: float | None = None) -> float | None:
        if self.retry_at is None:
            return None
        return max(0.0, self.retry_at - (time.monotonic() if now is None else now))

    def describe(self, now: float | None = None) -> str:
        """e.g. "connected", "rejected: wrong passphrase (retry in 8.2 s)"."""
        text = self.phase.value
        if self.detail:
            text += f": {self.detail}"
        wait = self.retry_in(now)
        if wait is not None and self.phase in (LinkPhase.REJECTED, LinkPhase.RETRYING):
            text += f" (retry in {wait:.1f} s)"
        return text
