"""Gateway fan-out: N WHEP viewers (aiortc) on one session; server CPU, RSS, frames, drops.

Run from the repository root:  python -m bench.viewers [--viewers 1,5,10] [--seconds 10]

The real `returnfeed-cloud` (SRT ingest on a free port) and the real `returnfeed send`
(test pattern + tone, both layers, libx264) on loopback. Each viewer is an aiortc peer
that POSTs its offer to /whep/{session} and counts the frames its tracks deliver (aiortc
decodes them, in this process: on a small machine the viewers, not the server, run out of
CPU first). Server CPU (% of one core) and RSS from /proc; per viewer: decoded video frames
and audio frames per second over the whole run (the wait for the first IDR included) and
the time to the first video frame.
Prints JSON, writes bench/results/viewers.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench._common import proc_stats, start_cloud

RETURNFEED = Path(sys.executable).with_name("returnfeed")
RESULTS = Path(__file__).with_name("results")


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
        auth = {"Authorization": f"Bearer {r.json()['tokens']['access_token']}"}
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
        }


async def viewer(base: str, session: str, token: str, seconds: float) -> dict[str, Any]:
    from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import MediaStreamError

    from cloud.gateway.gateway import offer_loopback_candidates

    offer_loopback_candidates()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    pc.addTransceiver("video", direction="recvonly")
    pc.addTransceiver("audio", direction="recvonly")
    counts = {"video": 0, "audio": 0}
    first: list[float] = []
    started = time.monotonic()

    async def drain(track: Any) -> None:
        while True:
            try:
                await track.recv()
            except MediaStreamError:
                return
            counts[track.kind] += 1
            if track.kind == "video" and not first:
                first.append(time.monotonic() - started)

    tasks: list[asyncio.Task[None]] = []
    pc.on("track", lambda t: tasks.append(asyncio.ensure_future(drain(t))))
    await pc.setLocalDescription(await pc.createOffer())
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        r = await client.post(
            f"/whep/{session}",
            content=pc.localDescription.sdp,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/sdp"},
        )
        if r.status_code != 201:
            return {"status": r.status_code}
        await pc.setRemoteDescription(RTCSessionDescription(r.text, "answer"))
        await asyncio.sleep(seconds)
        await client.delete(r.headers["location"], headers={"Authorization": f"Bearer {token}"})
    await pc.close()
    for t in tasks:
        t.cancel()
    return {
        "status": 201,
        "video_fps": counts["video"] / seconds,
        "audio_pps": counts["audio"] / seconds,
        "first_frame_s": first[0] if first else None,
    }


def run_n(base: str, show: dict[str, Any], n: int, seconds: float, pid: int) -> dict[str, Any]:
    async def all_of() -> list[dict[str, Any]]:
        return await asyncio.gather(
            *[viewer(base, show["session"], show["viewer"], seconds) for _ in range(n)]
        )

    before = proc_stats(pid)
    t0 = time.monotonic()
    results = asyncio.run(all_of())
    wall = time.monotonic() - t0
    after = proc_stats(pid)
    ok = [r for r in results if r["status"] == 201]
    firsts = [r["first_frame_s"] for r in ok if r["first_frame_s"] is not None]
    return {
        "viewers": n,
        "answered": len(ok),
        "server_cpu_pct": round(100 * (after.cpu_s - before.cpu_s) / wall, 1),
        "server_rss_mb": round(after.rss_mb, 1),
        "video_fps_median": round(statistics.median([r["video_fps"] for r in ok]), 1) if ok else 0,
        "audio_pps_median": round(statistics.median([r["audio_pps"] for r in ok]), 1) if ok else 0,
        "first_frame_s_median": round(statistics.median(firsts), 2) if firsts else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--viewers", default="1,5,10")
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        srt_port = udp_port()
        server, base = start_cloud(work, f"sqlite:///{work / 'rf.db'}", "--srt-port", str(srt_port))
        show = new_show(base)
        env = {
            "RETURNFEED_SRT_PASSPHRASE": show["srt"]["passphrase"],
            "RETURNFEED_PUBLISH_TOKEN": show["srt"]["publish_token"],
            "PATH": "/usr/bin:/bin",
        }
        argv = [str(RETURNFEED), "send", "--source", "test:Bench", "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{srt_port}", f"--session={show['session']}"]
        send = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            auth = {"Authorization": f"Bearer {show['viewer']}"}
            while time.monotonic() < deadline:
                s = httpx.get(f"{base}/whep/{show['session']}/status", headers=auth).json()
                if s["live"]:
                    break
                time.sleep(0.2)
            rows = [
                run_n(base, show, int(n), args.seconds, server.pid) for n in args.viewers.split(",")
            ]
        finally:
            send.terminate()
            send.wait(10)
            server.stop()
    out = {"machine": platform.node(), "cpus": os.cpu_count(), "seconds": args.seconds}
    out["rows"] = rows  # type: ignore[assignment]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "viewers.json").write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
