"""Noticing a listener that vanished without a word (killed, its host gone).

libsrt itself takes about 5 s to call such a link broken, whatever the peer-idle timeout
(it also waits out 16 expiry periods of at least 300 ms). A receiver that is alive
acknowledges every 10 ms while data arrives, so a sender that keeps sending and hears no
ACK for much longer than that is talking to nobody: it reconnects at once, which is what
brings the stream back quickly when a crashed backend restarts on the same port.
"""

from __future__ import annotations


class AckSilence:
    """Feed it the link's running totals; `silent_for` says how long ACKs have been missing
    while we kept sending, and `dead` whether that passed the limit."""

    def __init__(self, limit_s: float) -> None:
        if limit_s <= 0:
            raise ValueError("the ACK silence limit must be > 0")
        self.limit_s = limit_s
        self._acks: int | None = None
        self._sent_at_ack = 0
        self._heard_at = 0.0
        self._sent = 0

    def update(self, now: float, sent_total: int, acks_total: int) -> None:
        if self._acks is None or acks_total != self._acks:
            self._acks, self._heard_at, self._sent_at_ack = acks_total, now, sent_total
        self._sent = sent_total

    def silent_for(self, now: float) -> float:
        """Seconds without an ACK while packets went out since the last one (0: all fine)."""
        if self._acks is None or self._sent <= self._sent_at_ack:
            return 0.0  # nothing sent since the last ACK: silence proves nothing
        return now - self._heard_at

    def dead(self, now: float) -> bool:
        return self.silent_for(now) > self.limit_s
