"""The gateway's owner: SRT ingest, the session feeds, the viewers, keyframe requests.

Everything here runs on the backend's event loop except the ingest's threads, which reach
it only through `call_soon_threadsafe` (the `IngestEvents` methods below).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

from aiortc import RTCIceServer
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.models import LiveSession
from cloud.gateway import admission, icelog, iceports
from cloud.gateway.feed import SessionFeed, Tap
from cloud.gateway.iceports import IcePlan, NoFreePort, PortAllocator, PortRange
from cloud.gateway.ingest import Credentials, Ingest, IngestAuth
from cloud.gateway.linkhealth import LinkDamage
from cloud.gateway.metrics import GatewayMetrics
from cloud.gateway.quality import Ceiling, LinkSample, Mode, QualityPolicy
from cloud.gateway.seedmetrics import ViewerLabels
from cloud.gateway.turn import TurnRest
from cloud.gateway.udpmux import UdpMux
from cloud.gateway.units import LAYERS, Unit
from cloud.gateway.viewer import CONNECT_TIMEOUT_S, Viewer
from cloud.scale.cluster import Cluster, ClusterConfig
from cloud.scale.notices import Notice
from media.srt import SrtError

log = logging.getLogger(__name__)

KeyframeSink = Callable[[str, str | None, str], None]  # (session, layer, reason)
KEYFRAME_MIN_INTERVAL_S = 0.5  # per session layer: a crowd joining asks once
# A request whose IDR has not come after this long is taken as lost: a joining viewer asks
# again (at SRT latency 20 ms the IDR comes ~50 ms after the request; the WAN profile 120 ms).
KEYFRAME_PENDING_S = 0.4
REFRESH_INTERVAL_S = 30.0  # credentials from the database, for changes made elsewhere
MISS_REFRESH_MIN_S = 1.0
PULL_WAIT_S = 3.0  # an offer on an edge waits this long for the owner's layers to arrive
# ... and, once one has, this much longer for the other: the first viewer starts on hi,
# not on whichever pull connected first.
LAYER_GRACE_S = 1.0


def credentials(session: LiveSession) -> Credentials:
    expires_at = session.srt_publish_token_expires_at.timestamp()
    return Credentials(session.srt_passphrase, session.srt_publish_token, expires_at)


class FeedListener(Protocol):
    """Another reader of every session's units, on the loop (the recorder): it must not
    block, and keeps its own bounded queue."""

    def unit(self, session_id: str, unit: Unit) -> None: ...
    def publisher_up(self, session_id: str, layer: str) -> None: ...
    def publisher_down(self, session_id: str, layer: str) -> None: ...
    def switches(self, live: Mapping[str, bool]) -> None: ...  # each live session's switch
    def switch(self, session_id: str, on: bool) -> None: ...  # one session's, just set


class NoPublisher(Exception):
    """The session has no SRT publisher right now."""


class UnknownViewer(Exception):
    pass


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    srt_enabled: bool = True
    srt_host: str = "127.0.0.1"
    srt_port: int = 8890
    srt_latency_ms: int = 20
    srt_fec: str | None = None  # the listener's packet filter (FEC); None: the caller's choice
    ice_servers: tuple[str, ...] = ()
    loopback_candidates: bool = False  # also offer 127.0.0.1 (a backend on loopback)
    udp_ports: PortRange | None = None  # each viewer's ICE binds one port of it (iceports.py)
    udp_port: int | None = None  # or every viewer's ICE shares this one port (udpmux.py)
    public_ips: tuple[str, ...] = ()  # also offered as host candidates, with that port
    turn: TurnRest | None = None  # TURN servers for the pages, credentials minted per caller
    max_viewers_per_session: int = 500
    max_viewers_per_token: int = 4  # one participant token's peers at a time (admission.py)
    connect_timeout_s: float = CONNECT_TIMEOUT_S  # a viewer that has not connected goes
    cluster: ClusterConfig | None = None  # several processes share sessions (docs/scale.md)


@dataclass(frozen=True, slots=True)
class SrtReadiness:
    """The SRT ingest as readiness (`/api/health`) reports it."""

    state: Literal["disabled", "listening", "not_bound"]
    host: str
    port: int  # the bound port; the configured one when not bound
    error: str | None = None  # why it could not bind


def parse_ice_server(text: str) -> RTCIceServer:
    """``stun:HOST:PORT`` or ``turn:USER:PASS@HOST:PORT[?transport=udp]`` (also turns:)."""
    scheme, sep, rest = text.partition(":")
    if not sep or scheme not in ("stun", "turn", "turns") or not rest:
        raise ValueError(f"ICE server {text.split('@')[-1]!r} is not stun:, turn: or turns:")
    if "@" in rest:
        userinfo, _, hostport = rest.rpartition("@")
        user, _, password = userinfo.partition(":")
        return RTCIceServer(urls=f"{scheme}:{hostport}", username=user, credential=password)
    return RTCIceServer(urls=text)


def offer_loopback_candidates() -> None:
    """Make aioice gather 127.0.0.1 too (it leaves loopback out), for a backend on loopback
    and for tests; harmless elsewhere, since remote peers simply fail that pair."""
    import aioice.ice as ice

    if getattr(ice.get_host_addresses, "_with_loopback", False):
        return
    original = ice.get_host_addresses

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = list(original(use_ipv4=use_ipv4, use_ipv6=use_ipv6))
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    with_loopback._with_loopback = True  # type: ignore[attr-defined]
    ice.get_host_addresses = with_loopback


def _host_addresses(loopback: bool) -> list[str]:
    """The addresses aioice gathers on (ifaddr's, loopback left out unless asked)."""
    import aioice.ice as ice

    addresses = ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
    return [*addresses, "127.0.0.1"] if loopback else addresses


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        registry: CollectorRegistry,
        db: async_sessionmaker[AsyncSession],
        keyframes: KeyframeSink,
    ) -> None:
        self.config = config
        self.metrics = GatewayMetrics(registry)
        self.auth = IngestAuth()
        self._db = db
        self._keyframes = keyframes
        self._ice = [parse_ice_server(url) for url in config.ice_servers]
        # Bound now, so a port in use stops the start (udpmux.PortInUse) before it serves.
        self._udp_mux = (
            UdpMux(config.udp_port, _host_addresses(config.loopback_candidates))
            if config.udp_port is not None
            else None
        )
        ports = self._udp_mux or (PortAllocator(config.udp_ports) if config.udp_ports else None)
        self._ice_plan = IcePlan(ports, config.public_ips) if ports is not None else None
        self._feeds: dict[str, SessionFeed] = {}
        self._viewers: dict[str, Viewer] = {}
        self._counted: dict[str, ViewerLabels] = {}  # viewer id -> its seed metric labels
        self._last_keyframe: dict[tuple[str, str], float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ingest: Ingest | None = None
        self._refresher: asyncio.Task[None] | None = None
        self._last_miss_refresh = 0.0
        self._closed = False
        self.srt_error: str | None = None
        self.listener: FeedListener | None = None  # set before start (cloud/record/)
        self.cluster = (
            Cluster(
                config.cluster,
                self.auth,
                self._has_viewers,
                self.refresh,
                config.srt_latency_ms,
                self.heard,
            )
            if config.cluster is not None and config.srt_enabled
            else None
        )
        self._telling: set[asyncio.Task[None]] = set()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        icelog.install()  # a viewer's offer must not flood the log (icelog.py)
        if self.config.loopback_candidates:
            offer_loopback_candidates()
        if self._ice_plan is not None:
            iceports.install()  # raises IncompatibleAioice now rather than at a viewer
        if self._udp_mux is not None:
            mux = self._udp_mux
            await mux.start(lambda reason: self.metrics.webrtc_udp_dropped.labels(reason).inc())
            self.metrics.webrtc_udp_mux_viewers.set_function(lambda: mux.viewers)
            log.info(
                "WebRTC: every viewer on UDP port %d of %s", mux.port, ", ".join(mux.addresses)
            )
        elif self.config.udp_ports is not None:
            ports = self.config.udp_ports
            log.info(
                "WebRTC: each viewer binds one UDP port of %s: %d viewers at most at a time",
                ports,
                ports.size,
            )
        if not self.config.srt_enabled:
            return
        await self.refresh()
        ingest = Ingest(
            self.config.srt_host,
            self.config.srt_port,
            self.config.srt_latency_ms,
            self.auth,
            self,
            self.metrics,
            packet_filter=self.config.srt_fec,
            scale=self.cluster,
        )
        try:
            ingest.start()
        except (SrtError, OSError) as exc:
            # The API and tally still work without ingest; say so loudly, once.
            self.srt_error = str(exc)
            log.error("SRT ingest is off: cannot listen on %s:%s: %s", *self._srt_at(), exc)
            return
        self._ingest = ingest
        log.info("SRT ingest on %s:%s", *ingest.address)
        self._refresher = asyncio.create_task(self._refresh_forever())
        if self.cluster is not None:
            await self.cluster.start(ingest)

    async def close(self) -> None:
        self._closed = True
        if self._refresher is not None:
            self._refresher.cancel()
        if self.cluster is not None:
            await self.cluster.close()
        for viewer in list(self._viewers.values()):
            await viewer.close()
        if self._udp_mux is not None:
            self._udp_mux.close()
        if self._ingest is not None:
            await asyncio.to_thread(self._ingest.close)

    @property
    def srt_port(self) -> int | None:
        """The port SRT publishers reach (the real one when configured as 0)."""
        return self._ingest.address[1] if self._ingest is not None else None

    def link_damage(self, session_id: str, layer: str) -> LinkDamage:
        """What the session layer's SRT links lost, FEC rebuilt and never recovered here."""
        return self._ingest.damage(session_id, layer) if self._ingest is not None else LinkDamage()

    def _srt_at(self) -> tuple[str, int]:
        return self.config.srt_host, self.config.srt_port

    @property
    def running(self) -> bool:
        """Started and not closed: it can take viewers (and publishers, see `srt_readiness`)."""
        return self._loop is not None and not self._closed

    @property
    def srt_readiness(self) -> SrtReadiness:
        host, port = self._srt_at()
        if not self.config.srt_enabled:
            return SrtReadiness("disabled", host, port)
        ingest = self._ingest
        if ingest is not None and ingest.listening:
            return SrtReadiness("listening", host, ingest.address[1])
        return SrtReadiness("not_bound", host, port, self.srt_error or "the listener stopped")

    # --- credentials -------------------------------------------------------------------------

    async def refresh(self) -> None:
        here = self._sessions_here()  # before the read: one claimed during it is live
        held = self._owned_passphrases()
        async with self._db() as db:
            rows = await db.scalars(select(LiveSession).where(LiveSession.ended_at.is_(None)))
            sessions = list(rows)
            live = {s.id: credentials(s) for s in sessions}
            self.auth.replace(live)
        if self.listener is not None:  # the recording switch, set through any process
            self.listener.switches({s.id: s.recording for s in sessions})
        if self.cluster is not None:  # ended through another process: its lease, publishers
            for session_id in here - live.keys():  # and viewers here go too
                await self._end_here(session_id)
            self._kick_rotated(held, live)

    def _owned_passphrases(self) -> dict[str, str]:
        if self.cluster is None:
            return {}
        held = {s: self.auth.get(s) for s in self.cluster.ownership.owned}
        return {s: creds.passphrase for s, creds in held.items() if creds is not None}

    def _kick_rotated(self, held: dict[str, str], live: dict[str, Credentials]) -> None:
        """A passphrase rotated through another process whose notice never came (Redis was
        away): the director still publishes here with the old one. (A rotated publish token
        alone looks like a renewal here, which must not kick: docs/scale.md.)"""
        for session_id, passphrase in held.items():
            now = live.get(session_id)
            if now is None or now.passphrase == passphrase or self._ingest is None:
                continue
            if self._owns(session_id):
                log.info(
                    "SRT passphrase of session %s changed in the database: "
                    "closing its publishers here",
                    session_id,
                )
                self._ingest.kick(session_id)

    def _sessions_here(self) -> set[str]:
        if self.cluster is None:
            return set()
        viewed = {v.session_id for v in self._viewers.values()}
        return set(self.cluster.ownership.owned) | set(self._feeds) | viewed

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL_S)
            try:
                await self.refresh()
            except Exception as exc:  # the database is away: keep the cache, try later
                log.warning("SRT credentials refresh failed: %s", exc)

    def session_changed(self, session: LiveSession, kick: bool) -> None:
        """The REST API created a session, or rotated (`kick`) or renewed its credentials."""
        self.auth.put(session.id, credentials(session))
        if kick and self._ingest is not None:
            self._ingest.kick(session.id)
        if kick and self.cluster is not None:  # the owner may be another process
            task = asyncio.create_task(self.cluster.tell("rotated", session.id))
            self._telling.add(task)
            task.add_done_callback(self._telling.discard)

    def recording_switched(self, session_id: str, on: bool) -> None:
        """The REST API set the session's recording switch: here, and (told) on the owner."""
        if self.listener is not None:
            self.listener.switch(session_id, on)
        if self.cluster is not None:
            task = asyncio.create_task(self.cluster.tell("recording", session_id))
            self._telling.add(task)
            task.add_done_callback(self._telling.discard)

    async def session_ended(self, session_id: str) -> None:
        """The REST API ended the session: here, and (told) on every other process."""
        await self._end_here(session_id)
        if self.cluster is not None:
            await self.cluster.tell("ended", session_id)

    async def heard(self, notice: Notice) -> None:
        """Another process's API ended the session, rotated its credentials or set its
        recording switch (notices.py).
        The database says what is so: a notice is only the reason to look now."""
        session_id, origin = notice.session_id, notice.origin
        async with self._db() as db:
            session = await db.get(LiveSession, session_id)
        if session is None:
            log.warning("session notice from %s: no session %s; ignored", origin, session_id)
            return
        if session.ended_at is not None:
            if session_id in self._sessions_here():
                log.info(
                    "session %s was ended through process %s: ending it here", session_id, origin
                )
                await self._end_here(session_id)
            else:
                self.auth.drop(session_id)
            return
        if notice.kind == "ended":
            log.warning(
                "session notice from %s: %s ended, but it is live in the database; ignored",
                origin,
                session_id,
            )
            return
        if notice.kind == "recording":
            if self.listener is not None and self._owns(session_id):  # only the owner records
                self.listener.switch(session_id, session.recording)
            return
        self.auth.put(session_id, credentials(session))
        if self._ingest is not None and self._owns(session_id):
            # The director's app reconnects, is refused for the old credentials and fetches
            # the new ones (app/srt_renewal.py).
            log.info(
                "SRT credentials of session %s were rotated through process %s: "
                "closing its publishers here",
                session_id,
                origin,
            )
            self._ingest.kick(session_id)

    async def _end_here(self, session_id: str) -> None:
        self.auth.drop(session_id)
        if self.cluster is not None:
            await self.cluster.session_ended(session_id)
        if self._ingest is not None:
            self._ingest.kick(session_id)
        for viewer in [v for v in self._viewers.values() if v.session_id == session_id]:
            await viewer.close()

    async def participants_left(self, session_id: str, participant_ids: list[str]) -> None:
        """Close the viewers of participants whose link was revoked or who were removed: a
        re-issued link's new ceiling (or none at all) holds from now, not from their next
        offer. Viewers on another process close when their page's next call is refused."""
        gone = set(participant_ids)
        for viewer in [v for v in self._viewers.values() if v.session_id == session_id]:
            if viewer.participant_id in gone:
                await viewer.close()

    # --- IngestEvents (called on ingest threads) -------------------------------------------

    def _hand_over(self, callback: Callable[..., None], *args: object) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed since the check
            loop.call_soon_threadsafe(callback, *args)

    def unit(self, session_id: str, unit: Unit) -> None:
        self._hand_over(self._on_unit, session_id, unit)

    def publisher_up(self, session_id: str, layer: str, peer: str) -> None:
        self._hand_over(self._on_publisher_up, session_id, layer, peer)

    def publisher_down(self, session_id: str, layer: str) -> None:
        self._hand_over(self._on_publisher_down, session_id, layer)

    def credentials_missed(self, session_id: str) -> None:
        self._hand_over(self._on_credentials_missed)

    def video_hole(self, session_id: str, layer: str) -> None:
        self._hand_over(self._on_video_hole, session_id, layer)

    # --- on the loop ------------------------------------------------------------------------

    def _on_unit(self, session_id: str, unit: Unit) -> None:
        feed = self._feeds.get(session_id)
        if feed is not None:
            feed.publish(unit)
        if self.listener is not None and self._owns(session_id):
            self.listener.unit(session_id, unit)

    def _owns(self, session_id: str) -> bool:
        """Whether this process holds the session's own publisher (an edge's pulled copy
        is the owner's to record)."""
        return self.cluster is None or self.cluster.owns(session_id)

    def _on_publisher_up(self, session_id: str, layer: str, peer: str) -> None:
        feed = self._feeds.get(session_id)
        if feed is None:
            feed = self._feeds[session_id] = SessionFeed(session_id)
        feed.publisher_up(layer, peer)
        if self.listener is not None and self._owns(session_id):
            self.listener.publisher_up(session_id, layer)

    def _on_publisher_down(self, session_id: str, layer: str) -> None:
        if self.listener is not None:
            self.listener.publisher_down(session_id, layer)
        feed = self._feeds.get(session_id)
        if feed is None:
            return
        feed.publisher_down(layer)
        if not feed.live and not feed.taps:
            del self._feeds[session_id]

    def _on_video_hole(self, session_id: str, layer: str) -> None:
        # Forced: viewers see a frozen frame until this IDR, whatever was asked just before.
        self.request_keyframe(session_id, layer, "ingest_hole", force=True)

    def _on_credentials_missed(self) -> None:
        now = time.monotonic()
        if now - self._last_miss_refresh >= MISS_REFRESH_MIN_S:
            self._last_miss_refresh = now
            task = asyncio.ensure_future(self.refresh())
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    # --- viewers ----------------------------------------------------------------------------

    def status(self, session_id: str, participant_id: str) -> dict[str, object]:
        feed = self._feeds.get(session_id)
        layers = sorted(feed.layers) if feed else []
        if not layers and self.cluster is not None and not self.cluster.owns(session_id):
            self.cluster.edges.want(session_id)  # a page about to watch: pull it from its owner
        viewers = sum(1 for v in self._viewers.values() if v.session_id == session_id)
        # The page offers with the same servers (a TURN credential goes to signed-in
        # viewers only, as TURN requires), and the --turn-url servers with a credential
        # minted for this participant now (turn.py).
        ice_servers: list[dict[str, object]] = [
            {"urls": [s.urls] if isinstance(s.urls, str) else s.urls}
            | ({"username": s.username, "credential": s.credential} if s.username else {})
            for s in self._ice
        ]
        if self.config.turn is not None:
            ice_servers.append(self.config.turn.ice_server(participant_id))
        return {
            "live": bool(layers),
            "layers": layers,
            "viewers": viewers,
            "ice_servers": ice_servers,
        }

    async def add_viewer(
        self,
        session_id: str,
        participant_id: str,
        offer_sdp: str,
        mode: Mode = "auto",
        ceiling: Ceiling = "auto",
    ) -> tuple[Viewer, str]:
        """A new viewer, starting in `mode` under its link's `ceiling`: raises NoPublisher,
        or offer.BadOffer for an offer aiortc refuses."""
        feed = self._feeds.get(session_id)
        if (feed is None or not feed.live) and self.cluster is not None:
            feed = await self._pulled(session_id)
        if feed is None or not feed.live:
            raise NoPublisher(session_id)
        if ceiling == "lo" and "lo" not in feed.layers:
            raise NoPublisher(session_id)  # a lo-only viewer never gets hi, even for a while
        limits = self.config.max_viewers_per_session, self.config.max_viewers_per_token
        admission.check(self._viewers.values(), session_id, participant_id, *limits)
        viewer_id = secrets.token_urlsafe(12)
        if self.cluster is not None:  # a balancer routes /whep/S/ID.* to process ID (scale.md)
            viewer_id = f"{self.cluster.process_id}.{viewer_id}"
        # A viewer that chose a layer starts on it: its first keyframe, and its first
        # frames, come from that layer (a phone on "low" never pays for a hi GOP).
        preferred = "lo" if mode == "low" else "hi"
        layer = preferred if preferred in feed.layers else ("hi" if preferred == "lo" else "lo")
        policy = QualityPolicy(layer, mode, ceiling=ceiling)
        layer = policy.layer  # lo under a lo ceiling, whatever was asked
        # Ask now, not when the connection is up: the IDR travels (director, encoder, SRT)
        # while the answer, ICE and DTLS happen, and the feed keeps it for the tap to start
        # from when it joins (SessionFeed.join).
        self.request_keyframe(session_id, layer, "new_viewer")

        def ask(layer: str, reason: str) -> None:
            self.request_keyframe(session_id, layer, reason)

        counted = self.metrics.viewers.joined(session_id, participant_id)

        def switched(old: str | None, new: str) -> None:
            if old is not None:
                self.metrics.viewers.switched(counted, old, new)
            self.metrics.viewers.counted(counted, new)

        tap = Tap(layer, ask, switched)
        tap.on_drop = self.metrics.viewer_drops.inc  # counted as they happen
        viewer = Viewer(
            viewer_id,
            session_id,
            participant_id,
            tap,
            policy,
            self._ice,
            ice_plan=self._ice_plan,
            on_connected=self._viewer_connected,
            on_closed=self._viewer_closed,
            on_pli=lambda v: self.request_keyframe(session_id, v.tap.active or layer, "pli"),
            live_layers=lambda: (
                set(self._feeds[session_id].layers) if session_id in self._feeds else set()
            ),
            on_sample=lambda sample: self._sampled(counted, sample),
        )
        self._viewers[viewer_id] = viewer
        self._counted[viewer_id] = counted
        try:
            answer = await viewer.answer(offer_sdp, self.config.connect_timeout_s)
        except NoFreePort as exc:
            self.metrics.viewers_refused.labels("no_udp_port").inc()
            log.warning("viewer refused: %s", exc)
            await viewer.close()
            raise
        except BaseException:
            await viewer.close()
            raise
        return viewer, answer

    def _has_viewers(self, session_id: str) -> bool:
        return any(v.session_id == session_id for v in self._viewers.values())

    async def _pulled(self, session_id: str) -> SessionFeed | None:
        """The session's feed once an edge pull from its owner is live (None: not soon)."""
        assert self.cluster is not None
        self.cluster.edges.want(session_id)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + PULL_WAIT_S
        while loop.time() < give_up:
            feed = self._feeds.get(session_id)
            if feed is not None and feed.live:
                if set(LAYERS) <= set(feed.layers):
                    return feed
                give_up = min(give_up, loop.time() + LAYER_GRACE_S)
            await asyncio.sleep(0.05)
        feed = self._feeds.get(session_id)
        return feed if feed is not None and feed.live else None

    def _sampled(self, counted: ViewerLabels, sample: LinkSample) -> None:
        if sample.loss is not None:
            self.metrics.viewers.loss(counted, sample.loss)

    def _viewer_connected(self, viewer: Viewer) -> None:
        feed = self._feeds.get(viewer.session_id)
        if feed is None:
            feed = self._feeds[viewer.session_id] = SessionFeed(viewer.session_id)
        # Taps join only now: frames queued during ICE and DTLS would only add latency.
        # The IDR asked for at POST time is fresh in the feed by now, or is on its way.
        layer = viewer.tap.wanted
        if feed.join(viewer.tap) or self._keyframe_pending(feed, layer):
            return
        self.request_keyframe(viewer.session_id, layer, "new_viewer", force=True)

    def _keyframe_pending(self, feed: SessionFeed, layer: str) -> bool:
        """Whether an IDR asked for on `layer` has not come yet (and may still come)."""
        asked = self._last_keyframe.get((feed.session_id, layer))
        if asked is None or time.monotonic() - asked > KEYFRAME_PENDING_S:
            return False
        came = feed.idr_at(layer)
        return came is None or came < asked

    async def _viewer_closed(self, viewer: Viewer) -> None:
        self._viewers.pop(viewer.id, None)
        counted = self._counted.pop(viewer.id, None)
        if counted is not None:
            self.metrics.viewers.left(counted)
        feed = self._feeds.get(viewer.session_id)
        if feed is not None:
            feed.leave(viewer.tap)
            if not feed.live and not feed.taps:
                del self._feeds[viewer.session_id]

    def viewer(self, session_id: str, viewer_id: str) -> Viewer:
        viewer = self._viewers.get(viewer_id)
        if viewer is None or viewer.session_id != session_id:
            raise UnknownViewer(viewer_id)
        return viewer

    def set_mode(self, session_id: str, viewer_id: str, mode: Mode) -> str:
        return self.viewer(session_id, viewer_id).set_mode(mode)

    def request_keyframe(
        self, session_id: str, layer: str, reason: str, *, force: bool = False
    ) -> None:
        """Ask the director for an IDR on `layer`, at most once per session layer per
        KEYFRAME_MIN_INTERVAL_S unless `force` (a viewer that would otherwise wait a GOP)."""
        now = time.monotonic()
        key = (session_id, layer)
        if not force and now - self._last_keyframe.get(key, -1e9) < KEYFRAME_MIN_INTERVAL_S:
            return
        self._last_keyframe[key] = now
        self.metrics.keyframe_requests.labels(reason).inc()
        try:
            self._keyframes(session_id, layer, reason)
        except Exception:
            log.exception("keyframe request for %s/%s failed", session_id, layer)
