"""Shared steps of the gateway tests: a live session, a real publisher, a WHEP client."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.api import Director, bearer, create_session, invite, redeem
from tests.support.procs import Proc

T = TypeVar("T")
RETURNFEED = Path(sys.executable).with_name("returnfeed")


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: Playwright's sync API may own this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Show:
    """A live session: its SRT credentials and a redeemed viewer's participant token."""

    session_id: str
    srt: dict[str, Any]
    viewer_token: str
    viewer_invite: str

    @property
    def viewer_auth(self) -> dict[str, str]:
        return bearer(self.viewer_token)


def new_show(api: httpx.Client, director: Director) -> Show:
    session = create_session(api, director, cameras=1)
    sid = session["id"]
    srt = api.get(f"/api/sessions/{sid}/srt", headers=director.auth).json()
    link = invite(api, director, sid, "viewer")
    joined = redeem(api, link["token"])
    assert joined.status_code == 201, joined.text
    return Show(sid, srt, joined.json()["participant_token"], link["token"])


@contextmanager
def publisher(
    show: Show, srt_port: int, log: Path, layers: str = "hi,lo", duration: float | None = None
) -> Iterator[Proc]:
    """`returnfeed send` with a test pattern and tone, as the director's app would send."""
    argv = [
        str(RETURNFEED),
        "send",
        "--source",
        "test:Cam1",
        "--srt-url",
        f"srt://127.0.0.1:{srt_port}",
        # "=": a session id may start with "-", which argparse would take for an option.
        f"--session={show.session_id}",
        "--layers",
        layers,
        "--encoder",
        "libx264",
    ]
    if duration is not None:
        argv += ["--duration", str(duration)]
    env = {
        "RETURNFEED_SRT_PASSPHRASE": show.srt["passphrase"],
        "RETURNFEED_PUBLISH_TOKEN": show.srt["publish_token"],
        "PATH": "/usr/bin:/bin",
    }
    proc = Proc(argv, log, env=env)
    try:
        yield proc
    finally:
        proc.stop()


def whep_offer_sdp() -> str:
    """A real browser-like offer (aiortc as the receiving side), for API-level tests."""
    from aiortc import RTCPeerConnection

    async def make() -> str:
        pc = RTCPeerConnection()
        pc.addTransceiver("video", direction="recvonly")
        pc.addTransceiver("audio", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp: str = pc.localDescription.sdp
        with suppress(Exception):
            await pc.close()
        return sdp

    return run_async(make())


@dataclass
class Watched:
    status: int
    video_frames: int = 0
    audio_frames: int = 0
    location: str | None = None
    first_frame_s: float | None = None
    answer: str = ""
    widths: list[int] = field(default_factory=list)  # each change of decoded frame width


async def watch_with_aiortc(
    base_url: str,
    session_id: str,
    token: str,
    seconds: float,
    loopback: bool = True,
    mode_after: tuple[float, str] | None = None,
    drop_video_every: int | None = None,
    impaired_s: float = 5.0,
) -> Watched:
    """A WHEP viewer made of aiortc: POST the offer, decode what comes, DELETE at the end.

    `drop_video_every=N` impairs the link for the first `impaired_s` seconds: every Nth
    video RTP packet (by sequence number) and every retransmission is dropped on arrival,
    so the receiver reports real loss (and decodes little: most frames miss a packet).
    """
    import time

    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    if loopback:
        from cloud.gateway.gateway import offer_loopback_candidates

        offer_loopback_candidates()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    out = Watched(0)
    started = time.monotonic()
    tasks: list[asyncio.Task[None]] = []

    async def drain(track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                if not out.widths or out.widths[-1] != frame.width:
                    out.widths.append(frame.width)
                out.video_frames += 1
                if out.first_frame_s is None:
                    out.first_frame_s = time.monotonic() - started
            else:
                out.audio_frames += 1

    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(drain(track))))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        r = await client.post(
            f"/whep/{session_id}",
            content=pc.localDescription.sdp,
            headers={**bearer(token), "Content-Type": "application/sdp"},
        )
        out.status = r.status_code
        if r.status_code != 201:
            await pc.close()
            return out
        out.location = r.headers["location"]
        out.answer = r.text
        await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
        if drop_video_every is not None:
            impair(pc, r.text, drop_video_every, time.monotonic() + impaired_s)
        if mode_after is not None:
            await asyncio.sleep(mode_after[0])
            q = await client.post(
                f"{out.location}/quality", json={"mode": mode_after[1]}, headers=bearer(token)
            )
            assert q.status_code == 200, q.text
            seconds -= mode_after[0]
        await asyncio.sleep(seconds)
        await client.delete(out.location, headers=bearer(token))
    await pc.close()
    for task in tasks:
        task.cancel()
    return out


def impair(pc: Any, answer: str, every: int, until: float) -> None:
    import re
    import time

    rtx = {int(pt) for pt in re.findall(r"a=rtpmap:(\d+) rtx/", answer)}
    receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
    original = receiver._handle_rtp_packet

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        if time.monotonic() < until and (
            packet.payload_type in rtx or packet.sequence_number % every == 0
        ):
            return
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy
