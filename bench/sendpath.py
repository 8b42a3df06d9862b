"""The gateway's per-packet-per-viewer send path alone: where the microseconds go.

Run from the repository root:

    python -m bench.sendpath [--viewers 200] [--seconds 5] [--mux] [--profile] [--asyncio]
                            [--no-seats]

No network peers: N viewers are made of the real parts the gateway's send path uses (a
`Tap` per viewer on one `SessionFeed`, the shared `PayloadCache`, a `SharedPayloadSender`
per track with its `RtpStream`, a real pylibsrtp session per viewer and the real asyncio UDP
transport of an aioice `StunProtocol`), and everything aiortc would normally have set up
(DTLS state, the nominated pair, the header-extension map) is filled in by hand. The
viewers' packets go to one loopback socket per viewer that nobody reads (what the kernel
does past the socket's queue is not ours), or with `--mux` through one shared socket
(`--webrtc-udp-port`). The feed publishes hi-layer units shaped like the hard content of
bench/viewers.py (60 fps, 2-3 packets a frame, ~1 Mbps) and 50 Opus packets a second, as
fast as the CPU allows; the result is the process's CPU time per RTP packet per viewer, in
microseconds (`us_per_packet`), and with `--profile` cProfile's top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import socket
import time
from typing import Any

import pylibsrtp
import uvloop
from aioice.ice import CandidatePair, StunProtocol
from aiortc.rtcdtlstransport import State as DtlsState
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpParameters,
)
from aiortc.rtp import HeaderExtensionsMap

from cloud.gateway.feed import SessionFeed, Tap
from cloud.gateway.rtpsend import _SENDER, SharedPayloadSender
from cloud.gateway.units import Unit

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


class _Track:
    def stop(self) -> None:
        pass


class _Transport:
    """What SharedPayloadSender reads of aiortc's RTCDtlsTransport."""

    def __init__(self, srtp: pylibsrtp.Session, pair: CandidatePair) -> None:
        self._state = DtlsState.CONNECTED
        self._tx_srtp = srtp
        connection = type("Connection", (), {})()
        connection._nominated = {1: pair}
        self.transport = type("IceTransport", (), {"_connection": connection})()

    async def _send_rtp(self, data: bytes) -> None:
        raise AssertionError("a plain UDP pair never goes through aiortc")


class _Sender:
    """What SharedPayloadSender reads of aiortc's RTCRtpSender."""

    def __init__(self, kind: str, transport: _Transport) -> None:
        extensions = HeaderExtensionsMap()
        ids = {MID_URI: 1, ABS_SEND_TIME_URI: 3} if kind == "video" else {MID_URI: 1}
        extensions.configure(
            RTCRtpParameters(
                headerExtensions=[RTCRtpHeaderExtensionParameters(i, u) for u, i in ids.items()]
            )
        )
        state = {
            "rtp_started": asyncio.Event(),
            "rtp_exited": asyncio.Event(),
            "mid": "0" if kind == "video" else "1",
            "rtp_header_extensions_map": extensions,
            "packet_count": 0,
            "octet_count": 0,
            "ntp_timestamp": 0,
            "rtp_timestamp": 0,
            "rtx_payload_type": 97 if kind == "video" else None,
        }
        for name, value in state.items():
            setattr(self, _SENDER + name, value)
        self._ssrc = random.getrandbits(32)
        self._rtx_ssrc = random.getrandbits(32)
        self.transport = transport
        self.track = _Track()

    async def _retransmit(self, sequence_number: int) -> None:
        pass


def _srtp_session() -> pylibsrtp.Session:
    key = os.urandom(30)
    policy = pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND)
    return pylibsrtp.Session(policy)


async def _pair(
    loop: asyncio.AbstractEventLoop, shared: asyncio.DatagramTransport | None
) -> tuple[CandidatePair, socket.socket, asyncio.BaseTransport | None]:
    """An aioice pair whose protocol's transport sends to a loopback socket nobody reads."""
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    # Other programs' stray datagrams to a port we reuse are ignored, not parsed.
    receiver = type(
        "Receiver",
        (),
        {"protocol_lost": lambda self, p: None, "data_received": lambda self, d, c: None},
    )()
    protocol = StunProtocol(receiver)
    own = None
    if shared is None:
        own, _ = await loop.create_datagram_endpoint(lambda: protocol, local_addr=("127.0.0.1", 0))
        sock = own.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    else:
        from cloud.gateway.udpmux import _MuxedTransport, _SocketMux

        mux = shared.get_protocol()
        assert isinstance(mux, _SocketMux)
        protocol.connection_made(_MuxedTransport(mux, protocol))
    pair = type("Pair", (), {})()
    pair.protocol = protocol
    pair.remote_addr = sink.getsockname()
    return pair, sink, own  # type: ignore[return-value]


def _units(seconds: float, rng: random.Random) -> list[Unit]:
    """`seconds` of the hi layer: 60 fps video (IDR every 2 s), 50 Opus packets a second."""
    out: list[Unit] = []
    frames = int(60 * seconds)
    for i in range(frames):
        pts = i * 1500
        idr = i % 120 == 0
        size = 20000 if idr else rng.randint(1300, 3400)  # ~1 Mbps, 2-3 packets a frame
        nal = b"\x65" if idr else b"\x41"
        out.append(Unit("video", "hi", pts, b"\x00\x00\x00\x01" + nal + os.urandom(size), idr))
        if i % 6 != 5:  # 50 a second
            out.append(Unit("audio", "hi", pts, os.urandom(160)))
    return out


async def run(
    viewers: int, seconds: float, mux: bool, profile: bool, seats: bool = True
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rng = random.Random(1)
    shared = None
    if mux:
        from cloud.gateway.udpmux import _SocketMux

        shared, _ = await loop.create_datagram_endpoint(
            lambda: _SocketMux(("127.0.0.1", 0), lambda reason: None),
            local_addr=("127.0.0.1", 0),
        )
        shared.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024
        )
    feed = SessionFeed("bench")
    keep: list[Any] = []
    senders: list[SharedPayloadSender] = []
    for _ in range(viewers):
        tap = Tap("hi", lambda layer, reason: None)
        pair, sink, own = await _pair(loop, shared)
        transport = _Transport(_srtp_session(), pair)
        for kind, ring in (("video", tap.video), ("audio", tap.audio)):
            sender = _Sender(kind, transport)
            s = SharedPayloadSender(sender, ring, _shared_cache(), None)  # type: ignore[arg-type]
            pt = 102 if kind == "video" else 111
            clock = 90000 if kind == "video" else 48000
            codec = RTCRtpCodecParameters(mimeType=f"{kind}/x", clockRate=clock, payloadType=pt)
            task = asyncio.ensure_future(s._run(codec))
            keep.append(task)
            senders.append(s)
            if kind == "video":
                tap.video_sink = s.send_now
                tap.video_seat = s.seat if seats else None
            else:
                tap.audio_sink = s.send_now
                tap.audio_seat = s.seat if seats else None
        keep += [sink, own]
        feed.join(tap)
    await asyncio.sleep(0)  # every send loop has started
    units = _units(2.0, rng)
    profiler = cProfile.Profile() if profile else None
    times0, t0 = os.times(), time.monotonic()
    sent0 = sum(s.stream.packets for s in senders if s.stream is not None)
    pts_base = 0
    if profiler is not None:
        profiler.enable()
    while time.monotonic() - t0 < seconds:
        for unit in units:
            feed.publish(Unit(unit.kind, unit.layer, unit.pts + pts_base, unit.data, unit.idr))
            await asyncio.sleep(0)  # let queued work (if any) run, as the real loop would
        pts_base += 240 * 1500
    if profiler is not None:
        profiler.disable()
    times = os.times()
    user, system = times.user - times0.user, times.system - times0.system
    cpu = user + system
    sent = sum(s.stream.packets for s in senders if s.stream is not None) - sent0
    dropped = sum(t.video.dropped + t.audio.dropped for t in feed.taps)
    seated = feed.seated
    for tap in list(feed.taps):
        feed.leave(tap)
        tap.close()
    await asyncio.gather(*[t for t in keep if isinstance(t, asyncio.Future)])
    for item in keep:
        if isinstance(item, (socket.socket, asyncio.BaseTransport)):
            item.close()
    if shared is not None:
        shared.close()
    out: dict[str, Any] = {
        "viewers": viewers,
        "mux": mux,
        "cpu_s": round(cpu, 3),
        "packets": sent,
        "us_per_packet": round(1e6 * cpu / sent, 2) if sent else None,
        "user_us_per_packet": round(1e6 * user / sent, 2) if sent else None,
        "system_us_per_packet": round(1e6 * system / sent, 2) if sent else None,
        "dropped_units": dropped,
        "seated": seated,
        "loadavg": os.getloadavg(),
    }
    if profiler is not None:
        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(25)
    return out


_CACHE: Any = None


def _shared_cache() -> Any:
    global _CACHE
    if _CACHE is None:
        from cloud.gateway.packetize import PayloadCache

        _CACHE = PayloadCache()
    return _CACHE


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--viewers", type=int, default=200)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--mux", action="store_true", help="one shared UDP socket (udpmux)")
    p.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    p.add_argument("--asyncio", action="store_true", help="the standard event loop, not uvloop")
    p.add_argument(
        "--no-seats", action="store_true", help="every viewer through Tap.offer, none seated"
    )
    args = p.parse_args()
    # uvloop, as returnfeed-cloud runs (uvicorn picks it when installed); --asyncio for
    # the standard loop.
    main = run(args.viewers, args.seconds, args.mux, args.profile, not args.no_seats)
    print(json.dumps(asyncio.run(main) if args.asyncio else uvloop.run(main)))


if __name__ == "__main__":
    main()
