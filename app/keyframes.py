"""Viewers' keyframe requests, from the session's relay to the program encoder.

The gateway asks the session's director(s) for an IDR when a viewer joins, switches layers
or loses a picture (`KeyframeRequest` on the relay, docs/gateway.md "Fast start").
`answer_keyframe` is the one place that turns such a request into an encoder call; Go Live
(app/session_link/link.py) calls it from its relay event loop, and `KeyframeLink` gives
`returnfeed send`, which has no event loop, a relay link of its own that does only this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from app.relay_client import Connected, Disconnected, RelayClient, TokenSource
from tally import KeyframeRequest

log = logging.getLogger(__name__)


class KeyframeTarget(Protocol):
    """What answers a keyframe request: `media.send.output.SimulcastOutput`."""

    def request_keyframe(self, layer: str | None = None) -> None: ...


def answer_keyframe(output: KeyframeTarget | None, request: KeyframeRequest) -> bool:
    """Force an IDR on the requested layer (every layer when it names none); False if there
    is no output to ask. The encoder only sets a flag, read at its next frame."""
    if output is None:
        return False
    output.request_keyframe(request.layer)
    return True


def relay_url(cloud_url: str, session_id: str) -> str:
    """The session's relay WebSocket from the backend's http(s)://host[:port] address."""
    parts = urlsplit(cloud_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ValueError(f"expected http(s)://host[:port], got {cloud_url!r}")
    if parts.username or parts.password:
        raise ValueError("the backend address must not carry credentials")
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/api/relay/{session_id}"


class KeyframeLink:
    """A director connection to one session's relay on a thread of its own, answering
    keyframe requests and nothing else: it sends no tally (cameras and bus stay the desktop
    app's, if one is connected too) and reconnects with RelayClient's backoff.

    The token is the session owner's: a fixed access token, checked by the relay when the
    link connects (once it has expired a reconnect is refused for good and sending goes on
    without fast start; `note` says so), or a source that renews it
    (app/director_token.py), with which the link lasts the whole show.
    """

    def __init__(
        self,
        url: str,
        token: TokenSource,
        output: KeyframeTarget,
        note: Callable[[str], None] = log.info,
    ) -> None:
        self._url = url
        self._token = token
        self._output = output
        self._note = note
        self.requests = 0  # keyframe requests answered
        self.connected = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="keyframe-link", daemon=True)
            self._thread.start()
            self._ready.wait(5)

    def stop(self, timeout: float = 5.0) -> None:
        thread, self._thread = self._thread, None
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended by itself
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # the link is an extra: sending goes on without it
            log.exception("keyframe link failed")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._ready.set()
        relay = RelayClient(self._url, self._token)
        await relay.start()
        events = asyncio.create_task(self._events(relay))
        stopping = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait([events, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (events, stopping):
                task.cancel()
            await asyncio.gather(events, stopping, return_exceptions=True)
            await relay.close()

    async def _events(self, relay: RelayClient) -> None:
        while True:
            event = await relay.next_event()
            if isinstance(event, KeyframeRequest):
                if answer_keyframe(self._output, event):
                    self.requests += 1
            elif isinstance(event, Connected):
                self.connected.set()
                self._note("relay connected: viewers' keyframe requests are answered")
            elif isinstance(event, Disconnected):
                self.connected.clear()
                if event.retry_in is None:
                    self._note(f"relay refused the link ({event.code}): no fast start")
                    return
                self._note(f"relay link lost ({event.reason or event.code}); reconnecting")
