"""Why the engine refused a command; each has a stable `code` the control API returns."""

from __future__ import annotations


class CommandRejected(Exception):
    code = "rejected"


class UnknownSource(CommandRejected):
    code = "unknown_source"


class UnknownChannel(CommandRejected):
    code = "unknown_channel"


class UnknownCamera(CommandRejected):
    code = "unknown_camera"


class InvalidValue(CommandRejected):
    code = "invalid_value"


class NotNow(CommandRejected):
    """Valid, but not in the current state (no preview to take, a mix already running)."""

    code = "not_now"
