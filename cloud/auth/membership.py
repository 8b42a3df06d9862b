"""Whether a participant token's holder is still a member of its session.

The one rule every place that takes a participant token applies (the REST API through
cloud/auth/deps.py, the relay, WHEP): an invite's expiry gates joining only. A phone or
viewer that joined stays a member for the session's life, until the director removes it,
revokes the invite it joined with, or ends the session. The token itself is short-lived
and renewed (POST /api/participant/token), so it is the membership that lasts, not the
token.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.tokens import ParticipantClaims
from cloud.db.models import Invite, LiveSession, Participant


class Lapse(StrEnum):
    """Why a membership ended; sent as `details.reason` and named in relay close reasons."""

    SESSION_ENDED = "session_ended"
    REMOVED = "removed"
    INVITE_REVOKED = "invite_revoked"


class MembershipEnded(Exception):
    def __init__(self, lapse: Lapse, message: str) -> None:
        super().__init__(message)
        self.lapse = lapse
        self.message = message


@dataclass(frozen=True, slots=True)
class Member:
    participant: Participant
    session: LiveSession
    invite: Invite | None  # None for a participant that joined without one


async def member(db: AsyncSession, claims: ParticipantClaims) -> Member:
    """The token's participant, if still a member; else `MembershipEnded`, checked in the
    order the relay's close codes need (an ended session first)."""
    session = await db.get(LiveSession, claims.session_id)
    if session is None or session.ended_at is not None:
        raise MembershipEnded(Lapse.SESSION_ENDED, "the session has ended")
    participant = await db.get(Participant, claims.participant_id)
    if participant is None or participant.session_id != session.id:
        raise MembershipEnded(Lapse.REMOVED, "this participant was removed from the session")
    invite = None
    if participant.invite_id is not None:
        invite = await db.get(Invite, participant.invite_id)
        # Expiry is not checked here on purpose: it only stops new joins (module docstring).
        if invite is None or invite.revoked_at is not None:
            raise MembershipEnded(
                Lapse.INVITE_REVOKED, "the director revoked the invite link this one joined with"
            )
    return Member(participant, session, invite)
