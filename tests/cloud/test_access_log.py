"""A token put in a URL by mistake never reaches the backend's log: query values are
redacted from the access log and from the WebSocket lines, their names kept."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.cloud import CloudServer

SECRET = "tok-4f7c1e9a2b"  # a stand-in for a token a client pastes into a URL


async def _relay_with_token_in_url(server: CloudServer) -> None:
    url = f"ws://127.0.0.1:{server.port}/api/relay/nosuchsession?token={SECRET}&v=1"
    async with connect(url) as ws:  # accepted, then closed: the token is not read from here
        with contextlib.suppress(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 10)


def test_query_values_are_not_logged(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}")
    try:
        with server.client() as c:
            assert c.get(f"/api/health?token={SECRET}&verbose").status_code == 200
            assert c.get(f"/api/auth/me?access_token={SECRET}").status_code == 401
        asyncio.run(_relay_with_token_in_url(server))
        server.stop()  # every line written
        log = server.log_text()
        assert SECRET not in log
        assert '"GET /api/health?token=…&verbose=… HTTP/1.1" 200' in log, log
        assert "/api/auth/me?access_token=…" in log
        assert '"WebSocket /api/relay/nosuchsession?token=…&v=…" [accepted]' in log, log
    finally:
        server.stop()
