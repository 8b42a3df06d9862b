"""A compressed long show: outages at random moments, and how long each link takes to return.

Written once for tests/faults/test_soak.py (a short seed in CI) and bench/soak.py (a long
one). The rig is the chain of tests/faults/chain.py (the real backend, the app's core live
with its control API, a phone page and a viewer page in Chromium) with two additions that
let an outage land anywhere:

- The app's SRT goes through a lossy UDP relay (tests/support/lossy_relay.py) that can drop
  everything: the backend binds its ingest to 127.0.0.2:P and tells the app 127.0.0.1:P (its
  public host), where the relay listens and forwards to 127.0.0.2:P.
- Every token lives seconds (ACCESS_TTL_S and the rest below): the director's access token
  and the SRT publish token expire inside outages, phone and viewer pages renew theirs, and
  the app re-issues invite links while it runs. A day of a show happens in a minute.

The outages (`kinds_for`), planned by one seeded random.Random: a seed is a schedule.
  kill   kill -9 of the backend; it starts again after the outage (ends: it answers health)
  srt    the SRT path drops every datagram both ways (ends: healed)
  redis  redis-server stopped, then started (ends: PONG); only with --redis-url
  db     PostgreSQL fast shutdown, then started (ends: it accepts connections); on SQLite
         the backend stopped (SIGTERM) and started, the only way its database restarts
  token  a kill -9 longer than an access token lives, so the app's token expires while the
         backend is away and every link must fetch a new one to come back

While it is down the director cuts twice (local switching never stops). When it ends the
director cuts once more through the control API, and each link's recovery is the time from
the outage's end until:
  relay   the app's relay link is connected (LiveChanged) and stays so
  phone   the phone page shows camera 1's new lamp, live (not stale)
  srt     both layers connected in the app, two publishers at the gateway, video flowing
  viewer  the viewer page presents a new frame (requestVideoFrameCallback)
  health  the app's HealthChanged list is empty and stays so
A link not back within `watch_s` is lost; one back later than `bounds` allows is late.
"""

from __future__ import annotations

import glob
import math
import random
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page

from app.runtime import AnyEvent
from app.session_link import events as ev
from app.session_link.link import SessionLink
from media.send.link import LinkPhase
from tests.faults.chain import (
    Backend,
    LiveApp,
    Timeline,
    dataset,
    fault_config,
    live_app,
    new_show,
    page_at,
    poll,
)
from tests.support.browser import phone
from tests.support.lossy_relay import MAX_PEERS, Address, LossyRelay
from tests.support.postgres import PostgresServer
from tests.support.procs import Proc, wait_until
from tests.support.redis import RedisServer

# A day in a minute: an access token lives 4 s (the app renews it in its last second) and
# the SRT publish token 8 s, so both expire inside outages; an invite lives 30 s, so the app
# re-issues links and the pages opened at the start go on as members whose invite expired.
# A phone's or viewer's token lives 90 s and is renewed past half its life: an outage, with
# a backend start-up of up to 20 s on a loaded machine, never outlasts the 45 s left of it
# (one that did would need its expired invite redeemed again, which is refused by design).
ACCESS_TTL_S = 4
SRT_TOKEN_TTL_S = 8
PARTICIPANT_TTL_S = 90
INVITE_TTL_S = 30
TTL_ENV = {
    "RETURNFEED_ACCESS_TTL_S": str(ACCESS_TTL_S),
    "RETURNFEED_SRT_TOKEN_TTL_S": str(SRT_TOKEN_TTL_S),
    "RETURNFEED_PARTICIPANT_TTL_S": str(PARTICIPANT_TTL_S),
    "RETURNFEED_INVITE_TTL_S": str(INVITE_TTL_S),
}
SRT_BIND_HOST = "127.0.0.2"  # the ingest's own address; 127.0.0.1:P is the relay in front
DOWN_S = (1.0, 5.0)  # an outage's length
QUIET_S = (0.5, 3.0)  # the show running undisturbed before an outage: a random moment
WATCH_S = 30.0
LINKS = ("relay", "phone", "srt", "viewer", "health")
CAMERAS = {1: "test-1", 2: "test-2"}
RESTARTS = frozenset({"kill", "token"})  # the backend is a new process afterwards

# A presented-frame count on the viewer's <video>, kept across the page's reconnections
# (each new peer connection starts its own framesDecoded at zero).
FRAME_COUNTER = """() => {
  if (window.__soakFrames !== undefined) return;
  const video = document.querySelector("video");
  window.__soakFrames = 0;
  const tick = () => {
    window.__soakFrames += 1;
    video.requestVideoFrameCallback(tick);
  };
  video.requestVideoFrameCallback(tick);
}"""


class SrtPath(LossyRelay):
    """The lossy relay, forgetting peers silent for FORGET_S. Each SRT connect attempt comes
    from a new port and so becomes a peer; a long soak makes more than the relay's
    MAX_PEERS of them, after which it would refuse the app's next attempt for good."""

    FORGET_S = 10.0

    def __init__(self, seed: int) -> None:
        self._heard: dict[Address, float] = {}  # the relay thread alone uses it
        super().__init__(seed=seed)

    def _from_peer(self, data: bytes, peer: Address) -> None:
        now = time.monotonic()
        self._heard[peer] = now
        if peer not in self._upstream and len(self._upstream) >= MAX_PEERS // 2:
            for old, heard in list(self._heard.items()):
                sock = self._upstream.get(old)
                if now - heard > self.FORGET_S and sock is not None:
                    del self._upstream[old], self._peer_of[sock], self._heard[old]
                    self._selector.unregister(sock)
                    sock.close()  # datagrams still queued for it are skipped
        super()._from_peer(data, peer)


def kinds_for(redis: bool) -> tuple[str, ...]:
    return ("kill", "srt", "db", "token", *(("redis",) if redis else ()))


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outage:
    number: int
    kind: str
    quiet_s: float  # the show runs undisturbed this long first
    down_s: float  # then this part is away this long (a restart's start-up comes on top)


def plan(seed: int, count: int, kinds: Sequence[str]) -> list[Outage]:
    """`count` outages: the kinds in rounds, each round in a random order (so every kind
    comes up and none crowds out another), at random moments, of random lengths."""
    rng = random.Random(seed)
    order: list[str] = []
    while len(order) < count:
        one_round = list(kinds)
        rng.shuffle(one_round)
        order += one_round
    outages = []
    for number, kind in enumerate(order[:count], 1):
        quiet = rng.uniform(*QUIET_S)
        # A token outage outlasts the access token, whenever the app last renewed it.
        low = ACCESS_TTL_S + 0.3 if kind == "token" else DOWN_S[0]
        outages.append(Outage(number, kind, round(quiet, 2), round(rng.uniform(low, DOWN_S[1]), 2)))
    return outages


# --- the rig --------------------------------------------------------------------------------


@dataclass
class Rig:
    backend: Backend
    srt_path: SrtPath
    app: LiveApp
    phone: Page
    viewer: Page
    redis: RedisServer | None
    postgres: PostgresServer | None


@contextmanager
def soak_rig(
    workdir: Path,
    browser: Browser,
    postgres: PostgresServer | None = None,
    redis: RedisServer | None = None,
    seed: int = 0,
) -> Iterator[Rig]:
    """The show on air with short token lifetimes: camera 1 red on the phone page, the
    viewer page presenting frames. `postgres` and `redis`, when given, are the backend's."""
    with ExitStack() as stack:
        path = SrtPath(seed)
        stack.callback(path.close)
        path.set_target((SRT_BIND_HOST, path.port))
        if postgres is not None:
            url = postgres.create_database("rf_soak")
        else:
            url = f"sqlite:///{workdir / 'returnfeed.db'}"
        args = ["--srt-host", SRT_BIND_HOST]
        if redis is not None:
            args += ["--redis-url", redis.url]
        backend = Backend(workdir, url, args, env=TTL_ENV, srt_port=path.port)
        stack.callback(backend.stop)
        show = new_show(backend)
        app = stack.enter_context(live_app(backend, show, fault_config(), CAMERAS))
        app.post("/api/program/test-1")
        app.post("/api/preview/test-2")
        _, cam1 = stack.enter_context(phone(browser))
        cam1.goto(app.invite_url("camera", 1))
        watch = stack.enter_context(
            page_at(browser, app.invite_url("viewer"), viewport={"width": 640, "height": 400})
        )
        poll(lambda: lamp_is(cam1, "program"), 20, "camera 1 red on the phone")
        poll(lambda: dataset(watch).get("state") == "playing", 30, "the viewer playing")
        watch.evaluate(FRAME_COUNTER)
        poll(lambda: presented(watch) > 10, 15, "the viewer presenting frames")
        rig = Rig(backend, path, app, cam1, watch, redis, postgres)
        stack.callback(restore, rig)  # first on the way out: Stop then finds everything up
        yield rig


def restore(rig: Rig) -> None:
    """Whatever an outage cut short (a failure mid-outage) is brought back."""
    rig.srt_path.heal()
    if rig.redis is not None and rig.redis.proc is None:
        rig.redis.start()
    if rig.postgres is not None and not rig.postgres.proc.alive():
        start_postgres(rig.postgres)
    if not rig.backend.alive():
        rig.backend.restart()


def lamp_is(page: Page, lamp: str) -> bool:
    data = dataset(page)
    return data.get("lamp") == lamp and data.get("state") == "live"


def presented(page: Page) -> int:
    return int(page.evaluate("window.__soakFrames || 0"))


# --- outages --------------------------------------------------------------------------------


def begin(rig: Rig, kind: str) -> None:
    if kind in RESTARTS:
        rig.backend.kill_hard()
    elif kind == "srt":
        rig.srt_path.impair(loss=1.0)
    elif kind == "redis":
        assert rig.redis is not None, "a Redis outage needs the backend on Redis"
        rig.redis.stop()
    elif kind == "db" and rig.postgres is not None:
        stop_postgres(rig.postgres)
    elif kind == "db":
        rig.backend.stop()  # SQLite lives in the backend: its restart is the database's
    else:
        raise ValueError(f"no such outage: {kind}")


def end(rig: Rig, kind: str) -> tuple[float, float | None]:
    """End the outage: monotonic time when the part is back, and a restart's start-up."""
    started = time.monotonic()
    if kind == "srt":
        rig.srt_path.heal()
        return time.monotonic(), None
    if kind == "redis":
        assert rig.redis is not None
        rig.redis.start()
    elif kind == "db" and rig.postgres is not None:
        start_postgres(rig.postgres)
    else:
        rig.backend.restart()
    back = time.monotonic()
    return back, back - started


def stop_postgres(pg: PostgresServer) -> None:
    """Fast shutdown (SIGINT): connections are cut, nobody is waited for."""
    pg.proc.stop(signal.SIGINT, timeout=20)


def start_postgres(pg: PostgresServer) -> None:
    """The same server again, on the same data directory and port."""
    old = pg.proc
    argv = old.popen.args  # as started, `runuser -u postgres --` included
    assert isinstance(argv, list)
    pg.proc = Proc([str(a) for a in argv], old.log)
    ready = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_isready"))[-1]

    def accepting() -> bool:
        argv = [ready, "-q", "-h", "127.0.0.1", "-p", str(pg.port)]
        return subprocess.run(argv, check=False).returncode == 0

    wait_until(accepting, 30, "PostgreSQL to accept connections again")


def databases(
    stack: ExitStack, work: Path, *, sqlite: bool
) -> tuple[PostgresServer | None, RedisServer | None]:
    """PostgreSQL and Redis for the show in `work`, stopped with `stack`; none on SQLite."""
    if sqlite:
        return None, None
    (work / "pg").mkdir()
    pg = PostgresServer(work / "pg")
    stack.callback(pg.stop)
    (work / "redis").mkdir()
    redis = RedisServer(work / "redis")
    stack.callback(redis.stop)
    return pg, redis


# --- how soon each link must be back -----------------------------------------------------------

# The links' own schedules, counted from the outage's end. Copied, not imported: a longer
# schedule must fail the soak, not widen its bounds quietly.
RETRY_CAP_S = 2.4  # the app's relay client and SRT senders: 2 s cap, +20 % jitter
# (app/relay_client.py, media/send/backoff.py; a timed-out SRT attempt counts from its start)
PAGE_RETRY_CAP_S = 2.0  # the phone page's relay link: cap / 2 + random * cap / 2 (tally-link.js)
VIEWER_POLL_S = 2.4  # the viewer page's look at /whep status while it recovers: 2 s, +20 %
STATS_TICK_S = 1.0  # the app reads its layers, and sees a refusal, once a second (onair.py)
# The app's phones poll after a failed one, which alone clears its health entry (onair.py);
# a relay reconnect runs it at once, so this counts only where the relay stayed up (the
# database restarted).
PHONES_RETRY_S = 1.0
# A silent publisher may be replaced by the sender's reconnect after this long; before, a
# reconnect gets 1409 (gateway/ingest.py STALE_S).
GATEWAY_STALE_S = 1.5
# A token refresh, a WebSocket open and its snapshot, or a WHEP offer and ICE + DTLS, plus
# this module's look at the pages, on a loaded two-core machine.
ROUND_TRIPS_S = 0.6
TARGET_P95_S = 3.0  # the target for a cut on the phone, a backend restart included


def bounds(kind: str, down_s: float) -> dict[str, float]:
    """The most each link may take after an outage of `kind` that lasted `down_s`."""
    relay = RETRY_CAP_S + ROUND_TRIPS_S
    # The lamp needs both the director's relay link and the phone's back.
    phone = max(RETRY_CAP_S, PAGE_RETRY_CAP_S) + ROUND_TRIPS_S
    # A retry; the 8 s publish token has usually expired by then, so a 1403, seen at the next
    # stats tick, credentials fetched again (one more round trip), the layer woken at once.
    srt = RETRY_CAP_S + STATS_TICK_S + 2 * ROUND_TRIPS_S
    if kind == "srt":
        # Until the publisher it no longer hears is stale, a reconnect gets 1409.
        srt += max(0.0, GATEWAY_STALE_S - down_s)
    # A viewer whose stream stalled joins again: its next look at the status, then WHEP.
    viewer = srt + VIEWER_POLL_S + ROUND_TRIPS_S
    phones = relay + ROUND_TRIPS_S if kind in RESTARTS else PHONES_RETRY_S + ROUND_TRIPS_S
    # On Redis a killed process's record of the director's connection outlives it by up to
    # 13 s; directors are counted per login, so it never reads as "another director".
    health = max(relay, srt + STATS_TICK_S, phones)
    return {"relay": relay, "phone": phone, "srt": srt, "viewer": viewer, "health": health}


# --- one outage and its recovery --------------------------------------------------------------


@dataclass
class Recovery:
    outage: Outage
    down_s: float  # from its start to the part being back (a restart's start-up included)
    start_up_s: float | None  # a restarted process: from its start to answering
    back_s: dict[str, float | None]  # link -> seconds after the end; None: lost
    degraded: tuple[str, ...]  # what the app's health board listed at the end of the watch
    pages: dict[str, dict[str, str]]  # the phone's and viewer's data-* at the end of the watch
    cleared_last: tuple[str, ...]  # the health board's entries whose end emptied it
    ticks_while_down: int  # program clock ticks while it was down
    switched_while_down: bool  # the two cuts while down changed program locally
    redis: bool  # the backend ran on Redis

    @property
    def lost(self) -> tuple[str, ...]:
        return tuple(link for link in LINKS if self.back_s.get(link) is None)

    @property
    def bounds(self) -> dict[str, float]:
        return bounds(self.outage.kind, self.down_s)

    @property
    def late(self) -> tuple[str, ...]:
        """Links back, but later than their bound."""
        limit = self.bounds
        return tuple(
            link for link in LINKS if (s := self.back_s.get(link)) is not None and s > limit[link]
        )

    def line(self) -> str:
        o = self.outage
        back = ", ".join(
            f"{link} {'LOST' if s is None else f'{s:.2f}'}" for link, s in self.back_s.items()
        )
        start = "" if self.start_up_s is None else f", start-up {self.start_up_s:.2f} s"
        last = f" (health last: {', '.join(self.cleared_last)})" if self.cleared_last else ""
        return f"#{o.number} {o.kind}: down {self.down_s:.2f} s{start}; back (s): {back}{last}"

    def as_dict(self) -> dict[str, Any]:
        o = self.outage
        return {
            "number": o.number,
            "kind": o.kind,
            "quiet_s": o.quiet_s,
            "planned_down_s": o.down_s,
            "down_s": round(self.down_s, 3),
            "start_up_s": None if self.start_up_s is None else round(self.start_up_s, 3),
            "back_s": {k: None if v is None else round(v, 3) for k, v in self.back_s.items()},
            "lost": list(self.lost),
            "late": list(self.late),
            "bounds_s": {k: round(v, 2) for k, v in self.bounds.items()},
            "degraded_at_end": list(self.degraded),
            "pages_at_end": self.pages,
            "health_cleared_last": list(self.cleared_last),
            "ticks_while_down": self.ticks_while_down,
            "switched_while_down": self.switched_while_down,
        }


def run_outage(rig: Rig, outage: Outage, watch_s: float = WATCH_S) -> Recovery:
    app = rig.app
    time.sleep(outage.quiet_s)  # the schedule itself: the outage lands at a random moment
    ticks = app.ticks()
    started = time.monotonic()
    begin(rig, outage.kind)
    switched = switch_twice(app)
    time.sleep(max(0.0, started + outage.down_s - time.monotonic()))  # the outage's length
    ended, start_up = end(rig, outage.kind)
    ticks = app.ticks() - ticks
    units = 0.0 if outage.kind in RESTARTS or is_backend_restart(rig, outage.kind) else None
    back = watch(rig, ended, cut(app), units, watch_s)
    pages = {"phone": dataset(rig.phone), "viewer": dataset(rig.viewer)}
    last = cleared_last(app.timeline, ended)
    board = degraded(app.timeline)
    return Recovery(
        outage,
        ended - started,
        start_up,
        back,
        board,
        pages,
        last,
        ticks,
        switched,
        rig.redis is not None,
    )


def is_backend_restart(rig: Rig, kind: str) -> bool:
    return kind == "db" and rig.postgres is None


def switch_twice(app: LiveApp) -> bool:
    """Two cuts while the backend or a link is away: program changes, then changes back."""
    before = app.rt.state.program
    first = app.post("/api/cut")["state"]["program"]
    second = app.post("/api/cut")["state"]["program"]
    return bool(first != before and second == before)


def cut(app: LiveApp) -> str:
    """One cut through the control API; the lamp camera 1's phone must show after it."""
    state = app.post("/api/cut")["state"]
    if state["program"] == CAMERAS[1]:
        return "program"
    return "preview" if state["preview"] == CAMERAS[1] else "off"


def watch(
    rig: Rig, ended: float, lamp: str, units_base: float | None, watch_s: float
) -> dict[str, float | None]:
    """Poll every link together until all are back or `watch_s` is over; seconds after
    `ended` each came back. `units_base`: the gateway's video units to count from (None:
    read now; 0 for a new process)."""
    app = rig.app
    frames = presented(rig.viewer)
    layers = sent(app)
    if units_base is None:
        units_base = gateway_units(rig.backend) or 0.0
    seen: dict[str, float] = {}
    settled: dict[str, float | None] = {}
    next_scrape = 0.0
    deadline = ended + watch_s
    while True:
        now = time.monotonic()
        if "phone" not in seen and lamp_is(rig.phone, lamp):
            seen["phone"] = now
        if "viewer" not in seen and presented(rig.viewer) > frames:
            seen["viewer"] = now
        if "srt" not in seen and now >= next_scrape:
            next_scrape = now + 0.2
            if srt_flowing(rig, layers, units_base):
                seen["srt"] = now
        settled = {
            "relay": good_since(app.timeline, ev.LiveChanged, relay_connected),
            "health": good_since(app.timeline, ev.HealthChanged, all_well),
        }
        done = len(seen) == 3 and all(t is not None for t in settled.values())
        if done or now > deadline:
            break
        time.sleep(0.05)
    times: dict[str, float | None] = {**seen, **settled}
    return {link: None if (t := times.get(link)) is None else max(0.0, t - ended) for link in LINKS}


def relay_connected(event: AnyEvent) -> bool:
    return isinstance(event, ev.LiveChanged) and event.relay_connected


def all_well(event: AnyEvent) -> bool:
    return isinstance(event, ev.HealthChanged) and not event.degraded


def good_since(timeline: Timeline, kind: type, good: Callable[[AnyEvent], bool]) -> float | None:
    """When the latest run of good `kind` events began (None: the latest is bad)."""
    since: float | None = None
    for t, event in timeline.since(0.0):
        if isinstance(event, kind):
            if not good(event):
                since = None
            elif since is None:
                since = t
    return since


def cleared_last(timeline: Timeline, ended: float) -> tuple[str, ...]:
    """The links on the health board just before it last became empty after `ended`."""
    before: tuple[str, ...] = ()
    last: tuple[str, ...] = ()
    for t, event in timeline.since(0.0):
        if not isinstance(event, ev.HealthChanged):
            continue
        if not event.degraded and t >= ended and before:
            last = before
        before = tuple(d.link for d in event.degraded)
    return last


def degraded(timeline: Timeline) -> tuple[str, ...]:
    latest = [e for _, e in timeline.since(0.0) if isinstance(e, ev.HealthChanged)]
    if not latest:
        return ()
    last = latest[-1]
    assert isinstance(last, ev.HealthChanged)
    return tuple(f"{d.link}: {d.detail}" for d in last.degraded)


Sent = dict[str, tuple[int, bool, int]]  # layer -> (its sender's id, connected, frames sent)


def sent(app: LiveApp) -> Sent:
    """Each layer's sender, read on the app's loop: connected past its first keyframe, and
    the frames it has sent (the 1 s StreamChanged reports would add up to a second)."""

    async def read(link: SessionLink) -> Sent:
        on_air = link.on_air
        output = on_air.output if on_air is not None else None
        senders = getattr(output, "senders", {})
        out: Sent = {}
        for name, sender in senders.items():
            stats = sender.stats()
            connected = stats.state.phase is LinkPhase.CONNECTED and not stats.state.detail
            out[name] = (id(sender), connected, stats.frames_sent)
        return out

    return app.rt.call(read).result(5)


def srt_flowing(rig: Rig, base: Sent, units_base: float) -> bool:
    """Both layers' senders connected and 5 frames further than at the outage's end (a new
    sender counts from 0), two publishers at the gateway, and video coming in there."""
    now = sent(rig.app)
    for layer in ("hi", "lo"):
        if layer not in now:
            return False
        sender, connected, frames = now[layer]
        before = base[layer][2] if layer in base and base[layer][0] == sender else 0
        if not connected or frames < before + 5:
            return False
    try:
        publishers = rig.backend.metric("gateway_srt_publishers")
    except httpx.HTTPError:
        return False
    units = gateway_units(rig.backend)
    return publishers >= 2 and units is not None and units >= units_base + 10


def gateway_units(backend: Backend) -> float | None:
    try:
        return backend.metric("gateway_units", kind="video")
    except httpx.HTTPError:
        return None


# --- the figures -------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest rank: the smallest value with at least `pct` % of them at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {
        "n": len(values),
        "p50_s": round(percentile(values, 50), 3),
        "p95_s": round(percentile(values, 95), 3),
        "max_s": round(max(values), 3),
    }


def summary(recoveries: Sequence[Recovery]) -> dict[str, Any]:
    """Recovery per link over all outages and per kind, and everything lost."""

    def links(rs: Sequence[Recovery]) -> dict[str, Any]:
        return {
            link: spread([v for r in rs if (v := r.back_s.get(link)) is not None]) for link in LINKS
        }

    kinds = sorted({r.outage.kind for r in recoveries})
    return {
        "outages": len(recoveries),
        "overall": links(recoveries),
        "by_kind": {k: links([r for r in recoveries if r.outage.kind == k]) for k in kinds},
        "lost": {
            "cuts_not_on_phone": sum(1 for r in recoveries if r.back_s.get("phone") is None),
            "outages_with_a_link_not_back": [
                {"number": r.outage.number, "kind": r.outage.kind, "links": list(r.lost)}
                for r in recoveries
                if r.lost
            ],
        },
        "late": [
            {"number": r.outage.number, "kind": r.outage.kind, "links": list(r.late)}
            for r in recoveries
            if r.late
        ],
        "never_switched_while_down": [
            r.outage.number for r in recoveries if not r.switched_while_down
        ],
    }
