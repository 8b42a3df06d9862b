"""The backend's log lines: text for a person, or one JSON object a line for a log shipper.

Every line logged while a request is handled carries that request's id: the middleware
puts it in a context variable, asyncio hands the variable to every task the request
starts (a WHEP viewer's aiortc tasks, a relay connection's reader), and a viewer or a relay
command keeps the id of the request that made it (`bound`, `acting_for`).

Secrets are kept out of log lines where they are logged; `Redactor` is only a backstop
for what slips through (an exception's text, a library's line).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
import sys
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

FORMATS = ("text", "json")
HEADER = "x-request-id"
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

# What a proxy or client may hand us: short, and nothing a log reader or header could trip on.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
# Attributes every LogRecord has; anything else on a record is a structured extra.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's coloured copy of the message
    "request_id",
}
_ACCESS_FIELDS = ("client", "method", "path", "http_version", "status")
# Fields of ours that hold no secret: the rest of a line goes through the Redactor.
_UNREDACTED = frozenset({"time", "level", "logger", "request_id", *_ACCESS_FIELDS})
_SECRET_SETTINGS = ("SECRET", "TOKEN", "PASSWORD", "PASSPHRASE")


def secrets_in(env: Mapping[str, str]) -> list[str]:
    """The values of the RETURNFEED_* settings that are secrets (the JWT and TURN secrets,
    the metrics token, an OIDC client secret), for the Redactor to know."""
    return [
        value
        for name, value in env.items()
        if name.startswith("RETURNFEED_") and any(word in name for word in _SECRET_SETTINGS)
    ]


def accepted_or_new(incoming: str | None) -> str:
    """The client's X-Request-ID when well formed (a proxy's, to follow a request across
    hops); otherwise a fresh one."""
    if incoming is not None and _WELL_FORMED.fullmatch(incoming):
        return incoming
    return secrets.token_hex(8)


@contextmanager
def acting_for(rid: str | None) -> Iterator[None]:
    """Log as part of request `rid` inside the block (a room handling a client's command)."""
    token = request_id.set(rid)
    try:
        yield
    finally:
        request_id.reset(token)


def detached() -> contextvars.Context:
    """A context with no request id, for a long-lived task a request merely happens to start
    (a relay room outlives the connection that opened it)."""
    context = contextvars.copy_context()
    context.run(request_id.set, None)
    return context


class Bound(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose lines carry fixed fields, e.g. a viewer's id and the id of the WHEP
    request that created it, on lines logged long after that request ended."""

    def __init__(self, logger: logging.Logger, **fields: object) -> None:
        super().__init__(logger, fields)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def bound(logger: logging.Logger, **fields: object) -> Bound:
    """`logger` with `fields` on every line, and the current request's id unless given."""
    fields.setdefault("request_id", request_id.get())
    return Bound(logger, **fields)


class RequestIds:
    """ASGI middleware: a request id for every HTTP request and WebSocket connection, in the
    context while it is handled and in the X-Request-ID response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers", []):
            if name == HEADER.encode():
                incoming = value.decode("latin-1")
                break
        rid = accepted_or_new(incoming)
        # Not reset afterwards: each request runs in a task of its own, and the error
        # handler that logs an unhandled exception runs outside this middleware.
        request_id.set(rid)
        header = (HEADER.encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [*message.get("headers", []), header]}
            await send(message)

        await self.app(scope, receive, send_with_id)


class Redactor:
    """Masks what looks like a secret in a finished line: emails, JWTs, bearer tokens,
    `token=`/`passphrase=`-style values, a streamid's publish token, and the process's own
    secrets (the metrics token, the TURN secret)."""

    MASK = "***"
    # (cheap trigger in the lowercased line, pattern, replacement; a kept prefix is group 1).
    # The trigger spares most lines the regular expressions: a line costs ~microseconds.
    _PATTERNS = (
        ("@", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"), MASK),  # an email
        ("eyj", re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"), MASK),  # a JWT
        ("bearer", re.compile(r"(?i)(bearer[ .])[\w.~+/=-]{12,}"), rf"\1{MASK}"),
        (
            "",  # token=, "passphrase": ..., password: ..., secret=
            re.compile(
                r"(?i)((?:token|passphrase|password|secret)[\"']?\s?[=:]\s?[\"']?)[^\s\"',&;]{4,}"
            ),
            rf"\1{MASK}",
        ),
        ("s=", re.compile(r"([,:]s=)[^\s,]+"), rf"\1{MASK}"),  # #!::r=..,m=publish,s=<token>
    )
    _KEYWORDS = re.compile("token|passphrase|password|secret")

    def __init__(self, known: Iterable[str] = ()) -> None:
        self._known = sorted({s for s in known if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._known:
            if secret in text:
                text = text.replace(secret, self.MASK)
        lowered = text.lower()
        for trigger, pattern, replacement in self._PATTERNS:
            if trigger in lowered if trigger else self._KEYWORDS.search(lowered):
                text = pattern.sub(replacement, text)
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (ISO 8601 UTC), level, logger, message, request_id when
    the line belongs to a request, exception when there is one, then the line's extras."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None)
        if rid is not None:
            line["request_id"] = rid
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            line.update(zip(_ACCESS_FIELDS, record.args, strict=False))
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        for key, value in line.items():
            if isinstance(value, str) and key not in _UNREDACTED:
                line[key] = self._redact(value)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message`, and the request id at the end when there is one."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s")
        self._redact = redact

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        rid = getattr(record, "request_id", None)
        return self._redact(f"{text} [request {rid}]" if rid is not None else text)


class _RequestIdFilter(logging.Filter):
    """Stamps the context's request id on a record that has none of its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


def configure(form: str, level: str, secrets_known: Iterable[str] = ()) -> None:
    """Every logger, uvicorn's included, to stderr in `form` ("text" or "json").

    Call before uvicorn.Config, and give uvicorn `log_config=None` so it keeps to this.
    """
    redact = Redactor(secrets_known)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redact) if form == "json" else TextFormatter(redact))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.propagate = True
