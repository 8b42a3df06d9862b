"""A session's recording switch (docs/recording.md, "The switch"):

    GET   /api/sessions/{id}/recording             {on, records, reason, message}
    PATCH /api/sessions/{id}/recording  {"on": b}  the same, after the change

Only the owner sees or sets it; someone else's session is 404, an ended one 409. The switch
is stored with the session; the recorder of this process hears of a change at once, the
session's owner process (several processes, docs/scale.md) at its next credentials
refresh. The backend's --no-recording wins over the switch, and the answer says so.
"""

from __future__ import annotations

from fastapi import APIRouter

from cloud.api.schemas import RecordingSwitchIn, RecordingSwitchOut
from cloud.api.sessions import OwnedSession, require_live
from cloud.auth.deps import BackendDep, DbDep
from cloud.backend import Backend
from cloud.db.models import LiveSession

router = APIRouter(prefix="/api/sessions", tags=["recordings"])


def switch_out(backend: Backend, session: LiveSession) -> RecordingSwitchOut:
    if backend.recorder is None:
        message = "this backend keeps no recordings (it runs with --no-recording)"
        return RecordingSwitchOut(
            on=session.recording, records=False, reason="backend_off", message=message
        )
    if not session.recording:
        message = "recording is switched off for this session"
        return RecordingSwitchOut(on=False, records=False, reason="switched_off", message=message)
    message = "each Go Live of this session is recorded"
    return RecordingSwitchOut(on=True, records=True, reason=None, message=message)


@router.get("/{session_id}/recording", response_model=RecordingSwitchOut)
async def get_switch(session: OwnedSession, backend: BackendDep) -> RecordingSwitchOut:
    return switch_out(backend, session)


@router.patch("/{session_id}/recording", response_model=RecordingSwitchOut)
async def set_switch(
    body: RecordingSwitchIn, session: OwnedSession, db: DbDep, backend: BackendDep
) -> RecordingSwitchOut:
    """Off: the next Go Live does not record, and one being written ends ("stopped");
    on while the show is live: a recording begins at the next IDR."""
    require_live(session)
    session.recording = body.on
    await db.commit()
    if backend.gateway is not None:  # the recorder here and, told, the session's owner
        backend.gateway.recording_switched(session.id, body.on)
    return switch_out(backend, session)
