"""Shared steps of the gateway tests: a live session, a real publisher, a WHEP client."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.support.api import Director, bearer, create_session, invite, redeem
from tests.support.browser import page_problems
from tests.support.cloud import METRICS_AUTH, CloudServer
from tests.support.lossy_relay import LossyRelay
from tests.support.procs import Proc, ProcessFailed, wait_until

T = TypeVar("T")
RETURNFEED = Path(sys.executable).with_name("returnfeed")


def run_async(work: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on a thread of its own: Playwright's sync API may own this thread's loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


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


def live(api: httpx.Client, show: Show) -> bool:
    """Whether the gateway says the session has a publisher."""
    r = api.get(f"/whep/{show.session_id}/status", headers=show.viewer_auth)
    return bool(r.status_code == 200 and r.json()["live"])


def metric(api: httpx.Client, name: str) -> float:
    """The sum of every sample of `name` (all labels) on the backend's /metrics."""
    total = 0.0
    for line in api.get("/metrics", headers=METRICS_AUTH).text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


@contextmanager
def publisher(
    show: Show,
    srt_port: int,
    log: Path,
    layers: str = "hi,lo",
    duration: float | None = None,
    latency_ms: int | None = None,
    cloud: tuple[str, str] | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[Proc]:
    """`returnfeed send` with a test pattern and tone, as the director's app would send;
    `cloud` = (backend URL, the director's access token) adds `--cloud`; `extra` more
    arguments."""
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
    if latency_ms is not None:
        argv += ["--latency-ms", str(latency_ms)]
    argv += extra
    env = {
        "RETURNFEED_SRT_PASSPHRASE": show.srt["passphrase"],
        "RETURNFEED_PUBLISH_TOKEN": show.srt["publish_token"],
        "PATH": "/usr/bin:/bin",
    }
    if cloud is not None:
        argv += ["--cloud", cloud[0]]
        env["RETURNFEED_DIRECTOR_TOKEN"] = cloud[1]
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
    start_mode: str = "auto",
    audio: bool = True,
    on_audio: Callable[[Any], None] | None = None,
    on_video: Callable[[Any], None] | None = None,
    stop: threading.Event | None = None,
) -> Watched:
    """A WHEP viewer made of aiortc: POST the offer, decode what comes, DELETE at the end.

    `drop_video_every=N` impairs the link for `impaired_s` seconds from the first decoded
    video frame (so the viewer has been watching before the link goes bad): every Nth video
    RTP packet (by sequence number) and every retransmission is dropped on arrival, so the
    receiver reports real loss (and decodes little: most frames miss a packet).
    `on_audio` / `on_video` get every decoded frame; `stop` ends the watch before `seconds`.
    """
    import time

    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    if loopback:
        from cloud.gateway.gateway import offer_loopback_candidates

        offer_loopback_candidates()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    if audio:
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
                if on_video is not None:
                    on_video(frame)
            else:
                out.audio_frames += 1
                if on_audio is not None:
                    on_audio(frame)

    pc.on("track", lambda track: tasks.append(asyncio.ensure_future(drain(track))))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        r = await client.post(
            f"/whep/{session_id}",
            params={"mode": start_mode},
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
            impair(pc, r.text, drop_video_every, out, impaired_s)
        if mode_after is not None:
            await asyncio.sleep(mode_after[0])
            q = await client.post(
                f"{out.location}/quality", json={"mode": mode_after[1]}, headers=bearer(token)
            )
            assert q.status_code == 200, q.text
            seconds -= mode_after[0]
        if stop is None:
            await asyncio.sleep(seconds)
        else:
            await asyncio.to_thread(stop.wait, seconds)
        await client.delete(out.location, headers=bearer(token))
    await pc.close()
    for task in tasks:
        task.cancel()
    return out


def impair(pc: Any, answer: str, every: int, out: Watched, seconds: float) -> None:
    """Drop video on arrival for `seconds` once `out` has its first frame. Before that the
    link is clean: with aiortc's jitter buffer a gap in the first IDR would hold every frame
    until 128 packets had passed, and the viewer would never have watched hi at all."""
    import re
    import time

    rtx = {int(pt) for pt in re.findall(r"a=rtpmap:(\d+) rtx/", answer)}
    receiver = next(t.receiver for t in pc.getTransceivers() if t.kind == "video")
    original = receiver._handle_rtp_packet
    since: list[float] = []  # when the first frame had been decoded

    async def lossy(packet: Any, arrival_time_ms: int) -> None:
        if out.video_frames and not since:
            since.append(time.monotonic())
        impaired = bool(since) and time.monotonic() - since[0] < seconds
        if impaired and (packet.payload_type in rtx or packet.sequence_number % every == 0):
            return
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = lossy


# --- a viewer page whose WebRTC goes through a lossy relay --------------------------------

# Flags for WebRTC between Chromium and a backend on loopback (media-facts.md).

# Runs before the page's own script: wraps RTCPeerConnection so the test can see the page's
# connections (window.__rfPcs), and samples the newest one's inbound video every 100 ms
# into __rfVideo as
# [page ms, framesDecoded, frameWidth, connections made, receive-side estimate bps].
VIDEO_PROBE = """
(() => {
  const Native = window.RTCPeerConnection;
  const pcs = [];
  window.__rfPcs = pcs;
  window.__rfVideo = [];
  window.RTCPeerConnection = class extends Native {
    constructor(...args) { super(...args); pcs.push(this); }
  };
  setInterval(async () => {
    const pc = pcs[pcs.length - 1];
    if (!pc) return;
    let v = null;
    let pair = null;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") v = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    if (!v) return;
    window.__rfVideo.push([performance.now(), v.framesDecoded || 0, v.frameWidth || 0,
      pcs.length, (pair && pair.availableIncomingBitrate) || 0]);
  }, 100);
})();
"""


@dataclass(frozen=True, slots=True)
class VideoSample:
    at_s: float  # the page's clock
    frames: int  # framesDecoded so far
    width: int  # of the last decoded frame: 640 hi, 320 lo
    connections: int  # RTCPeerConnections the page has made (1 unless it reconnected)
    estimate_kbps: float  # Chromium's receive-side estimate, what its REMB tells the gateway


class PageVideo:
    """What VIDEO_PROBE sampled on one page, fetched as the test polls."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.samples: list[VideoSample] = []

    def poll(self) -> VideoSample | None:
        rows = self.page.evaluate("(n) => window.__rfVideo.slice(n)", len(self.samples))
        self.samples += [
            VideoSample(r[0] / 1000, int(r[1]), int(r[2]), int(r[3]), r[4] / 1000) for r in rows
        ]
        return self.samples[-1] if self.samples else None

    def clock(self) -> float:
        return float(self.page.evaluate("performance.now()")) / 1000

    def since(self, at_s: float) -> list[VideoSample]:
        return [s for s in self.samples if s.at_s >= at_s]

    def decoding(self, width: int, frames: int) -> bool:
        """Whether the page now decodes `width` and has decoded `frames` frames of it since
        it came (in the latest unbroken run of samples at that width)."""
        self.poll()
        start = len(self.samples)
        while start > 0 and self.samples[start - 1].width == width:
            start -= 1
        run = self.samples[start:]
        return bool(run) and run[-1].frames - run[0].frames >= frames

    def describe(self, last: int = 8) -> str:
        self.poll()
        return "; ".join(
            f"{s.at_s:.1f}s {s.frames}f {s.width}w {s.estimate_kbps:.0f}kbps"
            for s in self.samples[-last:]
        )


def summary(video: PageVideo, impaired_at: float, healed_at: float) -> str:
    """One line on how the page fared, for the log of a run (pytest -s shows it)."""
    after = video.since(impaired_at)
    lo = next((s.at_s for s in after if s.width == 320), None)
    hi = next((s.at_s for s in video.since(healed_at) if s.width == 640), None)
    on_lo = [s.estimate_kbps for s in after if s.width == 320]
    return (
        f"lo {lo - impaired_at if lo else float('nan'):.1f} s after impairing, "
        f"hi {hi - healed_at if hi else float('nan'):.1f} s after healing, "
        f"longest freeze {longest_freeze(after):.2f} s, "
        f"browser estimate on lo {min(on_lo, default=0):.0f}-{max(on_lo, default=0):.0f} kbps"
    )


def wait_for(check: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
    """wait_until, with a description taken at the timeout (what the page showed by then)."""
    try:
        wait_until(check, timeout, "it")
    except ProcessFailed as exc:
        raise AssertionError(f"{exc}: {what()}") from None


def longest_freeze(samples: list[VideoSample]) -> float:
    """The longest time (s) in `samples` without a new decoded frame."""
    changes = [cur.at_s for prev, cur in itertools.pairwise(samples) if cur.frames > prev.frames]
    if not samples:
        return 0.0
    edges = [samples[0].at_s, *changes, samples[-1].at_s]
    return max(b - a for a, b in itertools.pairwise(edges))


def strip_candidates(sdp: str) -> str:
    return "".join(
        line
        for line in sdp.splitlines(keepends=True)
        if not line.startswith(("a=candidate:", "a=end-of-candidates"))
    )


def answer_through(answer: str, relay_port: int) -> tuple[str, int]:
    """The answer with the gateway's loopback candidate moved to the relay, and the gateway's
    own port; its other candidates go, so no path bypasses the relay."""
    import re

    found = re.search(r"^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer, re.M)
    if found is None:
        raise AssertionError(f"the answer has no 127.0.0.1 candidate:\n{answer}")
    lines = []
    for line in answer.splitlines(keepends=True):
        if line.startswith("a=candidate:"):
            if f" 127.0.0.1 {found.group(1)} " not in line:
                continue
            line = line.replace(f" 127.0.0.1 {found.group(1)} ", f" 127.0.0.1 {relay_port} ")
        lines.append(line)
    return "".join(lines), int(found.group(1))


def route_webrtc_through(page: Any, base_url: str, session_id: str, relay: LossyRelay) -> None:
    """Put `relay` on the page's WebRTC path by rewriting the WHEP offer and answer in flight.

    The browser gets the relay's address as the gateway's only candidate, and the relay
    forwards to the gateway's. The offer goes without the browser's candidates, so the
    gateway cannot reach the browser around the relay: aioice learns the relay's upstream
    socket as a peer-reflexive candidate from the checks that come through it.
    """

    def whep(route: Any) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        response = route.fetch(post_data=strip_candidates(route.request.post_data or ""))
        if response.status != 201:
            route.fulfill(response=response)
            return
        answer, gateway_port = answer_through(response.text(), relay.port)
        relay.set_target(("127.0.0.1", gateway_port))
        route.fulfill(response=response, body=answer)

    offers = f"{base_url}/whep/{session_id}"
    # The offer carries the page's quality choice as a query (?mode=auto): match the path.
    page.route(lambda url: url.split("?", 1)[0] == offers, whep)


@contextmanager
def relayed_viewer(
    browser: Any, base_url: str, show: Show, relay: LossyRelay
) -> Iterator[PageVideo]:
    """The /watch page in a fresh context, its WebRTC through `relay`, sampled by VIDEO_PROBE.
    A script error or a CSP violation on the page fails the test."""
    context = browser.new_context(locale="en-US", viewport={"width": 800, "height": 600})
    context.set_default_timeout(15_000)
    context.add_init_script(VIDEO_PROBE)
    page = context.new_page()
    problems = page_problems(page)
    route_webrtc_through(page, base_url, show.session_id, relay)
    page.goto(f"{base_url}/watch#{show.viewer_invite}")
    try:
        yield PageVideo(page)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def quality_switches(api: httpx.Client, session_id: str, old: str, new: str) -> float:
    """simulcast_quality_switches{session_id, from_quality=old, to_quality=new}."""
    import re

    text = api.get("/metrics", headers=METRICS_AUTH).text
    found = re.search(
        rf'^simulcast_quality_switches_total\{{from_quality="{old}",'
        rf'session_id="{re.escape(session_id)}",to_quality="{new}"\}} (\S+)$',
        text,
        re.M,
    )
    return float(found.group(1)) if found else 0.0


@contextmanager
def on_air(
    api: httpx.Client, show: Show, srt_port: int, tmp_path: Path, **options: Any
) -> Iterator[None]:
    """`returnfeed send` publishing to the session, once the gateway says it is live
    (options: publisher's)."""
    with publisher(show, srt_port, tmp_path / "send.log", **options) as proc:
        wait_until(lambda: live(api, show), 15, f"a live publisher\n{proc.tail()}")
        yield


def watch(cloud: CloudServer, show: Show, seconds: float, **options: Any) -> Watched:
    """An aiortc WHEP viewer of the show for `seconds` (options: watch_with_aiortc's)."""
    return run_async(
        watch_with_aiortc(cloud.base_url, show.session_id, show.viewer_token, seconds, **options)
    )
