"""A client's way out: its frame writer when the socket can take a frame now, else its queue.

The broadcaster never waits. With the server's frame writer (`frames.py`) a message to a
client whose queue is empty is written right there, with no task switch per phone; when the
socket is backed up, or without a frame writer, it goes into the client's bounded queue and
the client's sender task sends it through ASGI. The fast path is taken only when nothing is
queued or being sent, so messages keep their order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from cloud.relay.frames import FrameWriter, Outgoing

AsgiSendText = Callable[[str], Coroutine[Any, Any, None]]


class QueueFull(Exception):
    """The client is too slow: its queue of unsent messages is full."""


class Outlet:
    def __init__(self, send_text: AsgiSendText, size: int, frames: FrameWriter | None) -> None:
        self._send_text = send_text
        self._frames = frames
        self._queue: asyncio.Queue[Outgoing] = asyncio.Queue(size)
        self._busy = False  # the sender task holds a message

    def put(self, message: Outgoing) -> None:
        """Send or queue `message`; raise `QueueFull` rather than wait."""
        if (
            self._frames is not None
            and not self._busy
            and self._queue.empty()
            and self._frames.write(message.frame)
        ):
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            raise QueueFull from None

    async def run(self) -> None:
        """The sender task: send what was queued, in order, waiting for the socket as needed."""
        while True:
            message = await self._queue.get()
            self._busy = True
            try:
                await self._send_text(message.text)
            finally:
                self._busy = False

    def abort(self) -> bool:
        """Drop the connection without a goodbye; False if the server offers no way to."""
        if self._frames is None:
            return False
        self._frames.abort()
        return True
