"""aiortc tracks that hand out pre-encoded packets: aiortc's encoders `pack()` them as they
are (H.264 into RTP FU-A/STAP-A, Opus as is), so nothing is decoded or re-encoded.

The gateway's viewers give aiortc a `PacketTrack` for what the SDP and the sender need (kind,
msid, stop), but their send loop (rtpsend.py) reads the ring itself and never calls
`recv()`; `recv()` keeps the track usable with aiortc's own sender."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from cloud.gateway.units import Ring, Unit

TIME_BASE_90K = Fraction(1, 90000)


class PacketTrack(MediaStreamTrack):
    """`recv()` returns the next unit of one ring as an `av.Packet` on the 90 kHz clock;
    aiortc converts to the RTP clock of the codec (90 kHz video, 48 kHz Opus)."""

    def __init__(self, kind: str, ring: Ring[Unit]) -> None:
        super().__init__()
        self.kind = kind
        self._ring = ring

    async def recv(self) -> av.Packet[Any]:
        unit = await self._ring.get()
        if unit is None:
            self.stop()
            raise MediaStreamError
        packet = av.Packet(unit.data)
        packet.pts = unit.pts
        packet.time_base = TIME_BASE_90K
        return packet

    def stop(self) -> None:
        self._ring.close()
        super().stop()
