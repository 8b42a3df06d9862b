"""What an SRT publisher's link could not repair, counted per layer.

Two views of the same damage:

- libsrt's receive statistics: packets lost on arrival (`pkt_rcv_loss`, most of them
  repaired by a retransmission or FEC), packets FEC rebuilt, and packets never delivered
  because they came too late or not at all (`pkt_rcv_drop`) or could not be decrypted
  (`pkt_rcv_undecrypt`): those are the unrecovered ones, each a hole in the stream.
- what the demuxer is handed: MPEG-TS continuity-counter gaps per PID (`ContinuityCheck`).
  A hole in the video PID is a broken picture until the next IDR; the decoder sees it.
"""

from __future__ import annotations

from dataclasses import dataclass

from media.srt import SrtConnection, SrtReader, SrtStats

TS_PACKET = 188
_NULL_PID = 0x1FFF


class ContinuityCheck:
    """MPEG-TS continuity counters, per PID, over a byte stream fed in any pieces."""

    def __init__(self) -> None:
        self._last: dict[int, int] = {}
        self._rest = b""
        self._checked = 0  # stream offset of the first byte of `_rest`
        self.errors: dict[int, int] = {}  # PID -> gaps seen
        self.gap_at: dict[int, int] = {}  # PID -> stream offset of the packet after its newest gap

    @property
    def total(self) -> int:
        return sum(self.errors.values())

    def feed(self, data: bytes) -> int:
        """Check every whole TS packet in `data` (plus what an earlier call left); the gaps
        found in it."""
        buf = self._rest + data if self._rest else data
        whole = len(buf) - len(buf) % TS_PACKET
        self._rest = bytes(buf[whole:])
        base, self._checked = self._checked, self._checked + whole
        found = 0
        for at in range(0, whole, TS_PACKET):
            if buf[at] != 0x47:
                continue  # not aligned (garbage): the demuxer will say so
            pid = ((buf[at + 1] & 0x1F) << 8) | buf[at + 2]
            flags = buf[at + 3]
            if pid == _NULL_PID or not flags & 0x10:  # no payload: the counter stays
                continue
            cc = flags & 0x0F
            last = self._last.get(pid)
            self._last[pid] = cc
            if last is None or cc in ((last + 1) & 0x0F, last):  # a repeat is allowed once
                continue
            if flags & 0x20 and buf[at + 4] > 0 and buf[at + 5] & 0x80:
                continue  # discontinuity_indicator: a new count on purpose
            self.errors[pid] = self.errors.get(pid, 0) + 1
            self.gap_at[pid] = base + at
            found += 1
        return found


@dataclass(frozen=True, slots=True)
class LinkDamage:
    """Receive-side totals of one connection (or their change since the previous look)."""

    lost: int = 0  # missing on arrival, before any repair
    fec_rebuilt: int = 0  # repaired by FEC without a retransmission
    unrecovered: int = 0  # never played: too late, never came, or not decryptable
    ts_gaps: int = 0  # continuity-counter gaps the demuxer was handed (all PIDs)

    @classmethod
    def of(cls, stats: SrtStats) -> LinkDamage:
        return cls(stats.pkt_rcv_loss, stats.pkt_rcv_filter_supply, stats.pkt_rcv_unrecovered)

    def __add__(self, other: LinkDamage) -> LinkDamage:
        return LinkDamage(
            self.lost + other.lost,
            self.fec_rebuilt + other.fec_rebuilt,
            self.unrecovered + other.unrecovered,
            self.ts_gaps + other.ts_gaps,
        )

    def since(self, earlier: LinkDamage) -> LinkDamage:
        """What grew since `earlier` (never negative: libsrt's counters only grow)."""
        return LinkDamage(
            max(0, self.lost - earlier.lost),
            max(0, self.fec_rebuilt - earlier.fec_rebuilt),
            max(0, self.unrecovered - earlier.unrecovered),
            max(0, self.ts_gaps - earlier.ts_gaps),
        )


class CheckedReader(SrtReader):
    """An SrtReader that checks the TS continuity of what it hands the demuxer, and keeps
    what has been counted of its connection's damage (`take`, `new_gaps`)."""

    def __init__(self, conn: SrtConnection, timeout: float | None = None) -> None:
        super().__init__(conn, timeout)
        self.conn = conn
        self.continuity = ContinuityCheck()
        self.totals = LinkDamage()  # libsrt's receive counters at the last look
        self._counted = LinkDamage()
        self._counted_gaps: dict[int, int] = {}

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        self.continuity.feed(data)
        return data

    def take(self) -> LinkDamage:
        """What grew since the previous `take`: libsrt's counters and the TS gaps."""
        now = LinkDamage(
            self.totals.lost,
            self.totals.fec_rebuilt,
            self.totals.unrecovered,
            self.continuity.total,
        )
        new = now.since(self._counted)
        self._counted = now
        return new

    def new_gaps(self) -> dict[int, int]:
        """Continuity gaps per PID since the previous call."""
        new = {}
        for pid, count in self.continuity.errors.items():
            if count > self._counted_gaps.get(pid, 0):
                new[pid] = count - self._counted_gaps.get(pid, 0)
                self._counted_gaps[pid] = count
        return new
