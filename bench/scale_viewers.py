"""Viewers of one session spread over several backend processes behind haproxy; kill -9 of an edge.

Run from the repository root:

    python -m bench.scale_viewers [--processes 3] [--viewers 60] [--seconds 15]
                                  [--clients 3] [--full 2] [--recovery 15] [--plot]

The deployment of docs/scale.md on loopback, all real: `--processes` `returnfeed-cloud`
processes (`backend-1` .. `backend-N`) on one SQLite file, one redis-server and one JWT
secret; Debian's haproxy with `deploy/haproxy.cfg` in front (as shipped for 2 processes; for
more, the same file with its `use-server` and `server` lines repeated for each further
process). The session is made at backend-1, which so owns its SRT ingest, and the director's
program comes from `returnfeed send --cloud` (both layers, libx264; its API calls and relay
link through haproxy, so viewers' keyframe requests reach it, as from the desktop app) on
bench/viewers.py's hard noisy content (hi at its real ~1 Mbps). Every other process is an
edge: it pulls the layers from backend-1 over SRT for the viewers the balancer gives it.

The viewers are bench/viewers.py's client viewers (its `_connect`: `--full` whole aiortc
peers that decode, the rest light peers that count SRTP packets from their clear header),
in `--clients` child processes (this file with `--client`), every WHEP request through
haproxy (round robin: the viewers spread over the processes by themselves). Like the viewer
page (cloud/web/shared/whep.js) each asks `/whep/S/status` before it offers; its offers ask
for `mode=high`, so every viewer gets the hi layer (light viewers send no receiver reports,
on which "auto" would move a viewer that started on lo up). bench/viewers.py's client does
not reconnect; each viewer here also does what the page does when its picture stops: on its
own 1 s tick, a viewer that has had no datagram at all for 2.5 s (Chromium marks ICE
`disconnected` ~2.5 s after the last packet it received, and the page then restarts), or no
video frame for 6 s (the page's stall rule), leaves (DELETE of its Location through
haproxy), waits 0.5 s (the page's next tick), asks the status and offers again (a new WHEP
POST through haproxy), again every 0.5 s until it gets a connection. `new_show` is
bench/viewers.py's, copied to keep the director's token for `--cloud`.

Phases, with the times every process shares (CLOCK_MONOTONIC):

1. window A (`--seconds`), every process up: viewers per process (from the Location each
   viewer got, and each process's own /whep/S/status count), CPU per process (user + system
   from /proc/PID/stat over the window / wall time, in % of one core, all threads), the
   gateways' own drop counters (`gateway_viewer_dropped_units_total` on each /metrics) and
   the packets the viewers never got (extended highest sequence number's advance - received,
   as bench/viewers.py counts them), the clients', sender's, haproxy's and redis's CPU, and
   the whole machine's busy share (/proc/stat);
2. kill -9 of the last process (an edge, never the owner), then `--recovery` seconds: for
   each of its viewers the time from the kill to the first video packet on its new
   connection (with when it noticed and when the new peer connection was up); for the
   viewers of the other processes, their longest gap between video frames (arrival of a
   new RTP timestamp) over the whole kill window, against the same in window A;
3. window C (`--seconds`), after the kill: the surviving processes' viewers and CPU.

Prints JSON, writes bench/results/scale_viewers.json (and scale_viewers.png with --plot).
The machine is shared: the load average comes with the numbers, before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench._common import (
    Server,
    free_port,
    metrics_text,
    proc_stats,
    raise_open_files_limit,
    start_cloud,
    start_redis,
)
from bench.viewers import (
    CONNECT_PARALLEL,
    DROPPED,
    RETURNFEED,
    ClientViewer,
    _connect,
    _metric,
    _viewer_rows,
    new_show,
    noisy_clip,
    udp_port,
)

RESULTS = Path(__file__).with_name("results")
HAPROXY_CFG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"
HAPROXY = "/usr/sbin/haproxy"
TICK_S = 1.0  # the page looks at its player once a second
LOST_S = 2.5  # Chromium: ICE disconnected ~2.5 s after the last packet received
STALL_S = 6.0  # the page: live, yet no frame for 6 s: start over (whep.js STALL_MS)
RETRY_S = 0.5  # the page's next tick after a restart (500 ms while recovering)
GAP_KEEP_S = 0.25  # frame gaps at least this long are listed one by one
LAG_KEEP_S = 0.1  # a client's own event-loop stalls at least this long are listed
_BACKGROUND: set[asyncio.Future[None]] = set()  # tasks nobody awaits, kept alive here


# --- the viewer side (child processes) -------------------------------------------------------


class GapViewer(ClientViewer):
    """bench/viewers.py's viewer, also timing the arrival of each new video frame."""

    def __init__(self, full: bool, slot: Slot) -> None:
        super().__init__(full=full)
        self.slot = slot

    def count(self, pt: int, ssrc: int, seq: int, timestamp: int, size: int) -> None:
        super().count(pt, ssrc, seq, timestamp, size)
        if self.kinds.get(pt) == "video":
            self.slot.video(ssrc, timestamp)


@dataclass
class Connection:
    started: float  # the viewer began this connection (offer made)
    process: str | None = None  # from the Location: /whep/S/PROCESS.RANDOM
    connected: float | None = None  # the peer connection is up
    first_video: float | None = None  # its first video packet
    lost: float | None = None  # the viewer gave it up


@dataclass
class Slot:
    """One viewer, over its connections (a new one after each loss)."""

    full: bool
    viewer: GapViewer | None = None
    connections: list[Connection] = field(default_factory=list)
    last_video: float = 0.0
    last_any: float = 0.0  # any datagram from the gateway (RTP, RTCP, STUN, DTLS)
    _frame: tuple[int, int] = (-1, -1)
    _gap_from: float = 0.0
    max_gap: float = 0.0  # since the last mark
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (end, length) >= GAP_KEEP_S
    next_tick: float = 0.0
    busy: bool = False  # connecting
    failures: list[str] = field(default_factory=list)

    def video(self, ssrc: int, timestamp: int) -> None:
        now = time.monotonic()
        conn = self.connections[-1]
        if conn.first_video is None:
            conn.first_video = now
        self.last_video = now
        if (ssrc, timestamp) == self._frame:
            return
        first = self._frame == (-1, -1)
        self._frame = (ssrc, timestamp)
        if first:  # a connection's first frame: no gap yet
            self._gap_from = now
            return
        gap = now - self._gap_from
        self._gap_from = now
        self.max_gap = max(self.max_gap, gap)
        if gap >= GAP_KEEP_S and len(self.gaps) < 1000:
            self.gaps.append((round(now, 4), round(gap, 4)))

    def mark(self) -> dict[str, Any]:
        snap: dict[str, Any] = {
            "conn": len(self.connections) - 1,
            "process": self.connections[-1].process if self.connections else None,
            "max_gap": round(self.max_gap, 4),
        }
        if self.viewer is not None:
            snap |= self.viewer.snap()
        self.max_gap = 0.0
        return snap


async def _open(slot: Slot, client: httpx.AsyncClient, session: str, token: str) -> bool:
    """The page's join: ask the status (as whep.js does before each offer), then offer."""
    with contextlib.suppress(httpx.HTTPError):
        await client.get(f"/whep/{session}/status", headers={"Authorization": f"Bearer {token}"})
    viewer = GapViewer(slot.full, slot)
    conn = Connection(started=time.monotonic())
    slot.viewer = viewer
    slot.connections.append(conn)
    try:
        ok = await _connect(viewer, client, session, token)
    except Exception as exc:
        ok = False
        slot.failures.append(repr(exc)[:200])
    if viewer.location is not None:
        conn.process = viewer.location.rsplit("/", 1)[1].split(".", 1)[0]
    if ok:
        conn.connected = time.monotonic()
        slot.last_video = max(slot.last_video, conn.connected)  # the page: stalledSince = now
        slot.last_any = conn.connected
        _hear(slot, viewer)
        return True
    conn.lost = time.monotonic()
    slot.failures.append(f"not connected via {conn.process}")
    await _leave(viewer, client, token)
    return False


def _hear(slot: Slot, viewer: ClientViewer) -> None:
    """Note the arrival of every datagram on the viewer's ICE sockets (in front of the
    counting bench/viewers.py's _connect put there)."""
    connection = viewer.pc.getTransceivers()[0].receiver.transport.transport._connection
    for protocol in connection._protocols:
        inner = protocol.datagram_received

        def heard(data: bytes, addr: Any, _inner: Any = inner) -> None:
            slot.last_any = time.monotonic()
            _inner(data, addr)

        protocol.datagram_received = heard


async def _leave(viewer: ClientViewer, client: httpx.AsyncClient, token: str) -> None:
    if viewer.location is not None:
        with contextlib.suppress(httpx.HTTPError):
            await client.delete(viewer.location, headers={"Authorization": f"Bearer {token}"})
    if viewer.pc is not None:
        with contextlib.suppress(Exception):
            await viewer.pc.close()


async def _reconnect(slot: Slot, client: httpx.AsyncClient, session: str, token: str) -> None:
    """The page's restart: leave, next tick ask the status, offer; again until it holds."""
    slot.busy = True
    try:
        assert slot.viewer is not None
        slot.connections[-1].lost = time.monotonic()
        old, slot.viewer = slot.viewer, None
        leaving = asyncio.ensure_future(_leave(old, client, token))  # the page does not wait
        _BACKGROUND.add(leaving)
        leaving.add_done_callback(_BACKGROUND.discard)
        slot._frame = (-1, -1)
        while True:
            await asyncio.sleep(RETRY_S * random.uniform(0.8, 1.2))
            if await _open(slot, client, session, token):
                return
    finally:
        slot.busy = False


async def client_main(
    base: str, session: str, token: str, light: int, full: int, mode: str
) -> None:
    from cloud.gateway.gateway import offer_loopback_candidates

    offer_loopback_candidates()
    loop = asyncio.get_running_loop()
    slots = [Slot(full=i < full) for i in range(light + full)]
    gate = asyncio.Semaphore(CONNECT_PARALLEL)
    marks: dict[str, Any] = {}
    tasks: set[asyncio.Task[None]] = set()

    def say(msg: dict[str, Any]) -> None:
        print(json.dumps(msg), flush=True)

    async def hi_layer(request: httpx.Request) -> None:
        """Offers ask for mode=high (the page asks for its mode the same way): a viewer
        that lands on an edge whose lo layer arrived before hi starts on lo, and light
        viewers send no receiver reports, on which "auto" would move them up."""
        if request.method == "POST" and re.fullmatch(r"/whep/[^/]+", request.url.path):
            request.url = request.url.copy_add_param("mode", mode)

    hooks = {"request": [hi_layer]}
    async with httpx.AsyncClient(base_url=base, timeout=60, event_hooks=hooks) as client:

        async def first(slot: Slot) -> bool:
            async with gate:
                return await _open(slot, client, session, token)

        ok = await asyncio.gather(*[first(s) for s in slots])
        say({"event": "ready", "connected": sum(ok)})

        async def ticker() -> None:
            for slot in slots:
                slot.next_tick = time.monotonic() + random.uniform(0, TICK_S)
            while True:
                await asyncio.sleep(0.1)
                now = time.monotonic()
                for slot in slots:
                    if slot.busy or now < slot.next_tick:
                        continue
                    slot.next_tick += TICK_S
                    # The page restarts a peer that is disconnected (no packet at all for
                    # 2.5 s), or live yet shows no new frame for 6 s.
                    lost = now - slot.last_any > LOST_S or now - slot.last_video > STALL_S
                    if slot.viewer is not None and lost:
                        task = asyncio.ensure_future(_reconnect(slot, client, session, token))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)

        stalls: list[tuple[float, float]] = []

        async def lag() -> None:
            """This process's own stalls (its event loop late by > LAG_KEEP_S): a frame
            gap a viewer sees while its client was stalled may be the client's, not the
            gateway's (arrival is timed when the loop reads the datagram)."""
            while True:
                before = time.monotonic()
                await asyncio.sleep(0.01)
                late = time.monotonic() - before - 0.01
                if late > LAG_KEEP_S and len(stalls) < 1000:
                    stalls.append((round(before, 4), round(late, 4)))

        watch = asyncio.ensure_future(ticker())
        lagging = asyncio.ensure_future(lag())
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "report":
                break
            if line[0] == "mark":
                marks[line[1]] = {
                    "t": time.monotonic(),
                    "cpu_s": time.process_time(),
                    "slots": [s.mark() for s in slots],
                }
        watch.cancel()
        lagging.cancel()
        say(
            {
                "event": "result",
                "marks": marks,
                "stalls": stalls,
                "slots": [
                    {
                        "full": s.full,
                        "connections": [asdict(c) for c in s.connections],
                        "gaps": s.gaps,
                        "failures": s.failures[-10:],
                    }
                    for s in slots
                ],
            }
        )
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(
            *[_leave(s.viewer, client, token) for s in slots if s.viewer is not None]
        )


# --- the orchestrator -------------------------------------------------------------------------


def haproxy_config(processes: int, work: Path, shipped: Path = HAPROXY_CFG) -> Path:
    """The shipped config; past 2 processes, each of its backend-2 lines (use-server,
    server) followed by the same line for each further process."""
    if processes <= 2:
        return shipped
    lines = []
    for line in shipped.read_text().splitlines(keepends=True):
        lines.append(line)
        if line.startswith("\t") and "backend-2" in line:
            lines += [
                line.replace("backend-2", f"backend-{i}").replace("_2}", f"_{i}}}")
                for i in range(3, processes + 1)
            ]
    path = work / "haproxy.cfg"
    path.write_text("".join(lines))
    return path


def start_haproxy(
    work: Path, processes: list[tuple[str, str]], shipped: Path
) -> tuple[Server, str]:
    port = free_port()
    env = {"RETURNFEED_LISTEN": f"127.0.0.1:{port}"}
    for name, base in processes:
        env[f"RETURNFEED_BACKEND_{name.rsplit('-', 1)[1]}"] = base.removeprefix("http://")
    cfg = haproxy_config(len(processes), work, shipped)
    proxy = Server([HAPROXY, "-db", "-f", str(cfg)], work / "haproxy.log", port, env)
    return proxy, f"http://127.0.0.1:{port}"


def machine_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs so far."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def loadavg() -> list[float]:
    return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]


@dataclass
class Proc:
    name: str
    pid: int
    base: str | None = None  # a backend's URL


class Sampler:
    """CPU of each process, the gateways' drop counters and the machine's busy share."""

    def __init__(self, procs: list[Proc]) -> None:
        self.procs = procs

    def layers(self) -> dict[str, dict[str, int]]:
        """Each backend's viewers by the layer they get (simulcast_active_viewers)."""
        out: dict[str, dict[str, int]] = {}
        for p in self.procs:
            if p.base is None:
                continue
            with contextlib.suppress(httpx.HTTPError):
                text = metrics_text(p.base)
                mine = out[p.name] = {}
                for line in text.splitlines():
                    if line.startswith("simulcast_active_viewers{"):
                        found = re.search(r'quality="(\w+)"', line)
                        if found:
                            value = int(float(line.rsplit(" ", 1)[1]))
                            mine[found.group(1)] = mine.get(found.group(1), 0) + value
        return out

    def _dropped(self) -> dict[str, float]:
        dropped: dict[str, float] = {}
        for p in self.procs:
            if p.base is not None:
                with contextlib.suppress(httpx.HTTPError):
                    dropped[p.name] = _metric(metrics_text(p.base), DROPPED)
        return dropped

    def take(self, children: list[subprocess.Popen[str]], mark: str, start: bool) -> dict[str, Any]:
        """The clients' mark and the CPU readings at one moment; the drop counters (a
        scrape of each /metrics, slow on a loaded machine) before a window's start and
        after its end, so the window they cover holds the measured one."""
        dropped = self._dropped() if start else {}
        tell(children, f"mark {mark}")
        cpu = {p.name: proc_stats(p.pid).cpu_s for p in self.procs}
        busy, total = machine_ticks()
        t = time.monotonic()
        if not start:
            dropped = self._dropped()
        return {
            "t": t,
            "cpu": cpu,
            "dropped": dropped,
            "busy": busy,
            "total": total,
            "load": loadavg(),
        }


def _window_rows(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """Per viewer (from both marks of one connection): bench/viewers.py's (before, after)."""
    rows = []
    for b, a in zip(before["slots"], after["slots"], strict=True):
        if b["conn"] == a["conn"] and "ssrcs" in b and "ssrcs" in a:
            rows.append({"process": a["process"], "pair": (b, a), "max_gap": a["max_gap"]})
    return rows


def window(
    s0: dict[str, Any],
    s1: dict[str, Any],
    clients: list[dict[str, Any]],
    m0: str,
    m1: str,
    backends: list[str],
    counts: dict[str, int],
) -> dict[str, Any]:
    wall = s1["t"] - s0["t"]
    # The viewers' own window: from each client's marks (told at the same moment).
    seen = statistics.median(c["marks"][m1]["t"] - c["marks"][m0]["t"] for c in clients)
    rows = [r for c in clients for r in _window_rows(c["marks"][m0], c["marks"][m1])]
    moved: dict[str, int] = {}
    for c in clients:
        for b, a in zip(c["marks"][m0]["slots"], c["marks"][m1]["slots"], strict=True):
            if b["conn"] != a["conn"]:
                moved[a["process"]] = moved.get(a["process"], 0) + 1
    per: dict[str, Any] = {}
    for name in backends:
        if name not in s1["cpu"]:
            continue
        mine = [r for r in rows if r["process"] == name]
        counted = _viewer_rows([{"viewers": [r["pair"] for r in mine]}], seen)
        gw_dropped = int(s1["dropped"].get(name, 0) - s0["dropped"].get(name, 0))
        per_frame = (counted["video_pps_median"] or 0) / (counted["video_fps_median"] or 1)
        total = counted["packets_sent"] + gw_dropped * per_frame
        per[name] = {
            "viewers": len(mine),
            "viewers_by_status": counts.get(name),
            "came_in_window": moved.get(name, 0),
            "cpu_pct": round(100 * (s1["cpu"][name] - s0["cpu"][name]) / wall, 1),
            "gateway_dropped": gw_dropped,
            "packets_sent": counted["packets_sent"],
            "packets_lost": counted["packets_lost"],
            "drop_pct": round(100 * (counted["packets_lost"] + gw_dropped * per_frame) / total, 3)
            if total
            else None,
            "video_fps_median": counted["video_fps_median"],
            "video_kbps_median": counted["video_kbps_median"],
            "full_viewers_decoded_fps": counted["full_viewers_decoded_fps"],
            "longest_frame_gap_s": max((r["max_gap"] for r in mine), default=None),
        }
    others = {
        name: round(100 * (s1["cpu"][name] - s0["cpu"][name]) / wall, 1)
        for name in s1["cpu"]
        if name not in backends and name in s0["cpu"]
    }
    client_cpu = sum(c["marks"][m1]["cpu_s"] - c["marks"][m0]["cpu_s"] for c in clients)
    return {
        "wall_s": round(wall, 2),
        "viewers_window_s": round(seen, 2),
        "viewers": sum(p["viewers"] for p in per.values()),
        "reconnected_in_window": sum(moved.values()),
        "per_process": per,
        "clients_cpu_pct": round(100 * client_cpu / wall, 1),
        "other_cpu_pct": others,
        "machine_busy_pct": round(100 * (s1["busy"] - s0["busy"]) / (s1["total"] - s0["total"]), 1),
        "loadavg_end": s1["load"],
    }


def statuses(backends: list[Proc], session: str, token: str) -> dict[str, int]:
    out = {}
    for p in backends:
        with contextlib.suppress(httpx.HTTPError, OSError):
            r = httpx.get(
                f"{p.base}/whep/{session}/status",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            out[p.name] = r.json()["viewers"]
    return out


def recovery(
    clients: list[dict[str, Any]], killed: str, t_kill: float, marks: tuple[str, str]
) -> dict[str, Any]:
    victims = []
    survivor_gaps: dict[str, list[float]] = {}
    baseline: dict[str, list[float]] = {}
    landed: dict[str, int] = {}
    for c in clients:
        a0, a1 = (c["marks"][m]["slots"] for m in marks)
        k1 = c["marks"]["kill_end"]["slots"]
        for i, slot in enumerate(c["slots"]):
            at_kill = a1[i]["process"]
            if at_kill == killed:
                conns = slot["connections"][a1[i]["conn"] + 1 :]
                back = next((x for x in conns if x["first_video"] is not None), None)
                lost = slot["connections"][a1[i]["conn"]]["lost"]
                victims.append(
                    {
                        "noticed_s": round(lost - t_kill, 3) if lost else None,
                        "connected_s": round(back["connected"] - t_kill, 3) if back else None,
                        "video_s": round(back["first_video"] - t_kill, 3) if back else None,
                        "landed_on": back["process"] if back else None,
                        "offers": len(conns),
                        "full": slot["full"],
                    }
                )
                if back:
                    landed[back["process"]] = landed.get(back["process"], 0) + 1
            elif at_kill is not None:
                same = k1[i]["conn"] == a1[i]["conn"]
                gap = k1[i]["max_gap"] if same else float("inf")  # reconnected: a gap itself
                survivor_gaps.setdefault(at_kill, []).append(gap)
                if a0[i]["conn"] == a1[i]["conn"]:
                    baseline.setdefault(at_kill, []).append(a1[i]["max_gap"])
    back = [v["video_s"] for v in victims if v["video_s"] is not None]
    # When the survivors' long gaps were: (start, length) after the kill, in window A
    # (before it) for comparison; one row per gap and viewer.
    t_a0 = statistics.median(c["marks"][marks[0]]["t"] for c in clients)
    late: list[tuple[float, float]] = []
    early: list[tuple[float, float]] = []
    for c in clients:
        a1 = c["marks"][marks[1]]["slots"]
        for i, slot in enumerate(c["slots"]):
            if a1[i]["process"] in (killed, None):
                continue
            for end, length in slot["gaps"]:
                row = (round(end - length - t_kill, 2), round(length, 3))
                if t_kill < end <= c["marks"]["kill_end"]["t"]:
                    late.append(row)
                elif t_a0 < end <= t_kill:
                    early.append(row)

    def q(values: list[float], p: float) -> float:
        values = sorted(values)
        return round(values[min(len(values) - 1, int(p * len(values)))], 3)

    stalls_late: list[tuple[float, float]] = []
    stalls_early: list[tuple[float, float]] = []
    for c in clients:
        for start, length in c.get("stalls", []):
            row = (round(start - t_kill, 2), round(length, 3))
            if t_kill < start + length and start <= c["marks"]["kill_end"]["t"]:
                stalls_late.append(row)
            elif t_a0 < start + length <= t_kill:
                stalls_early.append(row)
    return {
        "killed": killed,
        "killed_viewers": len(victims),
        "back_with_video": len(back),
        "time_to_video_s": {
            "min": round(min(back), 3),
            "median": round(statistics.median(back), 3),
            "p90": q(back, 0.9),
            "max": round(max(back), 3),
        }
        if back
        else None,
        "noticed_median_s": round(statistics.median(v["noticed_s"] for v in victims), 3)
        if victims and all(v["noticed_s"] is not None for v in victims)
        else None,
        "landed_on": landed,
        "victims": victims,
        "survivor_gaps_over_s": GAP_KEEP_S,
        "survivor_gaps_after_kill": sorted(late),
        "survivor_gaps_window_a": sorted(early),
        "client_stalls_over_s": LAG_KEEP_S,
        "client_stalls_after_kill": sorted(stalls_late),
        "client_stalls_window_a": sorted(stalls_early),
        "survivors": {
            name: {
                "viewers": len(gaps),
                "reconnected": sum(g == float("inf") for g in gaps),
                "longest_frame_gap_s": max(gaps) if gaps else None,
                "median_longest_gap_s": round(statistics.median(gaps), 3) if gaps else None,
                "window_a_longest_gap_s": max(baseline.get(name, []), default=None),
            }
            for name, gaps in sorted(survivor_gaps.items())
        },
    }


def tell(children: list[subprocess.Popen[str]], line: str) -> None:
    for child in children:
        assert child.stdin is not None
        child.stdin.write(line + "\n")
        child.stdin.flush()


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    load_before = loadavg()
    started: list[Server] = []
    children: list[subprocess.Popen[str]] = []
    send: subprocess.Popen[bytes] | None = None
    try:
        redis, redis_url = start_redis(work)
        started.append(redis)
        os.environ["RETURNFEED_JWT_SECRET"] = secrets.token_urlsafe(32)  # one deployment
        limits = ["--max-viewers-per-token", "100000", "--max-viewers-per-session", "100000"]
        db = f"sqlite:///{work / 'rf.db'}"
        backends: list[Proc] = []
        owner_srt = udp_port()
        for i in range(1, args.processes + 1):
            name = f"backend-{i}"
            (work / name).mkdir()
            srt_port = owner_srt if i == 1 else udp_port()
            server, base = start_cloud(
                work / name,
                db,
                *("--srt-port", str(srt_port), "--redis-url", redis_url),
                *("--process-id", name, *limits),
            )
            started.append(server)
            backends.append(Proc(name, server.pid, base))
        pairs = [(p.name, p.base or "") for p in backends]
        proxy, front = start_haproxy(work, pairs, args.haproxy_config)
        started.append(proxy)
        owner = backends[0]
        assert owner.base is not None
        show = new_show(owner.base)  # its /srt read at backend-1: backend-1 owns the session
        session, token = show["session"], show["viewer"]
        health = httpx.get(f"{owner.base}/api/health", timeout=10).json()
        assert session in health["scale"]["owns"], health["scale"]
        env = {
            "RETURNFEED_SRT_PASSPHRASE": show["srt"]["passphrase"],
            "RETURNFEED_PUBLISH_TOKEN": show["srt"]["publish_token"],
            "RETURNFEED_DIRECTOR_TOKEN": show["director"],
            "PATH": "/usr/bin:/bin",
        }
        source = "test:Bench" if args.content == "test" else f"file:{noisy_clip(work)}"
        argv = [str(RETURNFEED), "send", "--source", source, "--encoder", "libx264"]
        argv += ["--srt-url", f"srt://127.0.0.1:{owner_srt}", f"--session={session}"]
        argv += ["--cloud", front]  # the director's app reaches the backends through haproxy
        send = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=(work / "send.log").open("wb")
        )
        auth = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 30
        while not httpx.get(f"{owner.base}/whep/{session}/status", headers=auth).json()["live"]:
            if time.monotonic() > deadline:
                raise RuntimeError("the director's program never went live at the owner")
            time.sleep(0.2)

        full = min(args.full, args.viewers)
        light = args.viewers - full
        procs = max(1, min(args.clients, args.viewers))
        shares = [light // procs + (1 if i < light % procs else 0) for i in range(procs)]
        for i, share in enumerate(shares):
            cmd = [sys.executable, "-m", "bench.scale_viewers", "--client", "--base", front]
            cmd += [f"--session={session}", "--token", token]
            cmd += ["--light", str(share), "--full", str(full if i == 0 else 0)]
            cmd += ["--mode", args.mode]
            children.append(
                subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            )
        connected = 0
        for child in children:
            assert child.stdout is not None
            line = child.stdout.readline()
            if not line:
                raise RuntimeError("a viewer process died before it was ready")
            connected += json.loads(line)["connected"]
        print(f"{connected}/{args.viewers} viewers connected", file=sys.stderr, flush=True)

        others = [Proc(f"client-{i + 1}", c.pid) for i, c in enumerate(children)]
        others += [Proc("sender", send.pid), Proc("haproxy", proxy.pid), Proc("redis", redis.pid)]
        sampler = Sampler([*backends, *others])
        names = [p.name for p in backends]
        time.sleep(2.0)  # past the first IDR everywhere, and the edges' pulls settled
        a0 = sampler.take(children, "a0", start=True)
        time.sleep(args.seconds)
        a1 = sampler.take(children, "a1", start=False)
        status_a = statuses(backends, session, token)
        layers_a = sampler.layers()

        victim = backends[-1]
        t_kill = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        sampler.procs.remove(victim)
        time.sleep(args.recovery)
        k1 = sampler.take(children, "kill_end", start=False)
        c0 = sampler.take(children, "c0", start=True)
        time.sleep(args.seconds)
        c1 = sampler.take(children, "c1", start=False)
        status_c = statuses(backends, session, token)
        layers_c = sampler.layers()
        tell(children, "report")
        results = []
        for child in children:
            assert child.stdout is not None
            results.append(json.loads(child.stdout.readline()))
        for child in children:
            child.wait(120)
        load_after = loadavg()
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
        if send is not None:
            send.terminate()
            try:
                send.wait(10)
            except subprocess.TimeoutExpired:
                send.kill()
                send.wait()
        for server in reversed(started):
            server.stop()
    kill_window = window(a1, k1, results, "a1", "kill_end", names, {})
    return {
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "content": args.content,
        "processes": args.processes,
        "haproxy_config": str(args.haproxy_config),
        "owner": owner.name,
        "viewers": args.viewers,
        "connected": connected,
        "full_viewers": full,
        "client_processes": procs,
        "seconds": args.seconds,
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "cpu_pct_of": "one core (user + system over the window / wall time, all threads)",
        "mode": args.mode,
        "before_kill": window(a0, a1, results, "a0", "a1", names, status_a) | {"layers": layers_a},
        "kill": recovery(results, victim.name, t_kill, ("a0", "a1"))
        | {
            "recovery_window_s": args.recovery,
            "gateway_dropped_survivors": {
                n: p["gateway_dropped"] for n, p in kill_window["per_process"].items()
            },
            "packets_lost_survivors": {
                n: p["packets_lost"] for n, p in kill_window["per_process"].items()
            },
            "machine_busy_pct": kill_window["machine_busy_pct"],
            "clients_cpu_pct": kill_window["clients_cpu_pct"],
        },
        "after_kill": window(c0, c1, results, "c0", "c1", names, status_c) | {"layers": layers_c},
        "failures": [f for r in results for s in r["slots"] for f in s["failures"]][:20],
    }


def plot(out: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (load_ax, kill_ax) = plt.subplots(1, 2, figsize=(11, 4))
    before, after = out["before_kill"]["per_process"], out["after_kill"]["per_process"]
    names = list(before)
    x = range(len(names))
    load_ax.bar([i - 0.2 for i in x], [before[n]["viewers"] for n in names], 0.4, label="viewers")
    load_ax.bar(
        [i + 0.2 for i in x],
        [after.get(n, {}).get("viewers", 0) for n in names],
        0.4,
        label="viewers after the kill",
    )
    load_ax.set_xticks(list(x), names)
    load_ax.set_ylabel("viewers")
    cpu_ax = load_ax.twinx()
    cpu_ax.plot(list(x), [before[n]["cpu_pct"] for n in names], "ko-", label="CPU % before")
    cpu_ax.plot(
        [i for i, n in enumerate(names) if n in after],
        [after[n]["cpu_pct"] for n in names if n in after],
        "rs--",
        label="CPU % after",
    )
    cpu_ax.set_ylabel("CPU, % of one core")
    cpu_ax.set_ylim(bottom=0)
    load_ax.legend(loc="lower left", fontsize=8)
    cpu_ax.legend(loc="lower right", fontsize=8)
    load_ax.set_title(f"{out['connected']} viewers, load {out['before_kill']['loadavg_end']}")
    kill = out["kill"]
    back = sorted(v["video_s"] for v in kill["victims"] if v["video_s"] is not None)
    kill_ax.plot(back, [i + 1 for i in range(len(back))], "o-", label=f"{kill['killed']}'s viewers")
    gaps = kill.get("survivor_gaps_after_kill") or []
    if gaps:
        gap_ax = kill_ax.twinx()
        gap_ax.scatter([g[0] for g in gaps], [g[1] for g in gaps], s=10, c="grey", marker="x")
        gap_ax.set_ylabel(f"other viewers' frame gaps > {kill['survivor_gaps_over_s']} s, at start")
        gap_ax.set_ylim(bottom=0)
    kill_ax.set_xlabel("seconds after kill -9 of an edge")
    kill_ax.set_ylabel("viewers with video again")
    longest = max((v["longest_frame_gap_s"] for v in kill["survivors"].values()), default=0)
    kill_ax.set_title(
        f"the killed edge's viewers back through haproxy\n"
        f"(x: the other viewers' gaps; longest {longest:.2f} s)",
        fontsize=10,
    )
    kill_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--processes", type=int, default=3, choices=(2, 3, 4, 5))
    p.add_argument("--viewers", type=int, default=60)
    p.add_argument("--seconds", type=float, default=15.0, help="each measured window")
    p.add_argument("--recovery", type=float, default=15.0, help="watched after the kill")
    p.add_argument("--clients", type=int, default=3, help="viewer processes")
    p.add_argument("--full", type=int, default=2, help="viewers that decode (first process)")
    p.add_argument("--content", choices=("noisy", "test"), default="noisy")
    p.add_argument(
        "--mode",
        choices=("high", "auto", "low"),
        default="high",
        help="the viewers' mode (the page's default is auto; light viewers send no receiver "
        "reports, so under auto one that starts on lo stays there)",
    )
    p.add_argument("--plot", action="store_true", help="also write scale_viewers.png")
    p.add_argument("--out", type=Path, default=RESULTS / "scale_viewers.json")
    p.add_argument(
        "--haproxy-config",
        type=Path,
        default=HAPROXY_CFG,
        help="the balancer's config (default: the shipped deploy/haproxy.cfg)",
    )
    p.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--base", help=argparse.SUPPRESS)
    p.add_argument("--session", help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--light", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    raise_open_files_limit()
    if args.client:
        asyncio.run(
            client_main(args.base, args.session, args.token, args.light, args.full, args.mode)
        )
        return
    with tempfile.TemporaryDirectory(prefix="rf-scale-viewers-") as tmp:
        out = run(args, Path(tmp))
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    if args.plot:
        plot(out, args.out.with_suffix(".png"))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
