"""How much one account may hold at once: live sessions, and live invite links.

Every session keeps SRT credentials, a relay room and rows; every invite link a token that
admits phones. Ended sessions and revoked or expired links count for nothing, so a director
frees room by ending or revoking. Cameras need no quota of their own: a session numbers
them 1..99 (schemas.CameraNumber).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.db.models import Invite, LiveSession
from cloud.errors import ApiError


class QuotaExceeded(ApiError):
    status = 403
    code = "quota_exceeded"


async def check_sessions(db: AsyncSession, user_id: str, limit: int) -> None:
    live = await db.scalar(
        select(func.count())
        .select_from(LiveSession)
        .where(LiveSession.owner_id == user_id, LiveSession.ended_at.is_(None))
    )
    if (live or 0) >= limit:
        raise QuotaExceeded(
            f"this account has {limit} sessions that have not ended, the most it may; "
            "end one to make another",
            {"resource": "sessions", "limit": limit},
        )


async def check_invites(db: AsyncSession, user_id: str, limit: int, now: datetime) -> None:
    live = await db.scalar(
        select(func.count())
        .select_from(Invite)
        .join(LiveSession, Invite.session_id == LiveSession.id)
        .where(
            LiveSession.owner_id == user_id,
            LiveSession.ended_at.is_(None),
            Invite.revoked_at.is_(None),
            Invite.expires_at > now,
        )
    )
    if (live or 0) >= limit:
        raise QuotaExceeded(
            f"this account has {limit} invite links in use, the most it may; revoke one "
            "(or let one expire) to make another",
            {"resource": "invites", "limit": limit},
        )
