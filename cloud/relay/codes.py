"""The relay's close codes and `error` codes, as docs/relay.md lists them."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class CloseCode(enum.IntEnum):
    MALFORMED = 4400  # too many malformed messages in a row
    UNAUTHORIZED = 4401  # no token, or one that is invalid, expired or revoked
    FORBIDDEN = 4403  # a valid token whose role may not do this
    NOT_FOUND = 4404  # no such session, or it has ended
    TIMEOUT = 4408  # heard nothing for the timeout
    TAKEN_OVER = 4409  # another director took the session over: do not reconnect
    RATE_LIMITED = 4429  # kept sending over the rate limit
    REPLACED = 4430  # the same invite token opened too many newer sockets
    TOO_SLOW = 4503  # the send queue filled up
    GOING_AWAY = 1001  # the relay is shutting down


class ErrorCode(enum.StrEnum):
    """The `code` of an `error` reply; the connection stays open after each."""

    BAD_MESSAGE = "bad_message"  # the parser refused it; the message says why
    FORBIDDEN = "forbidden"  # this role may not send this type
    RATE_LIMITED = "rate_limited"  # dropped: over the rate limit
    UNEXPECTED = "unexpected"  # a valid message at the wrong time (a second hello)
    UNKNOWN_CAMERA = "unknown_camera"  # no such camera in the session's tally
    UNKNOWN_PARTICIPANT = "unknown_participant"  # assign to nobody in this session
    BOUND = "bound"  # the phone's link is bound to another camera
    TOO_LARGE = "too_large"  # the change would make a snapshot over 16 KiB
    UNAVAILABLE = "unavailable"  # the database refused; try again
    REVOKED = "revoked"  # sent just before the relay closes a connection whose access ended


@dataclass(frozen=True, slots=True)
class Ending:
    """Why a connection ends; `code` None means the client went away on its own."""

    code: CloseCode | None
    reason: str = ""
