"""The owner's side of an edge pull: the publisher's MPEG-TS, teed to each pulling process.

An edge calls the owner's SRT ingest with mode ``request`` and a pull token only processes
sharing the deployment's JWT secret can make (`pull_token`). Its connection subscribes to
the session layer; the publisher's demux thread hands every piece of TS it reads to each
subscriber's bounded queue (`TeeReader`), and the subscriber's own thread sends it. A slow
edge loses pieces (counted), never the publisher. A new subscriber starts at a PAT (the
director's muxer puts PAT + PMT before every IDR), so the edge's demuxer finds its streams
and a keyframe at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import queue
import threading
from dataclasses import dataclass, field

from cloud.gateway.linkhealth import TS_PACKET, CheckedReader
from media.srt import SrtConnection, SrtError

log = logging.getLogger(__name__)

QUEUE_PIECES = 512  # ~0.5 MB: 4 s of hi; an edge further behind than that drops
IDLE_S = 5.0  # nothing to send this long (no publisher): the pull ends, the edge asks again
_PULL_CONTEXT = b"returnfeed srt pull v1:"


def pull_token(secret: str, session_id: str) -> str:
    """The credential an edge pulls `session_id` with: 43 characters of base64url, valid
    in a streamid, derived from the secret every process of one deployment shares."""
    mac = hmac.new(secret.encode(), _PULL_CONTEXT + session_id.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def pat_offset(data: bytes) -> int | None:
    """Where the first TS packet of PID 0 (the PAT) starts in `data`, if any."""
    for at in range(0, len(data) - 3, TS_PACKET):
        if data[at] == 0x47 and (data[at + 1] & 0x1F) == 0 and data[at + 2] == 0:
            return at
    return None


@dataclass(eq=False)
class _Subscriber:
    conn: SrtConnection
    pieces: queue.Queue[bytes] = field(default_factory=lambda: queue.Queue(QUEUE_PIECES))
    started: bool = False  # a PAT has been queued: the stream may begin
    dropped: int = 0


class Egress:
    """Every session layer's pulling edges; `forward` on demux threads, `serve` on the
    subscriber's own thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[_Subscriber]] = {}  # "<session>/<layer>" -> subscribers

    def pullers(self, resource: str) -> int:
        with self._lock:
            return len(self._subs.get(resource, ()))

    def forward(self, resource: str, data: bytes) -> None:
        with self._lock:
            subs = list(self._subs.get(resource, ()))
        for sub in subs:
            if not sub.started:
                at = pat_offset(data)
                if at is None:
                    continue
                data, sub.started = data[at:], True
            try:
                sub.pieces.put_nowait(data)
            except queue.Full:
                sub.dropped += 1

    def serve(self, resource: str, conn: SrtConnection) -> None:
        """Send the layer to one edge until it leaves or nothing comes for IDLE_S."""
        sub = _Subscriber(conn)
        with self._lock:
            self._subs.setdefault(resource, set()).add(sub)
        log.info("edge %s:%s pulls %s", *conn.peer, resource)
        try:
            while True:
                try:
                    data = sub.pieces.get(timeout=IDLE_S)
                except queue.Empty:
                    return
                conn.send(data)
        except SrtError as exc:
            log.info("edge pull of %s ended: %s", resource, exc)
        finally:
            with self._lock:
                subs = self._subs.get(resource)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del self._subs[resource]
            conn.close()
            if sub.dropped:
                log.warning("edge pull of %s dropped %d pieces (slow edge)", resource, sub.dropped)


class TeeReader(CheckedReader):
    """The publisher's reader, handing what the demuxer reads to the layer's edges too."""

    def __init__(
        self, conn: SrtConnection, timeout: float | None, egress: Egress, resource: str
    ) -> None:
        super().__init__(conn, timeout)
        self._egress = egress
        self._resource = resource

    def read(self, n: int = -1) -> bytes:
        data = super().read(n)
        if data:
            self._egress.forward(self._resource, data)
        return data
