"""Behind a reverse proxy: who the client is, and which scheme and host it used.

uvicorn's ProxyHeadersMiddleware takes the client address and the scheme from
X-Forwarded-For and X-Forwarded-Proto when the connection comes from a trusted proxy
(`--forwarded-allow-ips`; none by default: rate limits key on the client address, and a
tunnel ending on 127.0.0.1 must not let every client name its own). This
adds X-Forwarded-Host from the same trusted proxies, so a link the backend builds from the
request (invite links) names the host the browser used. Caddy passes Host through and sets
the X-Forwarded-* headers itself (deploy/Caddyfile).
"""

from __future__ import annotations

from uvicorn._types import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class ForwardedHeaders(ProxyHeadersMiddleware):
    """`trusted_hosts`: comma-separated proxies; empty (the default) trusts none, and the
    headers are ignored from everyone."""

    def __init__(self, app: ASGI3Application, trusted_hosts: list[str] | str) -> None:
        hosts = trusted_hosts.split(",") if isinstance(trusted_hosts, str) else trusted_hosts
        self._trusts_any = any(host.strip() for host in hosts)
        super().__init__(app, [host.strip() for host in hosts if host.strip()])

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if not self._trusts_any:
            await self.app(scope, receive, send)
            return
        if scope["type"] in ("http", "websocket"):
            client = scope.get("client")
            if client and client[0] in self.trusted_hosts:
                forwarded = _forwarded_host(scope["headers"])
                if forwarded is not None:
                    headers = [(k, v) for k, v in scope["headers"] if k != b"host"]
                    scope["headers"] = [*headers, (b"host", forwarded)]
        await super().__call__(scope, receive, send)


def _forwarded_host(headers: object) -> bytes | None:
    for name, value in headers:  # type: ignore[attr-defined]
        if name == b"x-forwarded-host":
            first: bytes = value.split(b",")[0].strip()
            return first or None
    return None
