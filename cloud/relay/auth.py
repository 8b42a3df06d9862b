"""Who is connecting: the token from the subprotocol or header, checked like the REST API does."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.websockets import WebSocket

from cloud.auth.membership import Lapse, MembershipEnded, member
from cloud.auth.tokens import TokenError, TokenSigner
from cloud.db.models import LiveSession, TokenFamily
from cloud.relay.codes import CloseCode
from cloud.relay.peer import Identity
from tally import Role

SUBPROTOCOL = "returnfeed.v1"
BEARER_PREFIX = "bearer."


class Refused(Exception):
    """The connection is refused with this close code and reason."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def token_of(websocket: WebSocket) -> str | None:
    """Browsers send `bearer.<token>` as a subprotocol; other clients may use the header."""
    for offered in websocket.scope.get("subprotocols", []):
        if offered.startswith(BEARER_PREFIX) and len(offered) > len(BEARER_PREFIX):
            return str(offered[len(BEARER_PREFIX) :])
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def authenticate(
    db: AsyncSession, signer: TokenSigner, session_id: str, token: str | None
) -> Identity:
    """The caller's identity in `session_id`, or `Refused` with the code docs/relay.md names."""
    if token is None:
        raise Refused(CloseCode.UNAUTHORIZED, "no token: send subprotocol bearer.<token>")
    try:
        access = signer.read_access_token(token)
    except TokenError:
        return await _participant(db, signer, session_id, token)
    family = await db.get(TokenFamily, access.family_id)
    if family is None or family.revoked_at is not None or family.user_id != access.user_id:
        raise Refused(CloseCode.UNAUTHORIZED, "this login has ended; log in again")
    session = await _live_session(db, session_id)
    if session.owner_id != access.user_id:
        raise Refused(CloseCode.FORBIDDEN, "only the session's director may connect as director")
    return Identity(Role.DIRECTOR, session_id, None, None, None, login=access.family_id)


async def _participant(
    db: AsyncSession, signer: TokenSigner, session_id: str, token: str
) -> Identity:
    try:
        claims = signer.read_participant_token(token)
    except TokenError as exc:
        raise Refused(CloseCode.UNAUTHORIZED, str(exc)) from None
    if claims.session_id != session_id:
        raise Refused(CloseCode.FORBIDDEN, "this link is for another session")
    try:
        joined = await member(db, claims)  # an expired invite still lets its members in
    except MembershipEnded as exc:
        if exc.lapse is Lapse.SESSION_ENDED:
            raise Refused(CloseCode.NOT_FOUND, "no such session, or it has ended") from None
        raise Refused(CloseCode.UNAUTHORIZED, exc.message) from None
    participant = joined.participant
    if participant.role not in (Role.CAMERA, Role.VIEWER):
        raise Refused(CloseCode.FORBIDDEN, "a participant link is for a camera or a viewer")
    bound = joined.invite.camera_number if joined.invite is not None else None
    return Identity(
        Role(participant.role), session_id, participant.id, participant.camera_number, bound
    )


async def _live_session(db: AsyncSession, session_id: str) -> LiveSession:
    session = await db.get(LiveSession, session_id) if len(session_id) <= 16 else None
    if session is None or session.ended_at is not None:
        raise Refused(CloseCode.NOT_FOUND, "no such session, or it has ended")
    return session
