"""`/api/relay/{session_id}`: authenticate, then hand the socket to a Connection."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from starlette.websockets import WebSocket

from cloud.backend import Backend
from cloud.relay.auth import SUBPROTOCOL, Refused, authenticate, token_of
from cloud.relay.codes import CloseCode, Ending
from cloud.relay.connection import Connection, Limits, close
from cloud.relay.peer import Identity

log = logging.getLogger(__name__)

router = APIRouter()


@router.websocket("/api/relay/{session_id}")
async def relay_socket(websocket: WebSocket, session_id: str) -> None:
    backend: Backend = websocket.app.state.backend
    settings = backend.settings
    identity: Identity | Ending
    try:
        async with backend.db() as db:
            identity = await authenticate(db, backend.signer, session_id, token_of(websocket))
    except Refused as refused:
        if refused.code is CloseCode.UNAUTHORIZED:
            backend.metrics.auth_failures.labels("relay_token").inc()
        identity = Ending(refused.code, refused.reason)
    except Exception as exc:  # the database is unreachable: refuse now, the client retries
        # The type only: a database error's text may quote the query's parameters.
        log.warning("relay connect to %s failed: %s", session_id, type(exc).__name__)
        identity = Ending(CloseCode.GOING_AWAY, "the server cannot check tokens now; retry")
    # Accepted even to refuse: a browser sees the close code and reason only on an open socket.
    subprotocols = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in subprotocols else None)
    if isinstance(identity, Ending):
        await close(websocket, identity, settings.relay_timeout_s, backend.relay.deps.metrics)
        return
    limits = Limits(
        settings.relay_queue, settings.relay_burst, settings.relay_rate, settings.relay_timeout_s
    )
    await Connection(websocket, identity, backend.relay, limits).serve()
