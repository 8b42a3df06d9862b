"""SRT ingest: one listener; each caller vetted during the handshake; a demux thread each.

The accept filter (`Ingest.vet`) runs on libsrt's thread before the handshake completes and
only looks at memory: the credentials cache (`IngestAuth`) and the publisher table. It
refuses a bad streamid (1400), an unknown session, a wrong or an expired token (1403) and a
second publisher of a session layer (1409, unless the streamid carries ``o=takeover``), and
sets the session's passphrase on the connection (a wrong one reaches the caller as 10).
Expiry is checked only here: a publisher that connected with a valid token keeps streaming
after it expires.

Each accepted connection gets a thread that demuxes the MPEG-TS with PyAV's low-latency
options and hands every H.264 access unit and Opus packet to the gateway untouched.
Garbage, truncated or silent streams end that connection only, logged and counted.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Protocol

import av

from cloud.gateway.linkhealth import CheckedReader, LinkDamage
from cloud.gateway.metrics import GatewayMetrics
from cloud.gateway.opus import OpusFramingError, split_opus
from cloud.gateway.repair import HoleGuard
from cloud.gateway.units import Unit
from cloud.scale.egress import Egress, TeeReader
from media.encode.nal import has_idr
from media.srt import (
    LOW_LATENCY_DEMUX,
    AcceptDecision,
    Address,
    RejectReason,
    SrtClosed,
    SrtConnection,
    SrtError,
    SrtListener,
    SrtOptions,
    SrtTimeout,
    StreamId,
    StreamIdError,
    connect,
    format_streamid,
    listen,
    parse_streamid,
)
from media.srt.streamid import PREFIX

log = logging.getLogger(__name__)

# 2048, not 32768: the larger probe holds the hi layer's first frames ~0.75 s (measured by
# the encoder's author); 500 was too small for lo. Never `nobuffer` (drops the first IDR).
DEMUX_OPTIONS = {**LOW_LATENCY_DEMUX, "probesize": "2048"}
IDLE_TIMEOUT_S = 5.0  # a publisher that sends nothing this long is dropped
# A publisher silent this long may be replaced by a new caller with the session's
# credentials: a layer sends 30-60 frames and 50 audio packets a second, so this is a dead
# link (the director's network dropped and it is reconnecting), and refusing its reconnect
# with 1409 until the idle timeout would keep viewers dark for seconds more.
STALE_S = 1.5
TAKEOVER = "o=takeover"  # streamid item: replace this layer's current publisher
OPUS_FRAME_90K = 1800  # 20 ms
HEALTH_EVERY_S = 1.0  # how often a publisher's SRT receive stats are read into the metrics
_STREAMS = {0x100: "video", 0x101: "audio"}  # media/send/ts.py's PIDs (ffmpeg's too)


def wants_takeover(streamid: str) -> bool:
    """Whether a (valid) streamid asks to replace the current publisher (``,o=takeover``)."""
    return TAKEOVER in streamid.removeprefix(PREFIX).split(",")


@dataclass(frozen=True, slots=True)
class Credentials:
    passphrase: str = field(repr=False)
    token: str = field(repr=False)
    expires_at: float  # time.time() from which the token admits no new publisher

    def expired(self, now: float) -> bool:
        return now >= self.expires_at


class IngestAuth:
    """The live sessions' SRT credentials, in memory for the accept filter (thread-safe).

    Filled from the database at start and on a timer, and updated by the REST API the moment
    it creates, rotates, renews or ends a session (`put` / `drop`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._creds: dict[str, Credentials] = {}

    def replace(self, creds: dict[str, Credentials]) -> None:
        with self._lock:
            self._creds = dict(creds)

    def put(self, session_id: str, creds: Credentials) -> None:
        with self._lock:
            self._creds[session_id] = creds

    def drop(self, session_id: str) -> None:
        with self._lock:
            self._creds.pop(session_id, None)

    def get(self, session_id: str) -> Credentials | None:
        with self._lock:
            return self._creds.get(session_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._creds)


class IngestEvents(Protocol):
    """What the ingest tells its owner. Called on ingest threads: hand over, never block."""

    def unit(self, session_id: str, unit: Unit) -> None: ...
    def publisher_up(self, session_id: str, layer: str, peer: str) -> None: ...
    def publisher_down(self, session_id: str, layer: str) -> None: ...
    def credentials_missed(self, session_id: str) -> None:
        """A caller named a session the cache has no (or other) credentials for: they may
        have been created, rotated or renewed through another backend process."""

    def video_hole(self, session_id: str, layer: str) -> None:
        """A layer's video has a hole SRT could not repair and is held to the next IDR:
        ask the director for one now (repair.py)."""


class Ingest:
    def __init__(
        self,
        host: str,
        port: int,
        latency_ms: int,
        auth: IngestAuth,
        events: IngestEvents,
        metrics: GatewayMetrics,
        packet_filter: str | None = None,
        scale: IngestScale | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._latency_ms = latency_ms
        self._packet_filter = packet_filter
        self._auth = auth
        self._events = events
        self._metrics = metrics
        self._lock = threading.Lock()
        self._publishers: dict[str, SrtConnection] = {}  # "<session>/<layer>" -> connection
        self._heard: dict[str, float] = {}  # resource -> monotonic time of its last packet
        self._threads: set[threading.Thread] = set()
        self._listener: SrtListener | None = None
        self._accepting: threading.Thread | None = None
        self.errors = 0  # streams that ended in an error
        self._damage: dict[str, LinkDamage] = {}  # resource -> since this process started
        self._scale = scale
        self.egress = Egress()

    @property
    def address(self) -> Address:
        assert self._listener is not None, "not started"
        return self._listener.address

    def start(self) -> None:
        self._listener = listen(
            self._host,
            self._port,
            SrtOptions(latency_ms=self._latency_ms, packet_filter=self._packet_filter),
            backlog=64,
            accept_filter=self.vet,
        )
        self._accepting = self._spawn(self._accept_loop, "srt-accept")

    @property
    def listening(self) -> bool:
        """Bound and accepting: without its accept thread a bound port would take no one."""
        listener, accepting = self._listener, self._accepting
        return (
            listener is not None
            and not listener.closed
            and accepting is not None
            and accepting.is_alive()
        )

    def close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            conns = list(self._publishers.values())
        for conn in conns:
            conn.close()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def damage(self, session_id: str, layer: str) -> LinkDamage:
        """What a session layer's SRT links lost, rebuilt and could not recover (all its
        connections since this process started; read once a second while one is up)."""
        with self._lock:
            return self._damage.get(f"{session_id}/{layer}", LinkDamage())

    def kick(self, session_id: str) -> None:
        """Close the session's publishers (ended, or its credentials were rotated)."""
        with self._lock:
            conns = [c for r, c in self._publishers.items() if r.startswith(session_id + "/")]
        for conn in conns:
            conn.close()

    # --- libsrt's thread -----------------------------------------------------------------

    def vet(self, streamid: str, peer: Address) -> AcceptDecision:
        try:
            sid = parse_streamid(streamid)
        except StreamIdError as exc:
            return self._refuse(RejectReason.BAD_REQUEST, f"bad streamid from {peer[0]}: {exc}")
        scale = self._scale
        if sid.mode != "publish" and scale is None:
            return self._refuse(RejectReason.BAD_MODE, f"{sid.resource}: mode {sid.mode}")
        creds = self._auth.get(sid.session_id)
        if creds is None:
            self._events.credentials_missed(sid.session_id)
            return self._refuse(RejectReason.FORBIDDEN, f"{sid.resource}: no such live session")
        if scale is not None:
            if sid.mode == "request":  # an edge (egress.py): the deployment's pull token
                wanted = scale.pull_token(sid.session_id).encode()
                if not hmac.compare_digest(sid.token.encode(), wanted):
                    return self._refuse(RejectReason.FORBIDDEN, f"{sid.resource}: bad pull token")
                with self._lock:
                    published = sid.resource in self._publishers
                if not published:
                    # An accepted pull would make the layer live on the edge, and a viewer
                    # there start on it, while no byte comes. The edge asks again soon (and
                    # a director publishing one layer makes it ask all show: hence quiet).
                    why = f"{sid.resource}: not published here"
                    return self._refuse(RejectReason.NOTFOUND, why, "not_published", logging.DEBUG)
                return AcceptDecision.allow(passphrase=creds.passphrase)
            if not scale.owns(sid.session_id):  # the app reads the owner again on a 1403
                why = f"{sid.resource}: another process owns this session's ingest"
                return self._refuse(RejectReason.FORBIDDEN, why, counted_as="not_owner")
        if not hmac.compare_digest(sid.token.encode(), creds.token.encode()):
            self._events.credentials_missed(sid.session_id)
            return self._refuse(RejectReason.FORBIDDEN, f"{sid.resource}: wrong publish token")
        if creds.expired(time.time()):  # wall time: the expiry is a date in the database
            self._events.credentials_missed(sid.session_id)
            why = f"{sid.resource}: publish token expired"
            return self._refuse(RejectReason.FORBIDDEN, why, counted_as="expired")
        with self._lock:
            busy = sid.resource in self._publishers
        if busy and not self._replaceable(sid.resource, streamid):
            return self._refuse(RejectReason.CONFLICT, f"{sid.resource} already has a publisher")
        return AcceptDecision.allow(passphrase=creds.passphrase)

    def _replaceable(self, resource: str, streamid: str) -> bool:
        """A new caller may replace the layer's publisher: asked to, or that one is silent."""
        heard = self._heard.get(resource)
        stale = heard is not None and time.monotonic() - heard >= STALE_S
        return stale or wants_takeover(streamid)

    def _refuse(
        self,
        reason: RejectReason,
        why: str,
        counted_as: str | None = None,
        level: int = logging.INFO,
    ) -> AcceptDecision:
        counted = counted_as or reason.name.lower()
        log.log(level, "SRT caller refused (%d): %s", int(reason), why, extra={"reason": counted})
        self._metrics.ingest_refused.labels(counted).inc()
        return AcceptDecision.reject(reason)

    # --- our threads ---------------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> threading.Thread:
        thread = threading.Thread(target=self._run, args=(target, *args), name=name, daemon=True)
        self._threads.add(thread)
        thread.start()
        return thread

    def _run(self, target: Callable[..., None], *args: object) -> None:
        try:
            target(*args)
        finally:
            self._threads.discard(threading.current_thread())

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while True:
            try:
                conn = listener.accept()
            except SrtClosed:
                return
            except SrtError as exc:
                if listener.closed:
                    return
                log.warning("SRT accept failed: %s", exc)
                continue
            self._spawn(self._serve, f"srt-demux-{conn.socket_id}", conn)

    def _serve(self, conn: SrtConnection) -> None:
        try:
            sid = parse_streamid(conn.streamid)
        except StreamIdError:  # vetted already; only a libsrt surprise gets here
            conn.close()
            return
        if sid.mode == "request":
            self.egress.serve(sid.resource, conn)
            return
        self.pull(sid, conn)

    def pull(self, sid: StreamId, conn: SrtConnection) -> None:
        """Take `conn` as the layer's publisher until it ends (on this thread): a caller the
        listener accepted, or an edge's pull from the session's owner (cloud/scale/edge.py)."""
        with self._lock:
            old = self._publishers.get(sid.resource)
            if old is not None and not self._replaceable(sid.resource, conn.streamid):
                old = conn  # lost a race with another caller: the first one stays
            else:
                self._publishers[sid.resource] = conn
                self._heard[sid.resource] = time.monotonic()
        if old is conn:
            self._metrics.ingest_refused.labels("conflict").inc()
            conn.close()
            return
        if old is not None:
            log.info("%s replaced by %s:%s", sid.resource, *conn.peer, extra=_fields(sid))
            old.close()
        peer = f"{conn.peer[0]}:{conn.peer[1]}"
        log.info("SRT publisher %s from %s", sid.resource, peer, extra=_fields(sid, peer=peer))
        self._metrics.publishers.inc()
        self._events.publisher_up(sid.session_id, sid.layer, peer)
        try:
            self._demux(sid, conn)
        except SrtTimeout:
            self._failed(sid, "idle", f"nothing received for {IDLE_TIMEOUT_S} s")
        except (av.FFmpegError, SrtError, ValueError) as exc:
            self._failed(sid, "bad_stream", f"{type(exc).__name__}: {exc}")
        except Exception:
            log.exception("SRT publisher %s failed", sid.resource, extra=_fields(sid))
            self._failed(sid, "internal", "unexpected error")
        finally:
            with self._lock:
                mine = self._publishers.get(sid.resource) is conn
                if mine:
                    del self._publishers[sid.resource]
                    self._heard.pop(sid.resource, None)
            conn.close()
            self._metrics.publishers.dec()
            if mine:
                self._events.publisher_down(sid.session_id, sid.layer)
            log.info("SRT publisher %s left", sid.resource, extra=_fields(sid))

    def _failed(self, sid: StreamId, reason: str, detail: str) -> None:
        self.errors += 1
        self._metrics.ingest_errors.labels(reason).inc()
        log.warning(
            "SRT stream %s ended: %s", sid.resource, detail, extra=_fields(sid, reason=reason)
        )

    def _demux(self, sid: StreamId, conn: SrtConnection) -> None:
        reader = TeeReader(conn, IDLE_TIMEOUT_S, self.egress, sid.resource)
        try:
            with av.open(reader, "r", format="mpegts", options=DEMUX_OPTIONS) as container:
                if not container.streams.video:
                    raise ValueError("the stream has no video")
                self._demux_packets(sid, container, reader)
        finally:
            self._account(sid, reader)  # the tail, while libsrt may still have it

    def _account(self, sid: StreamId, reader: CheckedReader) -> None:
        """Add what this connection lost, rebuilt or could not recover since the last look
        to the metrics and to `damage`."""
        with contextlib.suppress(SrtError):  # gone with the link: the last look stands
            reader.totals = LinkDamage.of(reader.conn.stats())
        new = reader.take()
        if new == LinkDamage():
            return
        self._metrics.srt_packets_lost.labels(sid.layer).inc(new.lost)
        self._metrics.srt_packets_fec_rebuilt.labels(sid.layer).inc(new.fec_rebuilt)
        self._metrics.srt_packets_unrecovered.labels(sid.layer).inc(new.unrecovered)
        for pid, count in reader.new_gaps().items():
            stream = _STREAMS.get(pid, "other")
            self._metrics.ts_continuity_errors.labels(sid.layer, stream).inc(count)
        with self._lock:
            self._damage[sid.resource] = self._damage.get(sid.resource, LinkDamage()) + new

    def _demux_packets(
        self, sid: StreamId, container: av.container.InputContainer, reader: CheckedReader
    ) -> None:
        next_look = time.monotonic() + HEALTH_EVERY_S
        video_pid = container.streams.video[0].id
        guard = HoleGuard()
        for packet in container.demux():
            now = time.monotonic()
            self._heard[sid.resource] = now  # one writer: this thread
            if now >= next_look:
                next_look = now + HEALTH_EVERY_S
                self._account(sid, reader)
            if packet.size == 0 or packet.pts is None:
                continue
            kind = packet.stream.type
            pts = _to_90k(packet.pts, packet.time_base)
            data = bytes(packet)
            if kind == "video":
                idr = has_idr(data)
                admit = guard.admit(packet.pos, idr, reader.continuity.gap_at.get(video_pid))
                if admit.ask_keyframe:
                    self._metrics.video_holes.labels(sid.layer).inc()
                    self._events.video_hole(sid.session_id, sid.layer)
                if not admit.forward:
                    self._metrics.video_held_units.labels(sid.layer).inc()
                    continue
                unit = Unit("video", sid.layer, pts, data, idr=idr)
                self._events.unit(sid.session_id, unit)
                self._metrics.units.labels("video").inc()
            elif kind == "audio":
                try:
                    packets = split_opus(data)
                except OpusFramingError:  # one bad audio packet: skip it, keep the stream
                    self._metrics.ingest_errors.labels("bad_audio_packet").inc()
                    continue
                for i, opus in enumerate(packets):
                    unit = Unit("audio", sid.layer, pts + i * OPUS_FRAME_90K, opus)
                    self._events.unit(sid.session_id, unit)
                self._metrics.units.labels("audio").inc()


class IngestScale(Protocol):
    """What the ingest asks when several processes share sessions (docs/scale.md)."""

    def owns(self, session_id: str) -> bool:
        """Whether this process holds the session's ingest lease (memory only)."""
        ...

    def pull_token(self, session_id: str) -> str:
        """The token an edge must bring to pull the session from this process."""
        ...


def pull_connection(
    address: tuple[str, int], sid: StreamId, passphrase: str, latency_ms: int
) -> SrtConnection:
    """An edge's SRT call to the session's owner, to pull `sid`'s layer (mode request)."""
    streamid = format_streamid(sid)
    options = SrtOptions(latency_ms=latency_ms, passphrase=passphrase, streamid=streamid)
    return connect(*address, options)


def _to_90k(pts: int, time_base: Fraction | None) -> int:
    if time_base is None or time_base == Fraction(1, 90000):
        return int(pts)
    return int(pts * time_base * 90000)


def _fields(sid: StreamId, **more: str) -> dict[str, str]:
    """A publisher's fields on its log lines (docs/monitoring.md, Logs); never its token."""
    return {"session_id": sid.session_id, "layer": sid.layer, **more}
