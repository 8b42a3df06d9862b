"""The local control API: HTTP + WebSocket on 127.0.0.1, for Companion, scripts and tests.

Runs on the runtime's asyncio loop (uvicorn serving a small Starlette app), so each
request calls the engine directly, on the engine's own thread. Every endpoint but
/api/health wants the token: `Authorization: Bearer TOKEN` or `?token=TOKEN` (for
Companion's generic HTTP module, which cannot set headers on every button).
See docs/control-api.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from media.audio.meter import MeterReading
from media.audio.source import AudioStatus

from ..engine import commands as c
from ..engine.errors import CommandRejected, UnknownCamera, UnknownChannel, UnknownSource
from ..engine.events import Event
from ..engine.state import ShowState
from . import codec
from .audience import AudienceControl, audience_routes
from .crew import CrewControl, crew_routes
from .recordings import RecordingControl, recording_routes
from .sessions import SessionControl, session_routes

log = logging.getLogger(__name__)

EVENT_QUEUE = 256  # per WebSocket client; a client this far behind is closed, never waited for
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4503
KEEP_ALIVE_S = 75  # seconds an idle HTTP connection stays open


class Switcher(Protocol):
    """What the API needs of the core: the engine's face, on the loop's thread."""

    @property
    def state(self) -> ShowState: ...

    def execute(self, command: c.Command) -> tuple[Event, ...]: ...

    def audio_levels(self) -> tuple[dict[str, MeterReading], dict[str, AudioStatus]]: ...

    def subscribe(self, subscriber: Callable[[Event], None]) -> Callable[[], None]: ...


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status)


class _TooLarge(Exception):
    pass


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > codec.MAX_BODY_BYTES:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > codec.MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _presented(headers: Any, query: Any) -> str:
    auth = str(headers.get("authorization", ""))
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return str(query.get("token", ""))


Build = Callable[[dict[str, Any], Request, ShowState], list[c.Command]]


class ControlApi:
    def __init__(
        self,
        switcher: Switcher,
        token: str,
        crew: CrewControl | None = None,
        sessions: SessionControl | None = None,
        recordings: RecordingControl | None = None,
        audience: AudienceControl | None = None,
    ) -> None:
        self._switcher = switcher
        self._token = token
        self._crew = crew  # the session link's crew actions; None: no crew endpoints
        self._sessions = sessions  # the session link itself; None: no session endpoints
        self._recordings = recordings  # its recordings; None: no recording endpoints
        self._audience = audience  # its audience links; None: no audience endpoints
        self.dropped_clients = 0
        self.app = Starlette(routes=self._routes())

    def _authorized(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self._token.encode())

    def _routes(self) -> list[Route | WebSocketRoute]:
        def one(command: c.Command) -> Build:
            return lambda body, request, state: [command]

        def source(kind: type[c.SetPreview] | type[c.SetProgram]) -> Build:
            def build(body: dict[str, Any], request: Request, state: ShowState) -> list[c.Command]:
                ref = codec.source_from(body, request.path_params.get("source"))
                return [kind(codec.resolve_source(state, ref))]

            return build

        commands: dict[str, Build] = {
            "/api/cut": one(c.Cut()),
            "/api/auto": one(c.Auto()),
            "/api/ftb": one(c.FadeToBlack()),
            "/api/preview": source(c.SetPreview),
            "/api/preview/{source}": source(c.SetPreview),
            "/api/program": source(c.SetProgram),
            "/api/program/{source}": source(c.SetProgram),
            "/api/transition": lambda b, r, s: [codec.transition_command(b, s)],
            "/api/tbar": lambda b, r, s: [codec.tbar_command(b)],
            "/api/audio/{channel}": lambda b, r, s: codec.audio_commands(
                r.path_params["channel"], b, s
            ),
        }
        routes: list[Route | WebSocketRoute] = [
            Route("/api/health", self._health, methods=["GET"]),
            Route("/api/state", self._state, methods=["GET"]),
            Route("/api/audio", self._audio, methods=["GET"]),
            WebSocketRoute("/api/events", self._events),
        ]
        routes += [Route(p, self._endpoint(b), methods=["POST"]) for p, b in commands.items()]
        if self._crew is not None:
            routes += crew_routes(self._crew, self._checked_body)
        if self._sessions is not None:
            routes += session_routes(self._sessions, self._checked_body)
        if self._recordings is not None:
            routes += recording_routes(self._recordings, self._checked_body)
        if self._audience is not None:
            routes += audience_routes(self._audience, self._checked_body)
        return routes

    async def _checked_body(self, request: Request) -> JSONResponse | dict[str, Any]:
        """The request's JSON body once its token is right, else the refusal to answer."""
        if not self._authorized(_presented(request.headers, request.query_params)):
            return _error(401, "unauthorized", "missing or wrong token")
        try:
            return codec.parse_body(await _body(request))
        except _TooLarge:
            return _error(413, "too_large", f"bodies are at most {codec.MAX_BODY_BYTES} bytes")
        except codec.BadRequest as exc:
            return _error(400, "bad_request", str(exc))

    async def _health(self, request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def _state(self, request: Request) -> JSONResponse:
        if not self._authorized(_presented(request.headers, request.query_params)):
            return _error(401, "unauthorized", "missing or wrong token")
        return JSONResponse(codec.state_json(self._switcher.state))

    async def _audio(self, request: Request) -> JSONResponse:
        if not self._authorized(_presented(request.headers, request.query_params)):
            return _error(401, "unauthorized", "missing or wrong token")
        meters, statuses = self._switcher.audio_levels()
        return JSONResponse(codec.audio_json(self._switcher.state, meters, statuses))

    def _endpoint(self, build: Build) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def endpoint(request: Request) -> JSONResponse:
            if not self._authorized(_presented(request.headers, request.query_params)):
                return _error(401, "unauthorized", "missing or wrong token")
            try:
                body = codec.parse_body(await _body(request))
                commands = build(body, request, self._switcher.state)
            except _TooLarge:
                return _error(413, "too_large", f"bodies are at most {codec.MAX_BODY_BYTES} bytes")
            except codec.BadRequest as exc:
                return _error(400, "bad_request", str(exc))
            try:
                for command in commands:
                    self._switcher.execute(command)
            except (UnknownSource, UnknownChannel, UnknownCamera) as exc:
                return _error(404, exc.code, str(exc))
            except CommandRejected as exc:
                return _error(409, exc.code, str(exc))
            return JSONResponse({"ok": True, "state": codec.state_json(self._switcher.state)})

        return endpoint

    async def _events(self, ws: WebSocket) -> None:
        await ws.accept()
        if not self._authorized(_presented(ws.headers, ws.query_params)):
            await ws.close(CLOSE_UNAUTHORIZED, "missing or wrong token")
            return
        queue: asyncio.Queue[Event] = asyncio.Queue(EVENT_QUEUE)
        overflow = asyncio.Event()

        def deliver(event: Event) -> None:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                overflow.set()

        unsubscribe = self._switcher.subscribe(deliver)
        sender = asyncio.create_task(self._send_events(ws, queue, overflow))
        try:
            await ws.send_json({"type": "state", "state": codec.state_json(self._switcher.state)})
            while True:  # clients only listen; reading is how a disconnect is noticed
                await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            unsubscribe()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    async def _send_events(
        self, ws: WebSocket, queue: asyncio.Queue[Event], overflow: asyncio.Event
    ) -> None:
        while True:
            if overflow.is_set():
                self.dropped_clients += 1
                await ws.close(CLOSE_TOO_SLOW, "too slow reading events; reconnect for the state")
                return
            event = await queue.get()
            await ws.send_json(codec.event_json(event))


class ControlServer:
    """Serves a ControlApi on a loopback port from inside an already running loop."""

    def __init__(self, api: ControlApi, host: str = "127.0.0.1", port: int = 0) -> None:
        self.api = api
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        # Bind first, so a busy port fails here with a clear error and port 0 is known.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self._port))
        except OSError:
            sock.close()
            raise
        sock.listen(64)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.api.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws_max_size=65536,
            # Longer than clients keep idle connections (httpx 5 s, Companion and browsers
            # about a minute): at uvicorn's 5 s a cut sent on a pooled connection just as the
            # server closed it was lost to a reset.
            timeout_keep_alive=KEEP_ALIVE_S,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        # uvicorn signals readiness only with a flag; it takes a few ms after the bind.
        while not self._server.started and not self._task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        if self._task.done():
            self._task.result()  # re-raise why it could not start

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(self._task, 5)
        self._server = None
        self._task = None
