"""The director's link to the cloud: login, session choice, and going live.

Runs on the runtime loop; every public coroutine reports through `emit` (LinkEvents)
rather than raising, so a caller on the UI thread only ever fires and forgets. Go Live
hands the chosen session to an `OnAir` (onair.py), which keeps the relay, the program
stream, the phones poll and the invite links up until Stop, and says on its health board
what is down and since when.
"""

from __future__ import annotations

import logging
import webbrowser
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tally import Camera

from ..engine.commands import Command, SetCameras
from ..engine.state import ShowState
from ..engine.tally import TallyOut
from ..golive import OutputFactory
from ..relay_client import RelayClient
from . import events as ev
from .audience import Audience
from .cloud_api import CloudApi, CloudError, Invite, SessionInfo, SrtCredentials
from .crew import Crew, CrewRefused, CrewShow
from .login import Login
from .onair import OnAir, RelayFactory, ensure_invites
from .recordings import Recordings
from .vault import Vault

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        relay_factory: RelayFactory = RelayClient,
        output_factory: OutputFactory | None = None,
        srt_latency: Callable[[], int | None] = lambda: None,
        open_browser: Callable[[str], object] = webbrowser.open,
    ) -> None:
        self._vault = vault
        self._open_browser = open_browser  # the system browser, for provider sign-in
        self._tally = tally
        self._state = state
        self._execute = execute
        self._emit = emit
        self._relay_factory = relay_factory
        self._output_factory = output_factory  # None: tally only (no program clock here)
        self._srt_latency = srt_latency  # a fixed SRT latency, read at each Go Live
        self._srt: SrtCredentials | None = None
        self._invites: tuple[Invite, ...] = ()
        self._login: Login | None = None
        self._session: SessionInfo | None = None
        self._on_air: OnAir | None = None
        self.crew = Crew(self._crew_show, emit, self._set_invites)
        self.recordings = Recordings(
            lambda: self._login, lambda: self._session, self._session_updated, emit, open_browser
        )
        self.audience = Audience(lambda: self._login, emit)

    @property
    def logged_in(self) -> bool:
        return self._login is not None

    @property
    def relay(self) -> RelayClient | None:
        return self._on_air.relay if self._on_air is not None else None

    # --- login ----------------------------------------------------------------------------

    async def login(self, backend: str, email: str, password: str) -> bool:
        return await self._guard("login", self.sign_in(backend, email, password)) is not None

    async def register(self, backend: str, email: str, password: str, name: str) -> bool:
        work = self.create_account(backend, email, password, name)
        return await self._guard("login", work) is not None

    async def sign_in(self, backend: str, email: str, password: str) -> str:
        """Log in (raising CloudError when refused); the email logged in as."""
        await self._reset()
        login = await Login.sign_in(CloudApi(backend), self._vault, email, password)
        return await self._signed_in(login)

    async def create_account(self, backend: str, email: str, password: str, name: str) -> str:
        """A new account on `backend`, logged in at once (raising CloudError when refused)."""
        await self._reset()
        login = await Login.register(CloudApi(backend), self._vault, email, password, name)
        return await self._signed_in(login)

    async def offer_providers(self, backend: str) -> None:
        """Which providers `backend` offers; none from one that cannot say (an older one)."""
        api = CloudApi(backend)
        try:
            providers = tuple(await api.oidc_providers())
        except CloudError as exc:
            log.info("no sign-in providers from %s: %s", backend, exc.message)
            providers = ()
        finally:
            await api.aclose()
        self._emit(ev.ProvidersOffered(backend, providers))

    async def login_with_provider(self, backend: str, provider: str) -> bool:
        """Sign in at `provider` in the system browser (oidc_login.py)."""
        return await self._guard("login", self._sign_in_with(backend, provider)) is not None

    async def _sign_in_with(self, backend: str, provider: str) -> str:
        await self._reset()
        api = CloudApi(backend)
        try:
            login = await Login.sign_in_with_provider(
                api, self._vault, provider, self._open_browser
            )
        except BaseException:
            await api.aclose()
            raise
        return await self._signed_in(login)

    async def _signed_in(self, login: Login) -> str:
        self._login = login
        self._emit(ev.LoginChanged(login.api.base_url, login.email))
        await self.list_sessions()
        return login.email

    async def resume(self, backend: str) -> bool:
        """Log in with the refresh token kept in the keyring, if any."""
        login = await self._guard("login", Login.resume(CloudApi(backend), self._vault))
        if login is None:
            return False
        await self._signed_in(login)
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
        if self._need_login("session") is not None:
            await self._guard("session", self.new_session(name, cameras))

    async def choose_session(self, session_id: str) -> None:
        if self._need_login("session") is not None:
            await self._guard("session", self.select_session(session_id))

    async def select_session(self, session_id: str) -> SessionInfo:
        """Make `session_id` the one Go Live uses (stopping a show on another first)."""
        login = self._logged_in()
        await self.stop_live()
        access = await login.access()
        session = await login.api.session(access, session_id)
        srt = await login.api.srt(access, session_id)
        invites = await ensure_invites(login, access, session)
        self._session, self._srt, self._invites = session, srt, invites
        if session.cameras:
            cameras = camera_sources(session, self._state())
            self._execute(SetCameras(cameras, self._state().live_only))
        self._emit(ev.SessionChosen(session, srt, invites))
        return session

    async def new_session(self, name: str, cameras: int) -> SessionInfo:
        """Create a session and choose it."""
        login = self._logged_in()
        session = await login.api.create_session(await login.access(), name.strip(), cameras)
        await self.list_sessions()
        return await self.select_session(session.id)

    async def live_sessions(self) -> tuple[SessionInfo, ...]:
        """This director's sessions that have not ended, newest first."""
        login = self._logged_in()
        sessions = await login.api.sessions(await login.access())
        return tuple(s for s in sessions if s.state == "live")

    async def rename_session(self, session_id: str, name: str) -> SessionInfo:
        login = self._logged_in()
        session = await login.api.rename_session(await login.access(), session_id, name.strip())
        if self._session is not None and self._session.id == session.id:
            self._session = session
            self._emit(ev.SessionUpdated(session))
        await self.list_sessions()
        return session

    async def set_quality_defaults(
        self, session_id: str, camera: str | None, viewer: str | None
    ) -> SessionInfo:
        """The session's default quality ceiling per role, for links made from now on."""
        login = self._logged_in()
        access = await login.access()
        session = await login.api.set_quality_defaults(access, session_id, camera, viewer)
        if self._session is not None and self._session.id == session.id:
            self._session = session
            self._emit(ev.SessionUpdated(session))
        return session

    async def end_session(self, session_id: str) -> SessionInfo:
        """End a session for good; the chosen one's show, when on air, stops cleanly first
        (its phones and viewers are closed by the backend)."""
        login = self._logged_in()
        access = await login.access()
        await login.api.session(access, session_id)  # an unknown id is refused before Stop
        chosen = self._session is not None and self._session.id == session_id
        if chosen:
            await self.stop_live()
        session = await login.api.end_session(await login.access(), session_id)
        if chosen:
            self._session, self._srt, self._invites = None, None, ()
            self._emit(ev.SessionUpdated(None))
        await self.list_sessions()
        return session

    async def rotate_srt(self) -> SrtCredentials:
        """New SRT passphrase and publish token for the chosen session; on air, the stream's
        layers reconnect with them (the backend drops the old connections at once)."""
        login = self._logged_in()
        if self._session is None:
            raise CrewRefused(409, "no_session", "Choose or create a session first.")
        srt = await login.api.rotate_srt(await login.access(), self._session.id)
        self._srt = srt
        if self._on_air is not None:
            self._on_air.use_srt(srt)
        self._emit(ev.SrtRotated(srt, self._on_air is not None))
        return srt

    @property
    def session(self) -> SessionInfo | None:
        return self._session

    # --- live -------------------------------------------------------------------------------

    @property
    def on_air(self) -> OnAir | None:
        return self._on_air

    async def go_live(self) -> None:
        login = self._need_login("live")
        if login is None:
            return
        if self._session is None or self._srt is None:
            self._emit(ev.LinkFailed("live", "Choose or create a session first."))
            return
        if self._on_air is not None:
            return
        self._on_air = OnAir(
            login,
            self._session,
            self._srt,
            self._invites,
            tally=self._tally,
            state=self._state,
            emit=self._emit,
            ended=self.stop_live,
            relay_factory=self._relay_factory,
            output_factory=self._output_factory,
            srt_latency_ms=self._srt_latency(),
        )
        await self._on_air.start()

    async def stop_live(self, reason: str = "") -> None:
        """Stop; `reason`, when the show ended by itself (taken over), is shown."""
        on_air, self._on_air = self._on_air, None
        if on_air is None:
            return
        await on_air.stop()
        self._emit(ev.LiveChanged(False, False, reason))
        if reason:
            self._emit(ev.LinkFailed("live", reason))

    async def take_over(self) -> None:
        """Another director or sender is on this session: make this app the only one."""
        if self._on_air is None:
            self._emit(ev.LinkFailed("live", "Go live first."))
            return
        self._on_air.take_over()

    async def reconnect_now(self) -> None:
        """Every link of the show tries again at once (the director's "Retry now")."""
        if self._on_air is not None:
            self._on_air.reconnect_now()

    def send_message(self, text: str, camera: int | None) -> None:
        if self._on_air is None:
            self._emit(ev.LinkFailed("message", "Go live first: messages travel over the relay."))
            return
        text = text.strip()[:500]
        if not text:
            return
        message_id = self._on_air.relay.send_message(text, camera)
        self._emit(ev.MessageSent(message_id, camera, text))

    async def close(self) -> None:
        await self._reset()

    async def report(self, action: str, work: Awaitable[T]) -> T | None:
        """Run `work` (a crew action, say) for the window: a refusal becomes LinkFailed."""
        return await self._guard(action, work)

    def _crew_show(self) -> CrewShow:
        return CrewShow(self._login, self._session, self.relay)

    def _set_invites(self, invites: tuple[Invite, ...]) -> None:
        self._invites = invites

    def _session_updated(self, session: SessionInfo) -> None:
        self._session = session
        self._emit(ev.SessionUpdated(session))
        if self._on_air is not None:
            self._on_air.poll_now()  # the recording's state follows at once, not in 5 s

    # --- helpers ----------------------------------------------------------------------------

    async def _reset(self) -> None:
        await self.stop_live()
        self._session, self._srt, self._invites = None, None, ()
        self.audience.forget()
        login, self._login = self._login, None
        if login is not None:
            await login.api.aclose()

    def _logged_in(self) -> Login:
        if self._login is None:
            raise CrewRefused(409, "not_logged_in", "Log in to the ReturnFeed cloud first.")
        return self._login

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
