"""The director's hand on the crew: flash a camera's phone, move a phone to another camera,
revoke and re-issue a camera's or the viewers' invite link, and list who has joined.

Flash and move travel over the relay (`Flash`, `Assign`), so they need Go Live; the invite
links and the list are the backend's REST API and need only a chosen session. Every refusal
is a `CrewRefused` with an HTTP status and a code, so the control API answers 404 or 409 and
the window shows the message; nothing here reaches the relay or the backend unchecked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..relay_client import RelayClient
from . import events as ev
from .cloud_api import CloudError, Invite, Participant, SessionInfo
from .login import Login

log = logging.getLogger(__name__)

MOVE_CONFIRM_S = 3.0  # how long a move waits to see the backend store the new camera
MOVE_LOOK_S = 0.2


class CrewRefused(CloudError):
    """A crew action that cannot be done as asked: unknown camera or phone, not live, ..."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message, code, status)


@dataclass(frozen=True, slots=True)
class CrewShow:
    """What a crew action needs from the session link at the moment it runs."""

    login: Login | None
    session: SessionInfo | None
    relay: RelayClient | None  # None: not live


class Crew:
    def __init__(
        self,
        show: Callable[[], CrewShow],
        emit: Callable[[ev.LinkEvent], None],
        invites_changed: Callable[[tuple[Invite, ...]], None],
    ) -> None:
        self._show = show
        self._emit = emit
        self._invites_changed = invites_changed  # the link keeps the links it shows

    # --- over the relay --------------------------------------------------------------------

    async def flash(self, camera: int | None) -> None:
        """Flash one camera's phones (every phone for None)."""
        show = self._show()
        session = self._session(show)
        if camera is not None:
            self._known_camera(session, camera)
        self._relay(show).flash(camera)

    async def move(self, participant: str, camera: int) -> Participant:
        """Make a camera phone the tally of `camera`; its new row once the backend has it."""
        show = self._show()
        login, session = self._login(show), self._session(show)
        self._known_camera(session, camera)
        relay = self._relay(show)
        phones = await self._participants(login, session)
        phone = next((p for p in phones if p.id == participant and p.role == "camera"), None)
        if phone is None:
            raise CrewRefused(404, "unknown_phone", f"no camera phone {participant!r} has joined")
        relay.assign(participant, camera)
        # The relay stores the move, then tells the phone; the list follows the backend.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MOVE_CONFIRM_S
        while loop.time() < deadline:
            await asyncio.sleep(MOVE_LOOK_S)
            phones = await self._participants(login, session)
            moved = next((p for p in phones if p.id == participant), None)
            if moved is not None and moved.camera_number == camera:
                self._emit(ev.PhonesChanged(tuple(phones)))
                return moved
        log.info("move of %s to camera %d not seen in the list yet", participant, camera)
        return Participant(phone.id, phone.role, phone.display_name, camera, phone.joined_at)

    # --- over the backend ------------------------------------------------------------------

    async def roster(self) -> tuple[Participant, ...]:
        """Everyone who joined the session by a link (the director not included)."""
        show = self._show()
        phones = await self._participants(self._login(show), self._session(show))
        self._emit(ev.PhonesChanged(tuple(phones)))
        return tuple(p for p in phones if p.role != "director")

    async def links(self) -> tuple[Invite, ...]:
        """The links there are to hand out: one per camera and the viewers' (usable ones)."""
        show = self._show()
        login, session = self._login(show), self._session(show)
        invites = await login.api.invites(await login.access(), session.id)
        return self._publish(invites, gone=set())

    async def revoke(self, camera: int | None) -> int:
        """Revoke every live link of `camera` (None: the viewers' link); the phones or viewers
        that joined by them are closed. How many there were."""
        show = self._show()
        login, session = self._login(show), self._session(show)
        self._known_camera(session, camera)
        access = await login.access()
        invites = await login.api.invites(access, session.id)
        mine = [i for i in invites if self._of(i, camera) and not i.revoked]
        if not mine:
            if camera is None:
                raise CrewRefused(404, "no_invite", "the viewers have no link to revoke")
            raise CrewRefused(404, "no_invite", f"camera {camera} has no link to revoke")
        for invite in mine:
            await login.api.revoke_invite(access, session.id, invite.id)
        self._publish(invites, gone={i.id for i in mine})
        return len(mine)

    async def reissue(self, camera: int | None, quality: str | None = None) -> Invite:
        """A new link for `camera` (None: the viewers); the old ones stop working and whoever
        joined by them is closed. `quality` is the new link's ceiling ("auto" or "lo");
        None keeps the old link's (the session's default when there was none)."""
        show = self._show()
        login, session = self._login(show), self._session(show)
        self._known_camera(session, camera)
        access = await login.access()
        invites = await login.api.invites(access, session.id)
        old = [i for i in invites if self._of(i, camera) and not i.revoked]
        for invite in old:
            await login.api.revoke_invite(access, session.id, invite.id)
        role = "viewer" if camera is None else "camera"
        # The backend lists links oldest first: the last of this one's, revoked or not, holds
        # the director's latest choice.
        before = [i.quality for i in invites if self._of(i, camera)]
        quality = quality or (before[-1] if before else None)
        new = await login.api.create_invite(access, session.id, role, camera, quality)
        self._publish([*invites, new], gone={i.id for i in old})
        return new

    # --- helpers ---------------------------------------------------------------------------

    def _publish(self, invites: list[Invite], gone: set[str]) -> tuple[Invite, ...]:
        now = datetime.now(UTC)
        left = [i for i in invites if i.id not in gone and i.usable(now)]
        left.sort(key=lambda i: i.created_at or now, reverse=True)  # the newest is shown
        self._invites_changed(tuple(left))
        self._emit(ev.InvitesChanged(tuple(left)))
        return tuple(left)

    @staticmethod
    def _of(invite: Invite, camera: int | None) -> bool:
        if camera is None:
            return invite.role == "viewer"
        return invite.role == "camera" and invite.camera_number == camera

    @staticmethod
    async def _participants(login: Login, session: SessionInfo) -> list[Participant]:
        return await login.api.participants(await login.access(), session.id)

    @staticmethod
    def _login(show: CrewShow) -> Login:
        if show.login is None:
            raise CrewRefused(409, "not_logged_in", "Log in to the ReturnFeed cloud first.")
        return show.login

    @staticmethod
    def _session(show: CrewShow) -> SessionInfo:
        if show.session is None:
            raise CrewRefused(409, "no_session", "Choose or create a session first.")
        return show.session

    @staticmethod
    def _relay(show: CrewShow) -> RelayClient:
        if show.relay is None:
            raise CrewRefused(
                409, "not_live", "Go live first: the phones are reached by the relay."
            )
        return show.relay

    @staticmethod
    def _known_camera(session: SessionInfo, camera: int | None) -> None:
        if camera is not None and camera not in {cam.number for cam in session.cameras}:
            raise CrewRefused(404, "unknown_camera", f"this session has no camera {camera}")
