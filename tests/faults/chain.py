"""The whole chain for the fault tests: a backend that can be killed and restarted on the
same ports and database, the director's app live on it, and browsers as phones and viewers.

Real peers throughout: the `returnfeed-cloud` process, the app's Runtime (engine, program
clock, encoder, SRT output, relay client) in this process, Debian's Chromium on the phone
(/tally) and viewer (/watch) pages. Every wait polls against a deadline.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
from playwright.sync_api import Browser, BrowserContext, Page

from app.engine.commands import MapCamera
from app.runtime import AnyEvent, Runtime, RuntimeConfig
from app.session_link import events as ev
from app.session_link.vault import MemoryVault
from media.encode.config import LO, EncoderConfig, LayerConfig
from media.frames import Size
from tests.app.core_config import light_config
from tests.support.api import Director, bearer, create_session, register
from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import free_udp_port

T = TypeVar("T")

# Light enough for a loaded two-core machine: hi at 30 fps (the light core's clock rate).
LIGHT_ENCODER = EncoderConfig(
    layers=(LayerConfig("hi", Size(640, 360), 30, 600_000), LO), encoder="libx264"
)
CONTROL_TOKEN = "fault-test"


class Timeout(AssertionError):
    pass


def poll(probe: Callable[[], T | None], within: float, what: str, every: float = 0.05) -> T:
    """`probe()`'s first truthy value; fails naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Timeout(f"timed out after {within:g} s waiting for {what}")
        time.sleep(every)


# --- the backend --------------------------------------------------------------------------


class Backend(CloudServer):
    """`returnfeed-cloud` on fixed HTTP and SRT ports, so a restart comes back where it was."""

    srt_port: int

    def __init__(
        self,
        workdir: Path,
        database_url: str,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        srt_port: int | None = None,
    ) -> None:
        """`extra_args` and `env` (RETURNFEED_* settings) are added to the usual ones;
        `srt_port`, when given, is the SRT port to use instead of a free one."""
        super().__init__(
            workdir,
            database_url,
            [*RELAXED_RATES, "--log-level", "info", *extra_args],
            env=env,
            srt_port=free_udp_port() if srt_port is None else srt_port,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.popen.pid

    def kill_hard(self) -> None:
        """kill -9 of the backend process itself: no shutdown, no goodbyes to anyone."""
        assert self.proc is not None
        os.kill(self.pid, signal.SIGKILL)
        self.proc.popen.wait(10)
        self.proc.stop()  # only closes the log now

    def restart(self) -> float:
        """Start again on the same ports and database; time.monotonic() when healthy."""
        self.start()
        return time.monotonic()

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS for the backend")

    def metric(self, name: str, **labels: str) -> float:
        """The sum of a metric's samples whose labels include `labels` (0 when none)."""
        total = 0.0
        text = self.metrics_text()
        for line in text.splitlines():
            if not line.startswith(name) or line.startswith("#"):
                continue
            head, _, value = line.rpartition(" ")
            metric_name = head.split("{", 1)[0]
            if metric_name not in (name, f"{name}_total"):
                continue
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total


@dataclass
class ShowSetup:
    director: Director
    session_id: str


def new_show(server: CloudServer, cameras: int = 2) -> ShowSetup:
    with server.client() as http:
        director = register(http)
        session = create_session(http, director, name="Fault show", cameras=cameras)
    return ShowSetup(director, session["id"])


def gateway_live(server: CloudServer, session_id: str, token: str) -> bool:
    try:
        r = httpx.get(
            f"{server.base_url}/whep/{session_id}/status", headers=bearer(token), timeout=2
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200 and bool(r.json()["live"]) and r.json()["layers"] == ["hi", "lo"]


# --- the director's app -------------------------------------------------------------------


class Timeline:
    """Every event the core emits, with the monotonic time it came; any thread may read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[float, AnyEvent]] = []

    def __call__(self, event: AnyEvent) -> None:
        with self._lock:
            self.events.append((time.monotonic(), event))

    def since(self, t0: float) -> list[tuple[float, AnyEvent]]:
        with self._lock:
            return [(t, e) for t, e in self.events if t >= t0]

    def first(self, t0: float, check: Callable[[AnyEvent], bool]) -> float | None:
        return next((t for t, e in self.since(t0) if check(e)), None)


def relay_up(event: AnyEvent) -> bool:
    return isinstance(event, ev.LiveChanged) and event.relay_connected


def streaming(event: AnyEvent) -> bool:
    """Both layers connected and frames going out."""
    return (
        isinstance(event, ev.StreamChanged)
        and event.sending
        and len(event.layers) == 2
        and all(layer.connected and layer.fps > 0 for layer in event.layers)
    )


@dataclass
class LiveApp:
    rt: Runtime
    timeline: Timeline
    chosen: ev.SessionChosen
    control: httpx.Client = field(repr=False)

    def invite_url(self, role: str, camera: int | None = None) -> str:
        for invite in self.chosen.invites:
            if invite.role == role and (camera is None or invite.camera_number == camera):
                return invite.url
        raise AssertionError(f"no {role} invite {camera} in {self.chosen.invites}")

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A command through the local control API, as Companion would send it."""
        r = self.control.post(path, json=body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    def ticks(self) -> int:
        clock = self.rt.clock
        assert clock is not None
        return clock.stats.ticks


@contextmanager
def live_app(
    server: CloudServer,
    show: ShowSetup,
    config: RuntimeConfig,
    cameras: dict[int, str],
    within: float = 20,
) -> Iterator[LiveApp]:
    """The app logged in, on the session, cameras mapped, live, and both layers streaming."""
    timeline = Timeline()
    rt = Runtime(config, vault=MemoryVault())
    rt.start()
    rt.subscribe(timeline)
    t0 = time.monotonic()
    try:
        director = show.director
        assert rt.call(
            lambda link: link.login(server.base_url, director.email, director.password)
        ).result(within)
        rt.call(lambda link: link.choose_session(show.session_id)).result(within)
        chosen = next(e for _, e in timeline.since(t0) if isinstance(e, ev.SessionChosen))
        for number, source in cameras.items():
            rt.submit(MapCamera(number, source)).result(5)
        rt.call(lambda link: link.go_live()).result(within)
        poll(lambda: timeline.first(t0, relay_up), within, "the relay to connect")
        if config.encoder is not None:
            poll(lambda: timeline.first(t0, streaming), within, "both layers streaming")
        assert rt.control_url is not None
        with httpx.Client(
            base_url=rt.control_url, headers=bearer(CONTROL_TOKEN), timeout=5
        ) as control:
            yield LiveApp(rt, timeline, chosen, control)
    finally:
        if rt.running:
            rt.call(lambda link: link.stop_live()).result(15)
        rt.stop()


def fault_config(**overrides: Any) -> RuntimeConfig:
    """The light core (control API on a free port) with the light encoder."""
    config = light_config(control_token=CONTROL_TOKEN, encoder=LIGHT_ENCODER)
    return replace(config, **overrides)


# --- browsers -----------------------------------------------------------------------------


@contextmanager
def page_at(browser: Browser, url: str, **context_args: Any) -> Iterator[Page]:
    """A fresh context and page on `url`; a script error on the page fails the test."""
    context: BrowserContext = browser.new_context(**context_args)
    context.set_default_timeout(15_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    try:
        page.goto(url)
        yield page
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def dataset(page: Page) -> dict[str, str]:
    data: dict[str, str] = page.evaluate("Object.assign({}, document.body.dataset)")
    return data


def frames(page: Page) -> int:
    return int(dataset(page).get("frames") or 0)
