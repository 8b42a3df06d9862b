"""One WHEP viewer: its peer connection, its tap on the session feed, its quality manager.

The answer follows what works with aiortc (docs/gateway.md): sendonly transceivers, H.264
(+ rtx) preferred *before* the offer is applied, no ICE servers unless configured, and the
whole answer with every candidate (aiortc does not trickle).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

from cloud import logs
from cloud.gateway import iceports, playout
from cloud.gateway.feed import Tap
from cloud.gateway.iceports import IcePlan, NoFreePort
from cloud.gateway.linkreports import LinkReports
from cloud.gateway.offer import BadOffer
from cloud.gateway.packetize import SHARED_PAYLOADS, PayloadCache
from cloud.gateway.quality import LinkSample, Mode, QualityPolicy
from cloud.gateway.rtpsend import ReportClock, SharedPayloadSender
from cloud.gateway.tracks import PacketTrack

log = logging.getLogger(__name__)

STATS_INTERVAL_S = 1.0
REMB_MAX_AGE_S = 5.0  # an estimate older than this counts as unknown
CONNECT_TIMEOUT_S = 20.0
# Every viewer in the process packetizes through one cache: they all send the feed's same
# units, so each access unit is split into RTP payloads once (packetize.py).


def offers_audio(offer_sdp: str) -> bool:
    """Whether the offer has an audio section the browser would receive on."""
    sections = offer_sdp.replace("\r\n", "\n").split("\nm=")[1:]
    return any(
        section.startswith("audio ") and "a=inactive" not in section and "a=sendonly" not in section
        for section in sections
    )


@dataclass
class ViewerStats:
    loss: float | None = None
    rtt_ms: float | None = None
    bandwidth_kbps: float | None = None
    bytes_sent: int = 0


class Viewer:
    def __init__(
        self,
        viewer_id: str,
        session_id: str,
        participant_id: str,
        tap: Tap,
        policy: QualityPolicy,
        ice_servers: list[RTCIceServer],
        ice_plan: IcePlan | None,
        on_connected: Callable[[Viewer], None],
        on_closed: Callable[[Viewer], Awaitable[None]],
        on_pli: Callable[[Viewer], None],
        live_layers: Callable[[], set[str]],
        on_sample: Callable[[LinkSample], None],
        payloads: PayloadCache = SHARED_PAYLOADS,
    ) -> None:
        self.id = viewer_id
        self.session_id = session_id
        self.participant_id = participant_id
        self.tap = tap
        self.policy = policy
        self.stats = ViewerStats()
        self.connected = False
        self._on_connected = on_connected
        self._on_closed = on_closed
        self._on_pli = on_pli
        self._live_layers = live_layers
        self._on_sample = on_sample
        self._payloads = payloads
        self._ice_plan = ice_plan
        self._remb: tuple[float, float] | None = None  # (bps, monotonic time)
        self._link: LinkReports | None = None  # the video's receiver reports
        self._senders: list[SharedPayloadSender] = []
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers))
        self._video = PacketTrack("video", tap.video)
        self._audio = PacketTrack("audio", tap.audio)
        self.pc.on("connectionstatechange", self._state_changed)
        # Made while its WHEP POST is handled: every line of this viewer carries its id.
        self._log = logs.bound(log, viewer_id=viewer_id, session_id=session_id)

    async def answer(self, offer_sdp: str, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> str:
        """The answer; a viewer not connected `connect_timeout_s` later is closed."""
        pc = self.pc
        video = pc.addTransceiver(self._video, direction="sendonly")
        codecs = RTCRtpSender.getCapabilities("video").codecs
        video.setCodecPreferences(
            [c for c in codecs if c.mimeType.lower() in ("video/h264", "video/rtx")]
        )
        # The rings are read by our send loop, not through aiortc's track.recv() (rtpsend.py).
        # One report clock for both, so the browser lines sound and picture up by PTS.
        reports = ReportClock()
        self._senders = [SharedPayloadSender(video.sender, self.tap.video, self._payloads, reports)]
        self.tap.video_sink = self._senders[0].send_now
        self.tap.video_seat = self._senders[0].seat
        # An offer without audio (a phone that only shows the picture) gets none: on a
        # cellular link Opus is a third of what the lo layer costs.
        self.tap.audio_wanted = offers_audio(offer_sdp)
        if self.tap.audio_wanted:
            audio = pc.addTransceiver(self._audio, direction="sendonly")
            self._senders.append(
                SharedPayloadSender(audio.sender, self.tap.audio, self._payloads, reports)
            )
            self.tap.audio_sink = self._senders[1].send_now
            self.tap.audio_seat = self._senders[1].seat
        if self._ice_plan is not None:
            iceports.attach(pc, self._ice_plan)  # gathering binds in the port range
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except NoFreePort:
            raise  # not the offer's fault: the WHEP endpoint answers 503
        except Exception as exc:  # aiortc raises many kinds for a bad offer
            # Its text is about aiortc's internals: the log keeps it, the client gets a hint.
            self._log.info(
                "viewer %s: aiortc refused the offer: %s: %s", self.id, type(exc).__name__, exc
            )
            raise BadOffer(
                "cannot answer this offer: it parses, but does not describe media this "
                "server can send (recvonly video with H.264, ICE and DTLS)",
                "unanswerable",
            ) from None
        answer = pc.localDescription.sdp
        if "H264" not in answer:
            raise BadOffer("the offer has no H.264 to receive", "codec")
        playout_id = playout.offered_id(offer_sdp)
        if playout_id is not None:
            answer = playout.negotiate(answer, playout_id)
            self._senders[0].extra_extensions = [(playout_id, playout.element())]
        self._hook_rtcp(video.sender)
        self._task = asyncio.create_task(self._watch(connect_timeout_s))
        return answer

    def set_mode(self, mode: Mode) -> str:
        layer = self.policy.set_mode(mode)
        if layer in self._live_layers():
            self.tap.want(layer, "viewer_choice")
        return layer

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._log.info("viewer %s closed", self.id, extra={"connected": self.connected})
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
        self.tap.close()
        await self.pc.close()
        await self._on_closed(self)

    # --- internals ------------------------------------------------------------------------

    async def _state_changed(self) -> None:
        state = self.pc.connectionState
        if state == "connected" and not self.connected:
            self.connected = True
            self._log.info("viewer %s connected", self.id, extra={"layer": self.tap.wanted})
            self._on_connected(self)
        elif state in ("failed", "closed"):
            await self.close()

    def _hook_rtcp(self, sender: RTCRtpSender) -> None:
        # aiortc answers PLI/FIR by flagging its own encoder, which passthrough never uses,
        # and keeps REMB to itself: look at both on the way in, then let aiortc handle them.
        # Receiver reports give loss and RTT (linkreports.py); for RTT the send time of each
        # sender report is noted on the way out.
        link = self._link = LinkReports(sender._ssrc)
        original = sender._handle_rtcp_packet
        send_rtcp = sender._send_rtcp

        async def hooked(packet: object) -> None:
            if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
                if link.received(packet, time.monotonic()) is not None:
                    self._on_sample(self._sample())  # network_packet_loss, per report
            elif isinstance(packet, RtcpPsfbPacket):
                if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                    self._on_pli(self)
                elif packet.fmt == RTCP_PSFB_APP:
                    try:
                        bitrate, _ssrcs = unpack_remb_fci(packet.fci)
                    except ValueError:
                        pass
                    else:
                        self._remb = (float(bitrate), time.monotonic())
            await original(packet)  # type: ignore[arg-type]

        async def sending(packets: list[object]) -> None:
            for packet in packets:
                if isinstance(packet, RtcpSrPacket) and packet.ssrc == link.ssrc:
                    link.sender_report_sent(packet.sender_info.ntp_timestamp, time.monotonic())
            await send_rtcp(packets)  # type: ignore[arg-type]

        setattr(sender, "_handle_rtcp_packet", hooked)  # noqa: B010 - override one instance
        setattr(sender, "_send_rtcp", sending)  # noqa: B010

    async def _watch(self, connect_timeout_s: float) -> None:
        started = time.monotonic()
        try:
            while not self._closed:
                await asyncio.sleep(STATS_INTERVAL_S)
                if not self.connected:
                    if time.monotonic() - started > connect_timeout_s:
                        self._log.info("viewer %s never connected", self.id)
                        break
                    continue
                layer = self.policy.decide(self._sample(), time.monotonic())
                if layer in self._live_layers():
                    self.tap.want(layer, "quality")
        except asyncio.CancelledError:
            raise
        except Exception:
            self._log.exception("viewer %s quality watch failed", self.id)
        await self.close()

    def _sample(self) -> LinkSample:
        """The link as the latest receiver report and REMB describe it."""
        link = self._link
        loss = link.loss if link is not None else None
        rtt = link.rtt_ms if link is not None else None
        kbps = None
        if self._remb is not None and time.monotonic() - self._remb[1] < REMB_MAX_AGE_S:
            kbps = self._remb[0] / 1000.0
        sent = sum(s.stream.octets for s in self._senders if s.stream is not None)
        self.stats = ViewerStats(loss, rtt, kbps, sent)
        return LinkSample(loss=loss, rtt_ms=rtt, bandwidth_kbps=kbps)
