"""The relay's database reads and writes: a room's stored state, cameras, phones' cameras."""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db.models import Camera as CameraModel
from cloud.db.models import Participant, TallyRoom
from cloud.db.types import utcnow
from cloud.relay.state import CameraRow, initial_state
from tally import BusState, Camera, ProtocolError, Role, TallyState

log = logging.getLogger(__name__)


class TallyStore:
    def __init__(self, db: async_sessionmaker[AsyncSession]) -> None:
        self._db = db

    async def load(self, session_id: str) -> tuple[int, TallyState]:
        """The stored state, or the session's cameras with nothing on air at seq 0."""
        async with self._db() as db:
            row = await db.get(TallyRoom, session_id)
            if row is not None:
                try:
                    return row.seq, _decode(row)
                except (ProtocolError, ValueError, TypeError, KeyError) as exc:
                    log.warning("stored tally of session %s is unreadable (%s)", session_id, exc)
            rows = await _camera_rows(db, session_id)
        return (row.seq if row is not None else 0), initial_state(rows)

    async def save(self, session_id: str, seq: int, state: TallyState) -> None:
        """Store `state` unless a newer one is already there (another process may write too)."""
        values = _encode(seq, state)
        for _attempt in range(2):
            async with self._db() as db:
                await db.execute(
                    update(TallyRoom)
                    .where(TallyRoom.session_id == session_id, TallyRoom.seq < seq)
                    .values(**values)
                )
                stored = await db.scalar(
                    select(TallyRoom.seq).where(TallyRoom.session_id == session_id)
                )
                if stored is None:
                    db.add(TallyRoom(session_id=session_id, **values))
                try:
                    await db.commit()
                    return
                except IntegrityError:
                    # Another process inserted the row first; compare seqs with it once more.
                    await db.rollback()

    async def cameras(self, session_id: str) -> list[CameraRow]:
        async with self._db() as db:
            return await _camera_rows(db, session_id)

    async def set_camera(self, session_id: str, participant_id: str, camera: int) -> bool:
        """Move a camera phone to `camera`; False if it is not a camera of this session."""
        async with self._db() as db:
            result = await db.execute(
                update(Participant)
                .where(
                    Participant.id == participant_id,
                    Participant.session_id == session_id,
                    Participant.role == Role.CAMERA.value,
                )
                .values(camera_number=camera)
            )
            await db.commit()
            return bool(getattr(result, "rowcount", 0))


async def _camera_rows(db: AsyncSession, session_id: str) -> list[CameraRow]:
    rows = await db.scalars(
        select(CameraModel).where(CameraModel.session_id == session_id).order_by(CameraModel.number)
    )
    return [CameraRow(row.number, row.name, row.ndi_source) for row in rows]


def _encode(seq: int, state: TallyState) -> dict[str, Any]:
    cameras = [
        {"number": camera.number, "name": camera.name, "source": camera.source}
        for camera in state.cameras
    ]
    return {
        "seq": seq,
        "program": json.dumps(list(state.bus.program), ensure_ascii=False),
        "preview": json.dumps(list(state.bus.preview), ensure_ascii=False),
        "cameras": json.dumps(cameras, ensure_ascii=False),
        "live_only": state.live_only,
        "updated_at": utcnow(),
    }


def _decode(row: TallyRoom) -> TallyState:
    # The tally dataclasses check every value, so a damaged row fails here, not on a phone.
    bus = BusState(json.loads(row.program), json.loads(row.preview))
    cameras = tuple(
        Camera(item["number"], item["name"], item["source"]) for item in json.loads(row.cameras)
    )
    return TallyState(bus, cameras, bool(row.live_only))
