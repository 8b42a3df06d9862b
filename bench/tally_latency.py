"""Tally relay latency: the director's cut to every phone's screen, with N phones connected.

Run from the repository root:  python -m bench.tally_latency [--clients 100,500,1000,2000]
    [--changes 200] [--interval-ms 50] [--procs 2] [--redis] [--ws relay] [--plot]

The real `returnfeed-cloud` serves on loopback. N phones are real WebSocket clients spread
over --procs client processes (a lean asyncio protocol each, so the clients cost little CPU
next to the server); the director is `app.relay_client.RelayClient` in this process. It
changes program --changes times, --interval-ms apart. Latency is from just before the
director's `set_bus` call to the moment each phone's process reads the delta off its socket,
both taken with time.monotonic_ns(): CLOCK_MONOTONIC, one clock for every process on the
machine. Server CPU (user + system, % of one core) and RSS come from /proc.
With --redis two backend processes share one SQLite file and a redis-server; the phones are
split between them and the director is on the first, so half the phones are one hop away.
Prints JSON, writes bench/results/tally_latency.json (and .png with --plot).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, cast

import httpx

from app.relay_client import Connected, RelayClient
from bench._common import proc_stats, raise_open_files_limit, start_cloud, start_redis
from tally import Camera

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = {"clients": 1000, "p99_ms": 30.0}
CAMERAS = 8
DELTA = b'{"v":1,"type":"delta","seq":'
SNAPSHOT = b'{"v":1,"type":"snapshot","seq":'


# --- the phones: a lean WebSocket client per connection ---------------------------------------


def _frame(text: str) -> bytes:
    """A masked client text frame (RFC 6455 requires clients to mask)."""
    payload = text.encode()
    key = os.urandom(4)
    masked = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    size = len(payload)
    head = bytes([0x81, 0x80 | size]) if size < 126 else bytes([0x81, 0xFE]) + size.to_bytes(2)
    return head + key + masked


class Phone(asyncio.Protocol):
    def __init__(self, request: bytes, ready: asyncio.Future[None]) -> None:
        self._request = request
        self._ready = ready
        self._buf = bytearray()
        self._open = False
        self.transport: asyncio.Transport | None = None
        self.got: list[tuple[int, int]] = []  # (seq, monotonic ns) of each delta or snapshot
        self.closed: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._ready.done():
            self._ready.set_exception(ConnectionError(f"lost before the snapshot: {exc}"))

    def send(self, text: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_frame(text))

    def data_received(self, data: bytes) -> None:
        now = time.monotonic_ns()  # one arrival time for everything in this read
        buf = self._buf
        buf += data
        if not self._open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in buf[: buf.find(b"\r\n")]:
                self._ready.set_exception(ConnectionError(bytes(buf[:200]).decode(errors="ignore")))
                return
            del buf[: end + 4]
            self._open = True
            hello = '{"v":1,"type":"hello","role":"camera","protocol":1,"capabilities":[]}'
            self.send(hello)
        while len(buf) >= 2:
            size, head = buf[1] & 0x7F, 2
            if size == 126:
                if len(buf) < 4:
                    return
                size, head = int.from_bytes(buf[2:4]), 4
            elif size == 127:
                if len(buf) < 10:
                    return
                size, head = int.from_bytes(buf[2:10]), 10
            if len(buf) < head + size:
                return
            opcode = buf[0] & 0x0F
            payload = bytes(buf[head : head + size])
            del buf[: head + size]
            if opcode == 8:
                self.closed = int.from_bytes(payload[:2]) if len(payload) >= 2 else 1005
            elif opcode == 1:
                self._message(payload, now)

    def _message(self, payload: bytes, now: int) -> None:
        for prefix in (DELTA, SNAPSHOT):
            if payload.startswith(prefix):
                start = len(prefix)
                seq = int(payload[start : payload.index(b",", start)])
                self.got.append((seq, now))
                if not self._ready.done():
                    self._ready.set_result(None)
                return


async def _phones_main(urls: list[str], tokens: list[str], conn: Connection) -> None:
    loop = asyncio.get_running_loop()
    phones: list[Phone] = []
    gate = asyncio.Semaphore(50)  # connect in waves: the accept backlog is finite

    async def connect(index: int) -> None:
        url = urls[index % len(urls)]
        host_port, path = url.removeprefix("ws://").split("/", 1)
        host, port = host_port.split(":")
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {tokens[index % len(tokens)]}\r\n\r\n"
        ).encode()
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            _, phone = await loop.create_connection(lambda: Phone(request, ready), host, int(port))
            await asyncio.wait_for(ready, 30)
        phones.append(phone)

    async def heartbeats() -> None:
        # Every phone beats every 3 s from the moment it is connected, spread like real phones.
        turn, due, last = 0, 0.0, time.monotonic()
        while True:
            await asyncio.sleep(0.05)
            now = time.monotonic()
            due += len(phones) * (now - last) / 3.0
            last = now
            while due >= 1.0 and phones:
                turn = (turn + 1) % len(phones)
                phones[turn].send(f'{{"v":1,"type":"heartbeat","ts":{time.time() * 1000:.0f}}}')
                due -= 1.0

    beat = asyncio.create_task(heartbeats())
    await asyncio.gather(*(connect(i) for i in range(int(conn.recv()))))
    conn.send(("ready", len(phones)))
    await loop.run_in_executor(None, conn.recv)  # "stop"
    beat.cancel()
    conn.send(
        {
            "got": [phone.got for phone in phones],
            "closed": [phone.closed for phone in phones if phone.closed is not None],
        }
    )
    for phone in phones:
        if phone.transport is not None:
            phone.transport.close()


def _phones_process(urls: list[str], tokens: list[str], conn: Connection) -> None:
    raise_open_files_limit()
    gc.disable()  # a measuring instrument: its own collector pauses would count as latency
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_phones_main(urls, tokens, conn))


# --- the show -------------------------------------------------------------------------------


def _setup(base: str) -> tuple[str, str, list[str]]:
    """A director, a session with 8 cameras, and one camera-phone token per camera."""
    with httpx.Client(base_url=base, timeout=30) as http:
        email = f"bench-{time.time_ns()}@example.com"
        body = {"email": email, "password": "correct horse battery", "display_name": "Bench"}
        access = http.post("/api/auth/register", json=body).json()["tokens"]["access_token"]
        auth = {"Authorization": f"Bearer {access}"}
        cameras = [{"number": n, "name": f"Cam {n}"} for n in range(1, CAMERAS + 1)]
        session = http.post(
            "/api/sessions", json={"name": "Bench", "cameras": cameras}, headers=auth
        )
        sid = session.json()["id"]
        tokens = []
        for n in range(1, CAMERAS + 1):
            invite = http.post(
                f"/api/sessions/{sid}/invites",
                json={"role": "camera", "camera_number": n},
                headers=auth,
            ).json()
            joined = http.post("/api/invites/redeem", json={"token": invite["token"]}).json()
            tokens.append(joined["participant_token"])
    return access, sid, tokens


async def _direct(url: str, access: str, changes: int, interval_s: float) -> tuple[int, list[int]]:
    """The director: map the cameras, then cut `changes` times; returns (first seq, send times)."""
    client = RelayClient(url, access, burst=10_000, rate=10_000.0)
    await client.start()
    while not isinstance(await client.next_event(), Connected):
        pass
    client.set_cameras(
        [Camera(n, f"Cam {n}", f"src{n}") for n in range(1, CAMERAS + 1)], live_only=False
    )
    client.set_bus(["src1"], ["src2"])
    await asyncio.sleep(1.0)  # every phone has the new snapshot and the first bus by now
    base = client.stats.seq
    assert base is not None
    gc.collect()
    gc.disable()  # as in the phones: the director's pauses are not the relay's
    sent: list[int] = []
    for i in range(changes):
        program, preview = f"src{(i + 1) % CAMERAS + 1}", f"src{(i + 2) % CAMERAS + 1}"
        sent.append(time.monotonic_ns())
        client.set_bus([program], [preview])
        await asyncio.sleep(interval_s)
    await asyncio.sleep(1.0)  # stragglers
    gc.enable()
    await client.close()
    return base, sent


def run_case(
    clients: int, changes: int, interval_s: float, procs: int, redis: bool, ws: str
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="rf-bench-"))
    database = f"sqlite:///{work / 'returnfeed.db'}"
    relay = ["--relay-burst", "10000", "--relay-rate", "10000", "--ws", ws]
    servers = []
    try:
        if redis:
            redis_server, redis_url = start_redis(work)
            servers.append(redis_server)
            relay += ["--redis-url", redis_url]
        first, base = start_cloud(work, database, *relay)
        servers.append(first)
        backends = [(first, base)]
        if redis:
            second, base2 = start_cloud(work, database, *relay)
            servers.append(second)
            backends.append((second, base2))
        access, sid, tokens = _setup(base)
        urls = [f"ws://{b.removeprefix('http://')}/api/relay/{sid}" for _, b in backends]
        ctx = mp.get_context("spawn")
        pipes = []
        for index in range(procs):
            ours, theirs = ctx.Pipe()
            # Each process gets its share of phones, alternating between backends.
            share = [urls[(index + k) % len(urls)] for k in range(len(urls))]
            process = ctx.Process(target=_phones_process, args=(share, tokens, theirs))
            process.start()
            pipes.append((process, ours))
        for index, (_, pipe) in enumerate(pipes):
            pipe.send(clients // procs + (1 if index < clients % procs else 0))
        connected = sum(pipe.recv()[1] for _, pipe in pipes)
        before = [proc_stats(server.pid) for server, _ in backends]
        started = time.monotonic()
        seq0, sent = asyncio.run(_direct(urls[0], access, changes, interval_s))
        wall = time.monotonic() - started
        after = [proc_stats(server.pid) for server, _ in backends]
        results = []
        for process, pipe in pipes:
            pipe.send("stop")
            results.append(pipe.recv())
            process.join(30)
        return _summarise(
            clients, connected, changes, seq0, sent, results, before, after, wall, redis, ws
        )
    finally:
        for server in reversed(servers):
            server.stop()


def _summarise(
    clients: int,
    connected: int,
    changes: int,
    seq0: int,
    sent: Sequence[int],
    results: list[dict[str, Any]],
    before: list[Any],
    after: list[Any],
    wall: float,
    redis: bool,
    ws: str,
) -> dict[str, Any]:
    latencies: list[float] = []
    for result in results:
        for got in result["got"]:
            for seq, at in got:
                index = seq - seq0 - 1
                if 0 <= index < len(sent):
                    latencies.append((at - sent[index]) / 1e6)
    latencies.sort()
    expected = connected * changes

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 2)

    closed = [code for result in results for code in result["closed"]]
    return {
        "mode": "redis, 2 backends" if redis else "single backend",
        "ws": ws,
        "clients": clients,
        "connected": connected,
        "changes": changes,
        "received": len(latencies),
        "missing": expected - len(latencies),
        "closed_by_server": {str(code): closed.count(code) for code in sorted(set(closed))},
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(latencies[-1], 2) if latencies else None,
        "mean_ms": round(statistics.fmean(latencies), 2) if latencies else None,
        "server_cpu_percent": [
            round(100 * (a.cpu_s - b.cpu_s) / wall, 1) for a, b in zip(after, before, strict=True)
        ],
        "server_rss_mb": [round(a.rss_mb, 1) for a in after],
        "server_peak_rss_mb": [round(a.peak_rss_mb, 1) for a in after],
    }


def _plot(results: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colours = iter(["tab:blue", "tab:orange", "tab:green"])
    for mode in sorted({r["mode"] for r in results}):
        rows = sorted((r for r in results if r["mode"] == mode), key=lambda r: r["clients"])
        xs = [r["clients"] for r in rows]
        colour = next(colours)
        for key, style in (("p50_ms", "-o"), ("p99_ms", "--s"), ("max_ms", ":^")):
            ys = [r[key] for r in rows]
            ax.plot(xs, ys, style, color=colour, label=f"{key[:-3]} · {mode}")
    ax.axhline(TARGET["p99_ms"], color="red", lw=0.8, ls="--", label="p99 target")
    ax.set_xlabel("phones connected")
    ax.set_ylabel("director cut → phone (ms)")
    ax.set_title("Tally relay latency on loopback")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", default="100,500,1000,2000", help="phone counts to run")
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--interval-ms", type=float, default=50.0)
    parser.add_argument("--procs", type=int, default=2, help="client processes")
    parser.add_argument("--redis", action="store_true", help="also run two backends over Redis")
    parser.add_argument("--redis-only", action="store_true", help="only the Redis mode")
    parser.add_argument(
        "--ws", default="relay", help="the backend's --ws (relay, websockets-sansio)"
    )
    parser.add_argument("--plot", action="store_true", help="also write tally_latency.png")
    args = parser.parse_args(argv)
    raise_open_files_limit()
    modes = [True] if args.redis_only else [False, True] if args.redis else [False]
    results = []
    for redis in modes:
        for clients in (int(n) for n in args.clients.split(",")):
            result = run_case(
                clients, args.changes, args.interval_ms / 1000, args.procs, redis, args.ws
            )
            print(json.dumps(result), flush=True)
            results.append(result)
    report = {
        "benchmark": "tally_latency",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "clock": "time.monotonic_ns (CLOCK_MONOTONIC, shared by all processes)",
        "target": TARGET,
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tally_latency.json").write_text(json.dumps(report, indent=2) + "\n")
    if args.plot:
        _plot(results, RESULTS / "tally_latency.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
