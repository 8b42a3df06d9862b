"""The local control API over real HTTP and WebSocket on loopback, token and all."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.runtime import Runtime
from app.session_link.vault import MemoryVault
from tests.app.core_config import light_config

TOKEN = "test-token-123"


@pytest.fixture
def core() -> Iterator[Runtime]:
    rt = Runtime(light_config(control_token=TOKEN), vault=MemoryVault())
    rt.start()
    yield rt
    rt.stop()


@pytest.fixture
def api(core: Runtime) -> Iterator[httpx.Client]:
    assert core.control_url is not None
    with httpx.Client(base_url=core.control_url, timeout=5) as client:
        yield client


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_a_cut_through_the_api_goes_to_air(core: Runtime, api: httpx.Client) -> None:
    state = api.get("/api/state", headers=AUTH).json()
    assert (state["program"], state["preview"]) == ("test-1", "test-2")
    r = api.post("/api/cut", headers=AUTH)
    assert r.status_code == 200, r.text
    assert r.json()["state"]["program"] == "test-2"
    assert core.state.program == "test-2"
    # Companion's generic HTTP module: the token in the query, the source by button number.
    r = api.post(f"/api/preview/4?token={TOKEN}")
    assert r.status_code == 200 and r.json()["state"]["preview"] == "test-4"
    r = api.post("/api/transition", headers=AUTH, json={"kind": "dip", "duration": 12})
    assert r.json()["state"]["transition"] == {"kind": "dip", "duration": 12}
    r = api.post("/api/program", headers=AUTH, json={"source": "test-3"})
    assert r.json()["state"]["program"] == "test-3"


def test_a_wrong_or_missing_token_is_401(api: httpx.Client, core: Runtime) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = api.post("/api/cut", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["code"] == "unauthorized"
    assert api.get("/api/state?token=nope").status_code == 401
    assert core.state.program == "test-1"
    assert api.get("/api/health").json() == {"ok": True}


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/api/preview", b"{not json", 400, "bad_request"),
        ("/api/preview", b"[1, 2]", 400, "bad_request"),
        ("/api/preview", b'{"source": 7}', 400, "bad_request"),
        ("/api/tbar", b'{"position": "half"}', 400, "bad_request"),
        ("/api/tbar", b'{"position": 2}', 409, "invalid_value"),
        ("/api/transition", b'{"kind": "wipe"}', 400, "bad_request"),
        ("/api/audio/Tone", b"{}", 400, "bad_request"),
        ("/api/audio/nope", b'{"mute": true}', 404, "unknown_channel"),
        ("/api/preview", b'{"source": "nope"}', 404, "unknown_source"),
        ("/api/preview", b"x" * 20000, 413, "too_large"),
    ],
)
def test_bad_requests_get_clear_errors_and_the_api_stays_up(
    api: httpx.Client, path: str, body: bytes, status: int, code: str
) -> None:
    r = api.post(path, headers=AUTH, content=body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"]
    assert api.post("/api/cut", headers=AUTH).status_code == 200


def test_the_event_socket_streams_state_then_events_in_order(
    core: Runtime, api: httpx.Client
) -> None:
    assert core.control_url is not None
    url = core.control_url.replace("http://", "ws://") + f"/api/events?token={TOKEN}"
    with connect(url, open_timeout=5) as ws:
        first = json.loads(ws.recv(timeout=5))
        assert first["type"] == "state" and first["state"]["program"] == "test-1"
        api.post("/api/cut", headers=AUTH)
        types = [json.loads(ws.recv(timeout=5)) for _ in range(3)]
    assert [t["type"] for t in types] == ["program", "preview", "tally"]
    assert types[2]["bus"] == {"program": ["test-2"], "preview": ["test-1"]}


def test_the_event_socket_refuses_a_wrong_token(core: Runtime) -> None:
    assert core.control_url is not None
    url = core.control_url.replace("http://", "ws://") + "/api/events?token=nope"
    with connect(url, open_timeout=5) as ws, pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def _read_response(sock: socket.socket) -> bytes:
    """One whole HTTP/1.1 response: the head, then exactly Content-Length bytes of body.

    A bare recv() may return the head alone, and the body left on the socket would then
    read as the next response."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-response"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection mid-body"
        body += chunk
    assert len(body) == length
    return head


def test_an_idle_connection_outlives_a_clients_keep_alive(core: Runtime) -> None:
    """A client keeps idle connections for 5 s (httpx) to a minute: the server must keep
    them longer, or a cut sent on a pooled connection as the server closes it is reset."""
    assert core.control_url is not None
    host, port = core.control_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        request = (
            f"GET /api/state HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {TOKEN}\r\n\r\n"
        )
        sock.sendall(request.encode())
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        time.sleep(6.0)  # past uvicorn's default 5 s, which closed it here
        sock.settimeout(0.2)
        with contextlib.suppress(TimeoutError):  # still open, nothing to read: as it should
            assert sock.recv(1) != b"", "the server closed the idle connection"
        sock.sendall(request.encode())
        sock.settimeout(5)
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
