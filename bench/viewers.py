"""Gateway fan-out: N hi-layer WHEP viewers on one gateway process; CPU, RSS and drops per N.

Run from the repository root:

    python -m bench.viewers [--viewers 1,50,100,200] [--seconds 10] [--clients 3]
                            [--full 2] [--content noisy|test] [--pin CORES] [--plot]

The real `returnfeed-cloud` (SRT ingest on a free port) and the real `returnfeed send`
(both layers, libx264) on loopback, sending hard content by default: bench/encode.py's noisy
moving picture, looped from a file made at start, so hi runs at its real ~1 Mbps and a
frame is several RTP packets (`--content test`: the test pattern + tone, ~330 kbps). The
viewers run in `--clients` child processes (this file with `--client`), so the machine's
cores, not one event loop, bound them:

- `--full` viewers (in the first child) are whole aiortc peers: SRTP decrypt, jitter buffer,
  NACK/RTCP, H.264 decode. They prove that what the gateway sends decodes (decoded fps).
- the rest are *light* viewers: a real aiortc peer does ICE (aioice) and the DTLS handshake
  with the gateway, then every SRTP packet is counted where it arrives (the aioice socket's
  `datagram_received`) from the header, which SRTP leaves in the clear (payload type,
  sequence number, timestamp), and is not decrypted, depacketized or decoded. That is what
  lets 200 viewers share 2 cores with the gateway. STUN (consent), DTLS and SRTCP still go
  to aiortc. Light viewers send no receiver reports or NACKs, so nothing is retransmitted
  to them and a lost packet stays lost.

Per N: all viewers connect, then a window of `--seconds` is measured:

- server_cpu_pct: the gateway process's user+system CPU over the window, in % of ONE core
  (threads included: the SRT demux threads too); server_rss_mb at the window's end;
- server_us_per_packet: that CPU time over the packets sent in the window (the number to
  compare between runs: a starved publisher sends fewer frames);
- packets_sent: RTP packets the gateway sent to the viewers in the window (per viewer and
  SSRC: the extended highest sequence number's advance), packets_lost: those that never
  arrived (advance - received); gateway_dropped: media units the gateway's per-viewer
  rings dropped, or skipped while waiting for an IDR after a drop, in the window
  (`gateway_viewer_dropped_units_total`, counted as they happen); each counts as the video
  frame size in packets measured in the window;
- ingest_hi_fps: the hi layer's frames a second the gateway took in over the window (its
  demuxed video units / 1.5: hi at 60 and lo at 30), to set against video_fps_median: a
  gateway falling behind (or clients counting late) shows as that gap, not as drops;
- drop_pct = (packets_lost + gateway_dropped x packets/frame) / (packets_sent + same);
  gateway_dropped_step and drop_pct_step: the same over the whole step, the viewers'
  joining and leaving included (a join storm of N DTLS handshakes stalls the loop).

At the top of the results, `viewers_per_core`: the largest N whose window had drop_pct < 1 %
(every viewer connected), divided by the cores the gateway process used for it
(server_cpu_pct / 100), with the row it comes from in `viewers_per_core_from`; and
`viewers_per_core_full_rate`: the same scaled to the packets a viewer would get at the full
60 fps and 50 Opus packets a second (a loaded machine's publisher sends fewer). The `--full`
viewers are part of every N, so the figure includes viewers that send receiver reports and
NACKs (answered from the gateway's history) and whose quality manager acts on them.

`--pin 1`: the gateway alone on core 0, the sender and the viewers on the rest, and (as root)
loopback's receive processing steered to the viewers' cores, so that the gateway's CPU is
its own work as it would be with the viewers on other machines (`pinned`,
`loopback_receive_steered` in the results). Without it every process shares every core and
the gateway's system time includes the viewers' receiving of what it sent.

Prints JSON, writes bench/results/viewers.json (and viewers.png with --plot). The machine
is shared: numbers come with the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench._common import metrics_text, proc_stats, raise_open_files_limit, start_cloud
from bench.encode import CONTENT, ffmpeg_binary

RETURNFEED = Path(sys.executable).with_name("returnfeed")
RESULTS = Path(__file__).with_name("results")
DROPPED = "gateway_viewer_dropped_units_total"
INGESTED = 'gateway_units_total{kind="video"}'
CONNECT_PARALLEL = 4  # offers in flight per client process
READY_TIMEOUT_S = 120.0
RTP_HEADER = struct.Struct("!BBHII")  # V/P/X/CC, M/PT, sequence number, timestamp, SSRC
FULL_FPS = 60  # the hi layer's frame rate
AUDIO_PPS = 50  # 20 ms Opus packets


def udp_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_show(base: str) -> dict[str, Any]:
    with httpx.Client(base_url=base, timeout=10) as c:
        email = f"bench-{os.getpid()}-{time.time_ns()}@example.com"
        r = c.post(
            "/api/auth/register",
            json={"email": email, "password": "correct horse battery", "display_name": "B"},
        )
        access = r.json()["tokens"]["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        sid = c.post("/api/sessions", json={"name": "bench", "cameras": []}, headers=auth)
        sid.raise_for_status()
        session = sid.json()["id"]
        srt = c.get(f"/api/sessions/{session}/srt", headers=auth).json()
        link = c.post(
            f"/api/sessions/{session}/invites", json={"role": "viewer"}, headers=auth
        ).json()
        joined = c.post("/api/invites/redeem", json={"token": link["token"]}).json()
        return {
            "session": session,
            "srt": srt,
            "viewer": joined["participant_token"],
            "invite": link["token"],
            "director": access,
        }


# --- the viewer side (child processes) -------------------------------------------------------


@dataclass
class SeqCount:
    """One SSRC's packets: received, bytes, extended highest sequence number, frames."""

    received: int = 0
    octets: int = 0
    highest: int = -1
    frames: int = 0  # distinct RTP timestamps (video: frames)
    _last_ts: int = -1

    def add(self, seq: int, timestamp: int, size: int) -> None:
        self.received += 1
        self.octets += size
        if timestamp != self._last_ts:
            self._last_ts = timestamp
            self.frames += 1
        if self.highest < 0:
            self.highest = seq
            return
        step = (seq - self.highest) & 0xFFFF
        if 0 < step < 0x8000:  # forward (with wrap); older or repeated packets move nothing
            self.highest += step

    def snap(self) -> tuple[int, int, int, int]:
        return self.received, self.octets, self.highest, self.frames


@dataclass
class ClientViewer:
    full: bool
    kinds: dict[int, str] = field(default_factory=dict)  # payload type -> video/audio/rtx
    counts: dict[int, SeqCount] = field(default_factory=dict)  # by SSRC
    ssrc_kind: dict[int, str] = field(default_factory=dict)
    decoded: int = 0
    location: str | None = None
    pc: Any = None

    def count(self, pt: int, ssrc: int, seq: int, timestamp: int, size: int) -> None:
        c = self.counts.get(ssrc)
        if c is None:
            c = self.counts[ssrc] = SeqCount()
            self.ssrc_kind[ssrc] = self.kinds.get(pt, "other")
        c.add(seq, timestamp, size)

    def snap(self) -> dict[str, Any]:
        return {
            "decoded": self.decoded,
            "ssrcs": {str(s): [self.ssrc_kind[s], *c.snap()] for s, c in self.counts.items()},
        }


def _count_in_the_clear(viewer: ClientViewer) -> None:
    """Light viewer: count SRTP packets from their clear header on arrival; keep the rest
    (STUN, DTLS, SRTCP) going to aioice/aiortc as usual."""
    dtls = viewer.pc.getTransceivers()[0].receiver.transport
    connection = dtls.transport._connection
    for protocol in connection._protocols:
        original = protocol.datagram_received

        def counted(data: bytes, addr: Any, _original: Any = original) -> None:
            if 127 < data[0] < 192 and len(data) >= 12 and not 192 <= data[1] <= 223:
                _, b1, seq, timestamp, ssrc = RTP_HEADER.unpack_from(data)
                viewer.count(b1 & 0x7F, ssrc, seq, timestamp, len(data))
                return
            _original(data, addr)

        protocol.datagram_received = counted


def _count_decrypted(viewer: ClientViewer) -> None:
    """Full viewer: count after SRTP decryption, before aiortc's jitter buffer."""
    for transceiver in viewer.pc.getTransceivers():
        receiver = transceiver.receiver
        original = receiver._handle_rtp_packet

        async def counted(packet: Any, arrival_time_ms: int, _original: Any = original) -> None:
            viewer.count(
                packet.payload_type,
                packet.ssrc,
                packet.sequence_number,
                packet.timestamp,
                len(packet.payload) + 12,
            )
            await _original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = counted


async def _connect(
    viewer: ClientViewer, client: httpx.AsyncClient, session: str, token: str
) -> bool:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    pc = viewer.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")

    async def drain(track: Any) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                viewer.decoded += 1

    if viewer.full:
        pc.on("track", lambda t: asyncio.ensure_future(drain(t)))
    await pc.setLocalDescription(await pc.createOffer())
    r = await client.post(
        f"/whep/{session}",
        content=pc.localDescription.sdp,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
    )
    if r.status_code != 201:
        print(f"viewer refused: {r.status_code} {r.text[:200]}", file=sys.stderr)
        return False
    viewer.location = r.headers["location"]
    for pt, name in re.findall(r"a=rtpmap:(\d+) ([A-Za-z0-9]+)/", r.text):
        viewer.kinds[int(pt)] = {"H264": "video", "opus": "audio", "rtx": "rtx"}.get(name, name)
    if viewer.full:
        _count_decrypted(viewer)
    else:
        _count_in_the_clear(viewer)
    await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
    up = asyncio.Event()
    pc.on("connectionstatechange", lambda: pc.connectionState == "connected" and up.set())
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(up.wait(), 30)
    return up.is_set()


async def client_main(base: str, session: str, token: str, light: int, full: int) -> None:
    from cloud.gateway.gateway import offer_loopback_candidates

    offer_loopback_candidates()
    loop = asyncio.get_running_loop()
    viewers = [ClientViewer(full=i < full) for i in range(light + full)]
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:

        async def one(v: ClientViewer) -> bool:
            async with gate:
                try:
                    return await _connect(v, client, session, token)
                except Exception as exc:
                    print(f"viewer failed: {exc!r}", file=sys.stderr)
                    return False

        ok = await asyncio.gather(*[one(v) for v in viewers])

        def say(msg: dict[str, Any]) -> None:
            print(json.dumps(msg), flush=True)

        say({"event": "ready", "connected": sum(ok)})
        await loop.run_in_executor(None, sys.stdin.readline)  # "go"
        cpu0 = time.process_time()
        before = [v.snap() for v in viewers]
        await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
        after = [v.snap() for v in viewers]
        cpu = time.process_time() - cpu0
        say({"event": "result", "cpu_s": cpu, "viewers": list(zip(before, after, strict=True))})

        async def leave(v: ClientViewer) -> None:
            if v.location is not None:
                with contextlib.suppress(httpx.HTTPError):
                    await client.delete(v.location, headers=auth)

        await asyncio.gather(*[leave(v) for v in viewers])
    await asyncio.gather(*[v.pc.close() for v in viewers if v.pc is not None])


# --- the orchestrator -------------------------------------------------------------------------


def _metric(text: str, name: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _viewer_rows(results: list[dict[str, Any]], seconds: float) -> dict[str, Any]:
    sent = lost = 0
    video_kbps: list[float] = []
    video_pps: list[float] = []
    video_fps: list[float] = []
    audio_pps: list[float] = []
    decoded_fps: list[float] = []
    for result in results:
        for before, after in result["viewers"]:
            video_packets = video_frames = 0
            for ssrc, (kind, *end) in after["ssrcs"].items():
                # An SSRC first seen inside the window: its start is as if nothing was lost.
                start = before["ssrcs"].get(ssrc, [kind, 0, 0, end[2] - end[0], 0])[1:]
                received = end[0] - start[0]
                advanced = end[2] - start[2]
                if kind == "rtx":
                    continue  # retransmissions repair losses; they are not more media
                sent += advanced
                lost += max(0, advanced - received)
                if kind == "video":
                    video_kbps.append((end[1] - start[1]) * 8 / 1000 / seconds)
                    video_packets += advanced
                    video_frames += end[3] - start[3]
                elif kind == "audio":
                    audio_pps.append(received / seconds)
            if video_frames:
                video_pps.append(video_packets / seconds)
                video_fps.append(video_frames / seconds)
            if after["decoded"]:
                decoded_fps.append((after["decoded"] - before["decoded"]) / seconds)

    def med(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    return {
        "packets_sent": sent,
        "packets_lost": lost,
        "video_kbps_median": med(video_kbps),
        "video_pps_median": med(video_pps),
        "video_fps_median": med(video_fps),
        "audio_pps_median": med(audio_pps),
        "full_viewers_decoded_fps": [round(x, 1) for x in decoded_fps],
    }


LOOPBACK_RPS = Path("/sys/class/net/lo/queues/rx-0/rps_cpus")


def pin(pid: int, cores: int) -> str | None:
    """The gateway (every thread; the threads it makes later inherit) on cores 0..cores-1,
    this process (and so the sender and the viewers it starts) on the others: the gateway's
    CPU time is then its own work, not its share of caches and cores with the viewers.

    A datagram sent on loopback is received (IP, UDP, the viewer's socket queue, waking the
    viewer) in the sender's own system call, so the viewers' receiving would count as the
    gateway's CPU; with root, loopback's receive processing is steered to the viewers'
    cores (RPS) as a NIC would leave it to the viewers' machines. Returns the RPS mask to
    put back, or None when it could not be changed."""
    total = os.cpu_count() or 1
    if not 0 < cores < total:
        raise SystemExit(f"--pin {cores}: this machine has {total} cores")
    mine = set(range(cores))
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), mine)
    os.sched_setaffinity(0, set(range(cores, total)))
    try:
        before = LOOPBACK_RPS.read_text().strip()
        LOOPBACK_RPS.write_text(f"{sum(1 << c for c in range(cores, total)):x}\n")
    except OSError as exc:
        print(
            f"loopback receive steering not set ({exc}): counted as the gateway's", file=sys.stderr
        )
        return None
    return before


def run_n(
    base: str, show: dict[str, Any], n: int, args: argparse.Namespace, pid: int
) -> dict[str, Any]:
    full = min(args.full, n)
    light = n - full
    procs = max(1, min(args.clients, n))
    shares = [light // procs + (1 if i < light % procs else 0) for i in range(procs)]
    children: list[subprocess.Popen[str]] = []
    for i, share in enumerate(shares):
        argv = [sys.executable, "-m", "bench.viewers", "--client", "--base", base]
        argv += [f"--session={show['session']}", "--token", show["viewer"]]
        argv += ["--light", str(share), "--full", str(full if i == 0 else 0)]
        children.append(
            subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        )
    metrics = metrics_text(base)
    dropped0 = _metric(metrics, DROPPED)
    to_lo0 = _metric(metrics, 'simulcast_quality_switches_total{from_quality="hi"')
    try:
        connected = 0
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                raise RuntimeError("a viewer process died before it was ready")
            connected += json.loads(line)["connected"]
        time.sleep(1.0)  # past the first IDR: every viewer is streaming
        text0 = metrics_text(base)
        window0 = _metric(text0, DROPPED)
        ingested0 = _metric(text0, INGESTED)
        for child in children:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        before, t0 = proc_stats(pid), time.monotonic()
        time.sleep(args.seconds)
        for child in children:
            assert child.stdin is not None
            child.stdin.write("stop\n")
            child.stdin.flush()
        after, wall = proc_stats(pid), time.monotonic() - t0
        text1 = metrics_text(base)
        window_dropped = int(_metric(text1, DROPPED) - window0)
        ingested = _metric(text1, INGESTED) - ingested0
        loadavg = Path("/proc/loadavg").read_text().split()[:3]
        results = []
        for child in children:
            assert child.stdout is not None
            results.append(json.loads(child.stdout.readline()))
        for child in children:
            child.wait(180)  # leaving: DELETE and close every peer
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    auth = {"Authorization": f"Bearer {show['viewer']}"}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # the rings' drops are counted as viewers leave
        status = httpx.get(f"{base}/whep/{show['session']}/status", headers=auth).json()
        if status["viewers"] == 0:
            break
        time.sleep(0.2)
    metrics = metrics_text(base)
    dropped = int(_metric(metrics, DROPPED) - dropped0)
    to_lo = int(_metric(metrics, 'simulcast_quality_switches_total{from_quality="hi"') - to_lo0)
    row: dict[str, Any] = {
        "viewers": n,
        "connected": connected,
        "server_cpu_pct": round(100 * (after.cpu_s - before.cpu_s) / wall, 1),
        "server_rss_mb": round(after.rss_mb, 1),
    }
    row |= _viewer_rows(results, wall)
    # The hi layer's frames the gateway took in per second (hi 60 + lo 30 units a second at
    # full rate), to set against what the viewers got: a gateway falling behind shows here
    # as viewers' fps below the publisher's, not as drops.
    row["ingest_hi_fps"] = round(ingested / wall / 1.5, 1)
    # CPU per packet sent: comparable between runs that the shared machine starved
    # differently (a starved publisher sends fewer frames, and the gateway has less to do).
    cpu_s = after.cpu_s - before.cpu_s
    row["server_us_per_packet"] = (
        round(1e6 * cpu_s / row["packets_sent"], 1) if row["packets_sent"] else None
    )
    per_frame = (row["video_pps_median"] or 0) / (row["video_fps_median"] or 1)
    dropped_packets = window_dropped * per_frame
    total = row["packets_sent"] + dropped_packets
    row["gateway_dropped"] = window_dropped
    row["gateway_dropped_step"] = dropped
    # Full viewers send receiver reports: a starved client (RTT > 150 ms) is moved to lo.
    row["switched_to_lo"] = to_lo
    row["drop_pct"] = (
        round(100 * (row["packets_lost"] + dropped_packets) / total, 3) if total else None
    )
    step_packets = dropped * per_frame
    step_total = row["packets_sent"] + step_packets
    row["drop_pct_step"] = (
        round(100 * (row["packets_lost"] + step_packets) / step_total, 3) if step_total else None
    )
    row["clients_cpu_pct"] = round(100 * sum(r["cpu_s"] for r in results) / wall, 1)
    row["client_processes"] = procs
    row["loadavg"] = [float(x) for x in loadavg]
    return row


def per_core(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Viewers served with drops under 1 % per core the gateway used: from the largest such
    N (every viewer connected), its viewers over its CPU in cores."""
    served = [
        r
        for r in rows
        if "error" not in r
        and r["drop_pct"] is not None
        and r["drop_pct"] < 1.0
        and r["connected"] == r["viewers"]
        and r["server_cpu_pct"] > 0
    ]
    if not served:
        return {"viewers_per_core": None, "viewers_per_core_from": None}
    best = max(served, key=lambda r: r["viewers"])
    keys = ("viewers", "server_cpu_pct", "drop_pct", "server_us_per_packet", "loadavg")
    out: dict[str, Any] = {
        "viewers_per_core": round(best["viewers"] / (best["server_cpu_pct"] / 100), 1),
        "viewers_per_core_from": {k: best[k] for k in keys},
    }
    # A machine too busy to encode 60 fps sends fewer packets per viewer, and each viewer
    # then costs less: scaled by the packets a viewer gets at the full frame rate (CPU time
    # over the window, not per packet counted by the clients, whose windows a starved client
    # process starts late).
    fps, video, audio = (
        best[k] for k in ("video_fps_median", "video_pps_median", "audio_pps_median")
    )
    if fps and video and audio:
        full_rate = video * FULL_FPS / fps + AUDIO_PPS
        scale = (video + audio) / full_rate
        out["viewers_per_core_full_rate"] = round(out["viewers_per_core"] * scale, 1)
        out["viewers_per_core_from"]["full_rate_packets_per_viewer_s"] = round(full_rate, 1)
    return out


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in out["rows"] if "error" not in r]
    n = [r["viewers"] for r in rows]
    fig, cpu_ax = plt.subplots(figsize=(7, 4))
    cpu_ax.plot(n, [r["server_cpu_pct"] for r in rows], "o-", color="tab:blue")
    cpu_ax.set_xlabel("concurrent hi-layer viewers")
    cpu_ax.set_ylabel("gateway CPU, % of one core", color="tab:blue")
    drop_ax = cpu_ax.twinx()
    drop_ax.plot(n, [r["drop_pct"] or 0 for r in rows], "s--", color="tab:red")
    drop_ax.set_ylabel("dropped packets, %", color="tab:red")
    drop_ax.set_ylim(bottom=0, top=max(2.0, *[(r["drop_pct"] or 0) * 1.2 for r in rows]))
    cpu_ax.set_title(f"one gateway process, {out['cpus']} cores, loadavg {out['loadavg']}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def noisy_clip(work: Path, seconds: float = 20.0) -> Path:
    """bench/encode.py's hard content as a file `returnfeed send` loops: kept near-lossless
    (x264 at CRF 10) so the noise survives into the sender's own 1 Mbps encode."""
    clip = work / "noisy.mkv"
    subprocess.run(
        [
            *(ffmpeg_binary(), "-v", "error", "-f", "lavfi", "-i", CONTENT, "-t", str(seconds)),
            *("-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-y", str(clip)),
        ],
        check=True,
    )
    return clip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--viewers", default="1,50,100,200")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--clients", type=int, default=3, help="viewer processes")
    p.add_argument("--full", type=int, default=2, help="viewers that decode (first process)")
    p.add_argument("--plot", action="store_true", help="also write bench/results/viewers.png")
    p.add_argument("--stop-at-drop-pct", type=float, default=5.0, help="skip larger N after")
    p.add_argument(
        "--content",
        choices=("noisy", "test"),
        default="noisy",
        help="noisy: a moving picture with sensor-like noise (bench/encode.py's), so hi runs "
        "at its real ~1 Mbps; test: the test pattern (~330 kbps, one packet a frame)",
    )
    p.add_argument(
        "--pin",
        type=int,
        default=0,
        metavar="CORES",
        help="the gateway on its own first CORES cores, everything else on the rest",
    )
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--session", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--light", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    raise_open_files_limit()
    if args.client:
        # uvloop, whose datagram reading is C: the viewers, not the gateway, run out of CPU
        # first on a machine they share with it.
        uvloop.run(client_main(args.base, args.session, args.token, args.light, args.full))
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        srt_port = udp_port()
        # Every viewer here holds the one token: lift WHEP admission's limits (admission.py).
        limits = ["--max-viewers-per-token", "100000", "--max-viewers-per-session", "100000"]
        db = f"sqlite:///{work / 'rf.db'}"
        server, base = start_cloud(work, db, "--srt-port", str(srt_port), *limits)
        rps = pin(server.pid, args.pin) if args.pin else None
        show = new_show(base)
        env = {
            "RETURNFEED_SRT_PASSPHRASE": show["srt"]["passphrase"],
            "RETURNFEED_PUBLISH_TOKEN": show["srt"]["publish_token"],
            "PATH": "/usr/bin:/bin",
        }
        source = "test:Bench" if args.content == "test" else f"file:{noisy_clip(work)}"
        argv = [str(RETURNFEED), "send", "--source", source, "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        send = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows = []
        try:
            deadline = time.monotonic() + 20
            auth = {"Authorization": f"Bearer {show['viewer']}"}
            while time.monotonic() < deadline:
                s = httpx.get(f"{base}/whep/{show['session']}/status", headers=auth).json()
                if s["live"]:
                    break
                time.sleep(0.2)
            for n in args.viewers.split(","):
                try:
                    rows.append(run_n(base, show, int(n), args, server.pid))
                except httpx.TimeoutException:  # the loop is saturated: that is the answer
                    why = "the gateway did not answer /metrics within 60 s: saturated"
                    rows.append({"viewers": int(n), "error": why, "drop_pct": None})
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
                if rows[-1]["drop_pct"] is None or rows[-1]["drop_pct"] >= args.stop_at_drop_pct:
                    break  # it no longer holds: more viewers would only say so louder
        finally:
            send.terminate()
            send.wait(10)
            server.stop()
            if rps is not None:
                LOOPBACK_RPS.write_text(rps + "\n")
    out: dict[str, Any] = {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "loadavg": [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]],
        "seconds": args.seconds,
        "content": args.content,
        "full_viewers": args.full,
        "cpu_pct_of": "one core (user + system of the gateway process, all its threads)",
        "pinned": args.pin,
        "loopback_receive_steered": rps is not None,
        **per_core(rows),
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "viewers.json").write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, RESULTS / "viewers.png")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
