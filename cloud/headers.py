"""Security headers on every HTTP answer, the API's and errors included.

The pages set their own strict Content-Security-Policy (cloud/pages.py); everything else
(JSON, /metrics, /ca.crt) is data no browser should run, frame or guess the type of. The
API docs (/docs, /redoc) are FastAPI's Swagger UI and ReDoc, which load their scripts
from a CDN and start them inline: they only get frame-ancestors. Over HTTPS, browsers are
told to keep using it (HSTS): served by the backend itself (--tls-cert, --tls-local-ca)
or by a proxy it trusts to say so (X-Forwarded-Proto from --forwarded-allow-ips).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DATA_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = b"frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")
HSTS = b"max-age=31536000"
_ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else DATA_CSP
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [*_ALWAYS, (b"content-security-policy", csp)]
                if https:
                    extra.append((b"strict-transport-security", HSTS))
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self._app(scope, receive, with_headers)
