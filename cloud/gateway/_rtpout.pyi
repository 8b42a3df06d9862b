"""Types of the C extension `_rtpout.c`."""

from collections.abc import Callable
from typing import Any

HISTORY: int
MAX_PACKET: int

class PacketTooLong(ValueError): ...
class SrtpFailed(RuntimeError): ...

class Stream:
    payload_type: int
    ssrc: int
    clock_rate: int
    rtx_payload_type: int | None
    rtx_ssrc: int
    sequence_number: int
    timestamp_origin: int
    rtx_sequence_number: int
    packets: int
    octets: int
    last_timestamp: int
    def __init__(
        self,
        payload_type: int,
        ssrc: int,
        clock_rate: int,
        rtx_payload_type: int | None = None,
        rtx_ssrc: int = 0,
        sequence_number: int = 0,
        timestamp_origin: int = 0,
        rtx_sequence_number: int = 0,
    ) -> None: ...
    def send(
        self,
        context: int,
        fd: int,
        address: Any,
        spill: Callable[[bytes, Any], object],
        extension: bytes,
        abs_at: int,
        pts: int,
        payloads: tuple[bytes, ...],
    ) -> int: ...
    def stamp(self, pts: int, payloads: tuple[bytes, ...]) -> tuple[int, int]: ...
    def sent(self, sequence_number: int) -> tuple[int, int, int, bytes] | None: ...

def set_protect(address: int) -> None: ...
def counters() -> dict[str, Any]: ...
def set_gso(on: bool) -> None: ...

class Seat:
    owner: object
    error: BaseException | None
    took: bool
    audio: bool
    last_pts: int
    last_src: int
    def __init__(
        self,
        *,
        owner: object,
        stream: Stream,
        session: object,
        context: int,
        fd: int,
        address: Any,
        spill: Callable[[bytes, Any], object],
        extension: bytes,
        abs_at: int,
        audio: bool,
        dtls: object,
        connected: object,
        nominated: dict[Any, Any],
        pair: object,
        carrier: object,
        sender_state: dict[str, Any],
        dtls_state: dict[str, Any],
        anchor_pts: int,
        anchor_ntp: int,
        offset: int,
        last_pts: int,
        last_src: int,
    ) -> None: ...
    def sync(self) -> None: ...

class Lane:
    seats: list[Seat]
    def __init__(self) -> None: ...
    def __len__(self) -> int: ...
    def send(self, pts: int, payloads: tuple[bytes, ...]) -> list[Seat]: ...
    def add(self, seat: Seat) -> None: ...
    def remove(self, seat: Seat) -> bool: ...
    def sync(self) -> None: ...
