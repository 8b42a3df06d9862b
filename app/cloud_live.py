"""Going live from the command line: sign in, pick (or make) the session, go live, print links.

`returnfeed --headless --cloud URL --session ID` (credentials from RETURNFEED_EMAIL and
RETURNFEED_PASSWORD, or the login the window kept in the keyring) and
`returnfeed --headless --cloud URL --demo` (the demo director of app/demo.py and its one
session, made on first run, cameras 1..4 on the first four sources) do what the window's
Go Live panel does, through the same SessionLink on the runtime loop. The links for
phones and viewers go to the terminal, the first phone's and the viewer's also as QR codes.

It runs on a thread of its own and only waits on futures and link events; it never touches
the core. After going live it keeps printing what changes: each link that goes down (with
since when and why) and comes back, and links re-issued before they expire.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO, TypeVar

import segno

from tally import Camera

from .demo import DemoAccountError, DemoStore, demo_login
from .director_token import EMAIL_ENV, PASSWORD_ENV
from .engine.commands import SetCameras
from .runtime import AnyEvent, Runtime
from .session_link import events as ev
from .session_link.cloud_api import Invite, SessionInfo
from .session_link.vault import Vault

log = logging.getLogger(__name__)

T = TypeVar("T")
DEMO_SESSION = "ReturnFeed demo"
DEMO_CAMERAS = 4
STEP_TIMEOUT_S = 30.0
STREAM_WAIT_S = 20.0


class GoLiveError(Exception):
    """A step of going live failed; the message is for the person at the terminal."""


@dataclass(frozen=True, slots=True)
class CloudOptions:
    url: str
    demo: bool = False
    session: str | None = None  # required unless demo
    qr: bool = True


class CloudLive:
    def __init__(self, runtime: Runtime, options: CloudOptions, vault: Vault, out: TextIO):
        self._runtime = runtime
        self._options = options
        self._vault = vault
        self._out = out
        self._events: queue.Queue[AnyEvent] = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self.stopping = threading.Event()

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name="cloud-live", daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        """All the steps; a failure is printed, never raised (the switcher keeps running)."""
        self._unsubscribe = self._runtime.subscribe(self._events.put)
        try:
            self._go_live()
            self._watch()
        except GoLiveError as exc:
            self._print(f"Not live: {exc}")
        except Exception as exc:  # a bug must not end the switcher; it is shown
            log.exception("going live failed")
            self._print(f"Not live: unexpected error: {exc!r}")
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()

    # --- steps --------------------------------------------------------------------------

    def _go_live(self) -> None:
        url = self._options.url.rstrip("/")
        email = self._sign_in(url)
        sessions = self._wait(lambda e: isinstance(e, ev.SessionsListed), "the session list")
        assert isinstance(sessions, ev.SessionsListed)
        chosen = self._choose(sessions.sessions)
        self._print(f"Signed in to {url} as {email}; session {chosen.session.name!r}.")
        self._print_links(chosen.invites)
        self._call(lambda link: link.go_live())
        self._wait_streaming(chosen)

    def _sign_in(self, url: str) -> str:
        if self._options.demo:
            try:
                demo = demo_login(url, DemoStore(self._vault))
            except DemoAccountError as exc:
                raise GoLiveError(str(exc)) from exc
            how = "new account, password generated and" if demo.new else "password"
            self._print(f"Demo director {demo.email} ({how} kept in {demo.kept_in}).")
            email, password = demo.email, demo.password
        else:
            email, password = os.environ.get(EMAIL_ENV, ""), os.environ.get(PASSWORD_ENV, "")
        if email and password:
            ok = self._call(lambda link: link.login(url, email, password))
        else:
            ok = self._call(lambda link: link.resume(url))
            if not ok and not self._failure("login"):
                raise GoLiveError(
                    f"no login for {url}: set {EMAIL_ENV} and {PASSWORD_ENV}, "
                    "or log in once in the window (the login is kept in the OS keyring)"
                )
        if not ok:
            raise GoLiveError(f"login failed: {self._failure('login') or 'no answer'}")
        return email or "the kept login"

    def _choose(self, sessions: tuple[SessionInfo, ...]) -> ev.SessionChosen:
        wanted = self._options.session
        if self._options.demo:
            self._map_demo_cameras()
            found = next((s for s in sessions if s.name == DEMO_SESSION), None)
            wanted = found.id if found else None
        if wanted is None:
            self._call(lambda link: link.create_session(DEMO_SESSION, DEMO_CAMERAS))
        else:
            session_id = wanted
            self._call(lambda link: link.choose_session(session_id))
        chosen = self._wait(lambda e: isinstance(e, ev.SessionChosen), "the session", "session")
        assert isinstance(chosen, ev.SessionChosen)
        return chosen

    def _map_demo_cameras(self) -> None:
        """Camera n shows source n, so each demo phone lights with one of the sources."""
        sources = self._runtime.state.sources[:DEMO_CAMERAS]
        cameras = tuple(Camera(n, f"Cam {n}", s.name) for n, s in enumerate(sources, start=1))
        self._runtime.submit(SetCameras(cameras)).result(STEP_TIMEOUT_S)

    def _wait_streaming(self, chosen: ev.SessionChosen) -> None:
        def settled(e: AnyEvent) -> bool:
            """All layers connected, or a reason why no video is sent (tally only)."""
            if not isinstance(e, ev.StreamChanged):
                return False
            if not e.sending:
                return bool(e.detail)
            return bool(e.layers) and all(layer.connected for layer in e.layers)

        try:
            stream = self._wait(settled, "the program stream", "live", STREAM_WAIT_S)
        except GoLiveError:
            self._print("Live on the relay; the program stream is still connecting (it retries).")
            return
        assert isinstance(stream, ev.StreamChanged)
        if not stream.sending:
            self._print(f"Live: tally for phones; {stream.detail}.")
            return
        self._print(f"Live: the program goes to {chosen.srt.srt_url}; phones and viewers work.")

    def _watch(self) -> None:
        """Until stopped: the changes a director at a terminal should know of."""
        down: dict[str, ev.Degraded] = {}
        while not self.stopping.is_set():
            try:
                event = self._events.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(event, ev.HealthChanged):
                down = self._print_health(down, event.degraded)
            elif isinstance(event, ev.InvitesChanged):
                self._print("Links re-issued (the old ones expire soon):")
                self._print_links(event.invites)
            elif isinstance(event, ev.LinkFailed):
                self._print(f"Cloud: {event.message}")

    def _print_health(
        self, before: dict[str, ev.Degraded], degraded: tuple[ev.Degraded, ...]
    ) -> dict[str, ev.Degraded]:
        """What went down (once, with since when) and what works again."""
        now = {item.link: item for item in degraded}
        for link, item in now.items():
            if link not in before:
                since = time.strftime("%H:%M:%S", time.localtime(item.since))
                self._print(f"Down since {since}: {link}: {item.detail}")
        for link in before.keys() - now.keys():
            self._print(f"Back: {link}")
        return now

    # --- output -------------------------------------------------------------------------

    def _print_links(self, invites: tuple[Invite, ...]) -> None:
        titles = {s.name: s.title for s in self._runtime.state.sources}
        mapped = {c.number: c.source for c in self._runtime.state.cameras}
        phones = sorted(
            (i for i in invites if i.role == "camera" and i.camera_number is not None),
            key=lambda i: i.camera_number or 0,
        )
        viewer = next((i for i in invites if i.role == "viewer"), None)
        lines = ["Phone tally links (one per camera; open on a phone):"]
        for invite in phones:
            source = mapped.get(invite.camera_number or 0)
            shows = f" ({titles.get(source, source)})" if source else ""
            lines.append(f"  Phone Cam {invite.camera_number}{shows}: {invite.url}")
        if viewer is not None:
            lines.append("Viewer link (the program in a browser):")
            lines.append(f"  Viewer: {viewer.url}")
        self._print("\n".join(lines))
        if self._options.qr:
            first: list[tuple[str, Invite]] = [(f"Phone Cam {p.camera_number}", p) for p in phones]
            shown = first[:1] + ([("Viewer", viewer)] if viewer is not None else [])
            for label, link in shown:
                self._print(f"{label} QR code:\n{qr_text(link)}")

    def _print(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    # --- plumbing -----------------------------------------------------------------------

    def _call(self, work: Callable[[Any], Any]) -> Any:
        try:
            return self._runtime.call(work).result(STEP_TIMEOUT_S)
        except Exception as exc:  # the core stopped (Ctrl+C) or did not answer
            raise GoLiveError(f"the switcher core did not answer: {exc!r}") from exc

    def _failure(self, action: str) -> str | None:
        """The latest LinkFailed message for `action` already delivered, if any."""
        message = None
        pending: list[AnyEvent] = []
        while True:
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                break
            pending.append(event)
            if isinstance(event, ev.LinkFailed) and event.action == action:
                message = event.message
        for event in pending:
            self._events.put(event)
        return message

    def _wait(
        self,
        match: Callable[[AnyEvent], bool],
        what: str,
        action: str | None = None,
        within: float = STEP_TIMEOUT_S,
    ) -> AnyEvent:
        """The first matching event; LinkFailed for `action` or a timeout is GoLiveError."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0 and not self.stopping.is_set():
            try:
                event = self._events.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            if match(event):
                return event
            if action and isinstance(event, ev.LinkFailed) and event.action == action:
                raise GoLiveError(event.message)
        raise GoLiveError(f"no answer for {what} within {within:g} s")


def qr_text(invite: Invite) -> str:
    """The link as a QR code in the terminal (two rows a line)."""
    from io import StringIO

    buffer = StringIO()
    segno.make(invite.url, error="l").terminal(out=buffer, compact=True)
    return buffer.getvalue().rstrip("\n")
