"""The director's link to the cloud: login, session choice, and going live on the relay.

Runs on the runtime loop; every public coroutine reports through `emit` (LinkEvents)
rather than raising, so a caller on the UI thread only ever fires and forgets. Going live
attaches a RelayClient (app/relay_client.py) to the engine's tally; the client reconnects
with backoff and re-sends the whole state after each reconnect by itself. Once the relay
first connects, the program stream starts (app/golive.py: SimulcastOutput to the session's
SRT ingest; its threads reconnect by themselves) and reports StreamChanged each second;
a layer refused for its credentials (an expired or rotated publish token, a rotated
passphrase) gets fresh ones (app/srt_renewal.py); viewers' keyframe requests from the relay
go to its encoder. Stop ends both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tally import Ack, Camera, ErrorMessage, KeyframeRequest

from ..engine.commands import Command, SetCameras
from ..engine.state import ShowState
from ..engine.tally import TallyOut
from ..golive import OutputFactory, ProgramOutput, session_targets, stream_layer
from ..keyframes import answer_keyframe
from ..relay_client import Connected, Disconnected, RelayClient, TokenSource
from ..srt_renewal import RefusalWatch
from . import events as ev
from .cloud_api import CloudApi, CloudError, Invite, Participant, SessionInfo, SrtCredentials
from .login import Login
from .vault import Vault

log = logging.getLogger(__name__)

T = TypeVar("T")
PHONES_POLL_S = 5.0
STREAM_STATS_S = 1.0


def camera_sources(session: SessionInfo, state: ShowState) -> tuple[Camera, ...]:
    """The session's cameras with a source each: the director's mapping, else the NDI name."""
    mapped = {cam.number: cam.source for cam in state.cameras}
    by_name = {s.name: s.name for s in state.sources} | {s.title: s.name for s in state.sources}
    out = []
    for cam in session.cameras:
        source = mapped.get(cam.number) or by_name.get(cam.ndi_source or "")
        out.append(Camera(cam.number, cam.name[:64], source))
    return tuple(out)


class SessionLink:
    def __init__(
        self,
        vault: Vault,
        tally: TallyOut,
        state: Callable[[], ShowState],
        execute: Callable[[Command], object],
        emit: Callable[[ev.LinkEvent], None],
        *,
        relay_factory: Callable[[str, TokenSource], RelayClient] = RelayClient,
        output_factory: OutputFactory | None = None,
    ) -> None:
        self._vault = vault
        self._tally = tally
        self._state = state
        self._execute = execute
        self._emit = emit
        self._relay_factory = relay_factory
        self._output_factory = output_factory  # None: tally only (no program clock here)
        self._srt: SrtCredentials | None = None
        self._output: ProgramOutput | None = None
        self._stream: asyncio.Task[None] | None = None
        self._login: Login | None = None
        self._session: SessionInfo | None = None
        self._relay: RelayClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def logged_in(self) -> bool:
        return self._login is not None

    @property
    def relay(self) -> RelayClient | None:
        return self._relay

    # --- login ----------------------------------------------------------------------------

    async def login(self, backend: str, email: str, password: str) -> bool:
        async def sign_in() -> Login:
            await self._reset()
            return await Login.sign_in(CloudApi(backend), self._vault, email, password)

        login = await self._guard("login", sign_in())
        if login is None:
            return False
        self._login = login
        self._emit(ev.LoginChanged(login.api.base_url, login.email))
        await self.list_sessions()
        return True

    async def resume(self, backend: str) -> bool:
        """Log in with the refresh token kept in the keyring, if any."""
        login = await self._guard("login", Login.resume(CloudApi(backend), self._vault))
        if login is None:
            return False
        self._login = login
        self._emit(ev.LoginChanged(login.api.base_url, login.email))
        await self.list_sessions()
        return True

    async def logout(self) -> None:
        await self.stop_live()
        if self._login is not None:
            await self._login.logout()
        await self._reset()
        self._emit(ev.LoginChanged(None, None))

    # --- sessions -------------------------------------------------------------------------

    async def list_sessions(self) -> None:
        login = self._need_login("sessions")
        if login is None:
            return
        sessions = await self._guard("sessions", self._authed(login, login.api.sessions))
        if sessions is not None:
            live = tuple(s for s in sessions if s.state == "live")
            self._emit(ev.SessionsListed(live))

    async def create_session(self, name: str, cameras: int) -> None:
        login = self._need_login("session")
        if login is None:
            return

        async def create(access: str) -> SessionInfo:
            return await login.api.create_session(access, name, cameras)

        session = await self._guard("session", self._authed(login, create))
        if session is not None:
            await self.list_sessions()
            await self.choose_session(session.id)

    async def choose_session(self, session_id: str) -> None:
        login = self._need_login("session")
        if login is None:
            return
        await self.stop_live()

        async def load(access: str) -> ev.SessionChosen:
            session = await login.api.session(access, session_id)
            srt = await login.api.srt(access, session_id)
            invites = await self._ensure_invites(login, access, session)
            return ev.SessionChosen(session, srt, invites)

        chosen = await self._guard("session", self._authed(login, load))
        if chosen is None:
            return
        self._session, self._srt = chosen.session, chosen.srt
        if chosen.session.cameras:
            cameras = camera_sources(chosen.session, self._state())
            self._execute(SetCameras(cameras, self._state().live_only))
        self._emit(chosen)

    async def _ensure_invites(
        self, login: Login, access: str, session: SessionInfo
    ) -> tuple[Invite, ...]:
        """One camera link per camera and one viewer link, made once and reused after."""
        invites = [i for i in await login.api.invites(access, session.id) if not i.revoked]
        bound = {i.camera_number for i in invites if i.role == "camera"}
        for cam in session.cameras:
            if cam.number not in bound:
                invites.append(
                    await login.api.create_invite(access, session.id, "camera", cam.number)
                )
        if not any(i.role == "viewer" for i in invites):
            invites.append(await login.api.create_invite(access, session.id, "viewer"))
        return tuple(invites)

    # --- live -------------------------------------------------------------------------------

    async def go_live(self) -> None:
        login = self._need_login("live")
        if login is None:
            return
        if self._session is None:
            self._emit(ev.LinkFailed("live", "Choose or create a session first."))
            return
        if self._relay is not None:
            return
        url = f"{login.api.relay_base}/api/relay/{self._session.id}"
        relay = self._relay_factory(url, login.access)
        self._relay = relay
        self._tally.attach(relay, self._state())
        await relay.start()
        self._emit(ev.LiveChanged(True, False, "connecting"))
        self._tasks = [
            asyncio.create_task(self._relay_events(relay)),
            asyncio.create_task(self._poll_phones(login, self._session.id)),
        ]

    async def stop_live(self) -> None:
        relay, self._relay = self._relay, None
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await stream  # stops the output off the loop
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if relay is not None:
            self._tally.detach(relay)
            await relay.close()
            self._emit(ev.LiveChanged(False, False))

    def send_message(self, text: str, camera: int | None) -> None:
        if self._relay is None:
            self._emit(ev.LinkFailed("message", "Go live first: messages travel over the relay."))
            return
        text = text.strip()[:500]
        if not text:
            return
        message_id = self._relay.send_message(text, camera)
        self._emit(ev.MessageSent(message_id, camera, text))

    async def close(self) -> None:
        await self._reset()

    # --- helpers ----------------------------------------------------------------------------

    async def _reset(self) -> None:
        await self.stop_live()
        self._session, self._srt = None, None
        login, self._login = self._login, None
        if login is not None:
            await login.api.aclose()

    def _need_login(self, action: str) -> Login | None:
        if self._login is None:
            self._emit(ev.LinkFailed(action, "Log in to the ReturnFeed cloud first."))
        return self._login

    async def _authed(self, login: Login, call: Callable[[str], Awaitable[T]]) -> T:
        return await call(await login.access())

    async def _guard(self, action: str, work: Awaitable[T]) -> T | None:
        """Run `work` with Busy around it; a failure becomes LinkFailed, never an exception."""
        self._emit(ev.Busy(action, True))
        try:
            return await work
        except CloudError as exc:
            self._emit(ev.LinkFailed(action, exc.message))
            return None
        except Exception as exc:  # a bug must show as a message, not kill the loop
            log.exception("session link %s failed", action)
            self._emit(ev.LinkFailed(action, f"Unexpected error: {exc}"))
            return None
        finally:
            self._emit(ev.Busy(action, False))

    async def _relay_events(self, relay: RelayClient) -> None:
        async for event in relay.events():
            if isinstance(event, Connected):
                self._emit(ev.LiveChanged(True, True, "", relay.stats.rtt_ms))
                if self._stream is None and self._relay is relay:
                    self._stream = asyncio.create_task(self._run_stream())
            elif isinstance(event, KeyframeRequest):
                answer_keyframe(self._output, event)
            elif isinstance(event, Disconnected):
                if event.retry_in is None:
                    detail = f"the relay refused the connection: {event.reason or event.code}"
                else:
                    detail = (
                        f"reconnecting in {event.retry_in:.1f} s ({event.reason or event.code})"
                    )
                self._emit(ev.LiveChanged(True, False, detail))
            elif isinstance(event, Ack):
                self._emit(ev.MessageAcked(event.id, event.camera))
            elif isinstance(event, ErrorMessage):
                self._emit(ev.Notice(f"relay: {event.message or event.code}"))

    async def _run_stream(self) -> None:
        """Build, start and watch the program output until cancelled (Stop); never raises."""
        login, session, srt, factory = self._login, self._session, self._srt, self._output_factory
        if factory is None or login is None or session is None or srt is None:
            self._emit(ev.StreamChanged(False, (), "tally only: this app sends no video"))
            return

        async def fresh(access: str) -> SrtCredentials:
            return await login.api.srt(access, session.id)

        try:  # the credentials may have been rotated since the session was chosen
            srt = await self._authed(login, fresh)
        except CloudError as exc:
            log.info("SRT credentials not refreshed, using the session's: %s", exc)
        if srt.srt_url is None:
            detail = "tally only: this backend takes no video (it has no SRT ingest)"
            self._emit(ev.StreamChanged(False, (), detail))
            return
        try:
            targets = session_targets(srt.srt_url, session.id, srt.publish_token, srt.passphrase)
            # Opening the encoder may probe hardware: off the loop.
            output = await asyncio.to_thread(factory, targets)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # EncoderUnavailable, a bad address: words, not a traceback
            log.info("program stream not started: %r", exc)
            message = f"The program stream cannot start: {exc}"
            self._emit(ev.StreamChanged(False, (), message))
            self._emit(ev.LinkFailed("live", message))
            return
        self._output = output
        starting = asyncio.ensure_future(asyncio.to_thread(output.start))
        message = ""
        refusals = RefusalWatch()
        try:
            await asyncio.shield(starting)
            while True:
                stats = output.stats()
                self._emit(ev.StreamChanged(True, tuple(stream_layer(s) for s in stats.layers)))
                if refusals.credentials_refused(stats):
                    await self._renew_targets(login, session, output)
                await asyncio.sleep(STREAM_STATS_S)
        except Exception as exc:  # a bug in the output: shown, and the stream stops
            log.exception("program stream failed")
            message = f"The program stream stopped: {exc}"
            self._emit(ev.LinkFailed("live", message))
        finally:
            self._output = None
            with contextlib.suppress(Exception):
                await starting  # never stop while start() still runs in its thread
            await asyncio.to_thread(output.stop)  # joins threads, drains <= 0.5 s
            self._emit(ev.StreamChanged(False, (), message))

    async def _renew_targets(
        self, login: Login, session: SessionInfo, output: ProgramOutput
    ) -> None:
        """A layer was refused for its credentials (1403 token, 10 passphrase): fetch them
        again (which renews an expiring publish token) and hand them to the output. A
        failure waits for the next refusal; the layers keep retrying meanwhile."""

        async def fetch(access: str) -> SrtCredentials:
            return await login.api.srt(access, session.id)

        try:
            srt = await self._authed(login, fetch)
            if srt.srt_url is None:
                return
            targets = session_targets(srt.srt_url, session.id, srt.publish_token, srt.passphrase)
        except (CloudError, ValueError) as exc:
            log.info("SRT credentials not renewed after a refusal: %s", exc)
            return
        self._srt = srt
        log.info("SRT credentials fetched again after a refusal (token until %s)", srt.expires_at)
        output.retarget(targets)

    async def _poll_phones(self, login: Login, session_id: str) -> None:
        async def phones(access: str) -> tuple[Participant, ...]:
            return tuple(await login.api.participants(access, session_id))

        while True:
            try:
                self._emit(ev.PhonesChanged(await self._authed(login, phones)))
            except CloudError as exc:
                log.info("phones poll failed: %s", exc)
            relay = self._relay
            if relay is not None and relay.stats.connected:
                self._emit(ev.LiveChanged(True, True, "", relay.stats.rtt_ms))
            await asyncio.sleep(PHONES_POLL_S)
