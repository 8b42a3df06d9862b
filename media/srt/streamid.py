"""The ReturnFeed SRT streamid: which session and layer a caller publishes, and its credential.

Form — SRT Access Control's ``#!::`` key=value syntax with Haivision's standard keys::

    #!::r=<session_id>/<layer>,m=publish,s=<publish_token>

``r`` (resource)
    ``<session_id>/<layer>``; layer is ``hi`` or ``lo`` (one SRT connection per layer).
    A path as resource name is the access-control document's idiom (``r=live/cam1``) and what
    MediaMTX routes on, so ordinary SRT tools show something meaningful.
``m`` (mode)
    ``publish`` (the director sends). ``request`` parses too, reserved for a future reader.
``s`` (session key)
    The session's publish token. Haivision defines ``s`` as an identifier used only for
    verification, and MediaMTX carries its password there; keeping the credential in its own
    key means anything that logs the resource name (``r``) never logs the token.

Rules, checked by `parse_streamid` (which raises only `StreamIdError`):

- ASCII, at most 512 bytes (libsrt's SRTO_STREAMID limit), starting with ``#!::``;
- ``key=value`` items separated by ``,``; each key at most once; ``r``, ``m``, ``s`` required;
- session id (1..64) and token (1..128) use ``[A-Za-z0-9._~-]`` — the cloud's base64url ids
  and tokens fit, and no separator (``,`` ``=`` ``/``) can hide inside one;
- other well-formed keys (``u``, ``h``, ``t``, custom) are ignored, so a newer director app
  can add one without an older backend refusing it; none of them grants anything.

Error messages name the offending key or item, never a value: a streamid comes from the
network and carries a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from media.errors import MediaError

PREFIX: Final = "#!::"
MAX_LENGTH: Final = 512
LAYERS: Final = ("hi", "lo")
MODES: Final = ("publish", "request")

_ID = re.compile(r"[A-Za-z0-9._~-]{1,64}")
_TOKEN = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,15}")
_OTHER_VALUE = re.compile(r"[!-+\--<>-~]*")  # printable ASCII except "," and "="


class StreamIdError(MediaError, ValueError):
    """A streamid that is not ours or not well formed; the message says which part."""


@dataclass(frozen=True)
class StreamId:
    """Who publishes what: session, layer, credential. The token stays out of repr."""

    session_id: str
    layer: str
    token: str = field(repr=False)
    mode: str = "publish"

    def __post_init__(self) -> None:
        if not isinstance(self.session_id, str) or not _ID.fullmatch(self.session_id):
            raise StreamIdError("session id must be 1..64 of [A-Za-z0-9._~-]")
        if self.layer not in LAYERS:
            raise StreamIdError(f"unknown layer; expected one of {', '.join(LAYERS)}")
        if not isinstance(self.token, str) or not _TOKEN.fullmatch(self.token):
            raise StreamIdError("publish token must be 1..128 of [A-Za-z0-9._~-]")
        if self.mode not in MODES:
            raise StreamIdError(f"unknown mode; expected one of {', '.join(MODES)}")

    @property
    def resource(self) -> str:
        """``<session_id>/<layer>``: safe to log (no credential)."""
        return f"{self.session_id}/{self.layer}"


def format_streamid(sid: StreamId) -> str:
    """The wire form of `sid` (always parses back to an equal StreamId)."""
    return f"{PREFIX}r={sid.session_id}/{sid.layer},m={sid.mode},s={sid.token}"


def parse_streamid(text: str) -> StreamId:
    """Read a streamid a caller sent. Raises StreamIdError, and nothing else, if malformed."""
    if not isinstance(text, str):
        raise StreamIdError("streamid must be a string")
    if not text.isascii():
        raise StreamIdError("streamid must be ASCII")
    if len(text) > MAX_LENGTH:
        raise StreamIdError(f"streamid is longer than {MAX_LENGTH} bytes")
    if not text.startswith(PREFIX):
        raise StreamIdError(f"streamid must start with {PREFIX!r}")
    items = _items(text[len(PREFIX) :])
    for key in ("r", "m", "s"):
        if key not in items:
            raise StreamIdError(f"streamid lacks the {key!r} key")
    session_id, slash, layer = items["r"].partition("/")
    if not slash:
        raise StreamIdError("'r' must be <session_id>/<layer>")
    return StreamId(session_id=session_id, layer=layer, token=items["s"], mode=items["m"])


def _items(body: str) -> dict[str, str]:
    items: dict[str, str] = {}
    for index, item in enumerate(body.split(","), start=1):
        key, eq, value = item.partition("=")
        if not eq:
            raise StreamIdError(f"item {index} is not key=value")
        if not _KEY.fullmatch(key):
            raise StreamIdError(f"item {index} has a malformed key")
        if key in items:
            raise StreamIdError(f"key {key!r} appears more than once")
        if not _OTHER_VALUE.fullmatch(value):
            raise StreamIdError(f"the value of {key!r} has a space, control character or '='")
        items[key] = value
    return items
