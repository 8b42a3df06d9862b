"""One message for many clients, encoded once; and the optional way to write its frame directly.

A tally change goes to every phone of a session. Its JSON is encoded once, and so is its
WebSocket frame: a server's frames are not masked, so the bytes are the same for every phone.
When the server offers the `FRAMES_EXTENSION` ASGI extension (our uvicorn protocol does,
see `uvicorn_protocol.py`), the relay writes those bytes straight to each socket that can take
them; otherwise every message goes through the ASGI send of the client's sender task.
"""

from __future__ import annotations

from typing import Protocol

FRAMES_EXTENSION = "returnfeed.frames"


class FrameWriter(Protocol):
    def write(self, frame: bytes) -> bool:
        """Write a complete frame now if the socket is open and not backed up; else False."""

    def abort(self) -> None:
        """Drop the connection at once, unsent data and all (a client that stopped reading)."""


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked text frame (RFC 6455, 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 1 << 16:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + payload


class Outgoing:
    """A message's text, and its frame built the first time a client needs it."""

    __slots__ = ("_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.text.encode())
        return self._frame
