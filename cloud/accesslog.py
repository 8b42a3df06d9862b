"""Query strings leave uvicorn's log lines without their values.

Tokens travel in the Authorization header, but a client that puts one in the URL by
mistake (`?token=...`, a pasted invite link) must not have it written to the access log,
nor to the WebSocket "[accepted]" lines uvicorn logs on uvicorn.error. Parameter names
stay, so a line still says what was asked.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

REDACTED = "…"
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact_query(target: str) -> str:
    """`/path?a=1&b=2` -> `/path?a=…&b=…`; anything without a query is unchanged."""
    path, sep, query = target.partition("?")
    if not sep:
        return target
    names = [name for name, _value in parse_qsl(query, keep_blank_values=True)]
    return f"{path}?{'&'.join(f'{name}={REDACTED}' for name in names) or REDACTED}"


class RedactQueries(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def install() -> None:
    """Call after uvicorn has configured its loggers (uvicorn.Config does that)."""
    for name in LOGGERS:
        logging.getLogger(name).addFilter(RedactQueries())
