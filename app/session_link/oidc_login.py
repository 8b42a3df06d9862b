"""Sign in through the backend's OpenID Connect providers in the system browser (RFC 8252).

The app listens on 127.0.0.1 with an ephemeral port, opens the backend's start address in
the browser with its own state and a PKCE challenge, and waits for the browser to come back
to its listener with a one-time code; only the app, which holds the verifier, can exchange
that code for tokens (docs/login.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import webbrowser
from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.oauth2.rfc7636 import create_s256_code_challenge

from .cloud_api import CloudApi, CloudError, Tokens

log = logging.getLogger(__name__)

CALLBACK_PATH = "/callback"
WAIT_S = 300.0  # a person signing in, maybe creating an account at the provider
PAGE = (
    "<!doctype html><meta charset=utf-8><title>ReturnFeed</title>"
    "<p>{text}</p><p>You can close this window and return to ReturnFeed.</p>"
)


class OidcLoginError(CloudError):
    """The provider or the backend refused the sign-in; `code` as in docs/login.md."""


class _Listener:
    """Waits for one GET /callback carrying our state; answers anything else and waits on."""

    def __init__(self, state: str) -> None:
        self._state = state
        self.result: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()
        self._server: asyncio.Server | None = None

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}{CALLBACK_PATH}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
            parts = urlsplit(target)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            ours = method == "GET" and parts.path == CALLBACK_PATH
            if ours and query.get("state") == self._state and not self.result.done():
                self.result.set_result(query)
                text = "Signed in." if "code" in query else "Sign-in failed."
                await _answer(writer, 200, text)
            else:
                await _answer(writer, 404, "This is not the sign-in ReturnFeed is waiting for.")
        except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except TimeoutError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _answer(writer: asyncio.StreamWriter, status: int, text: str) -> None:
    body = PAGE.format(text=text).encode()
    reason = "OK" if status == 200 else "Not Found"
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()


def _browser_done(
    task: asyncio.Future[object], result: asyncio.Future[dict[str, str]], url: str
) -> None:
    """A browser that could not be opened ends the wait at once, saying where to go."""
    if result.done() or task.cancelled():
        return
    failed = task.exception()
    if failed is not None or task.result() is False:
        result.set_exception(
            OidcLoginError(f"no browser could be opened; open {url} in one", "no_browser")
        )


async def browser_login(
    api: CloudApi,
    provider: str,
    open_browser: Callable[[str], object] = webbrowser.open,
    wait_s: float = WAIT_S,
) -> Tokens:
    """Tokens for whoever signs in at `provider` in the browser `open_browser` opens."""
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)
    listener = _Listener(state)
    redirect_uri = await listener.start()
    try:
        query = urlencode(
            {
                "redirect_uri": redirect_uri,
                "state": state,
                "code_challenge": create_s256_code_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        url = f"{api.base_url}/api/auth/oidc/{provider}/start?{query}"
        # The system browser returns at once; a driven one (tests) returns when done.
        opened = asyncio.create_task(asyncio.to_thread(open_browser, url))
        opened.add_done_callback(lambda task: _browser_done(task, listener.result, url))
        try:
            answer = await asyncio.wait_for(asyncio.shield(listener.result), wait_s)
        except TimeoutError as exc:
            raise OidcLoginError(
                f"no sign-in came back from the browser in {wait_s:.0f} s", "timeout"
            ) from exc
        await asyncio.wait({opened}, timeout=10)  # a driven browser closing its page
        if opened.done() and not opened.cancelled() and opened.exception() is not None:
            log.info("the browser ended with %r after the sign-in", opened.exception())
    finally:
        await listener.close()
    if "error" in answer or "code" not in answer:
        raise OidcLoginError(
            answer.get("error_description") or "the sign-in was refused",
            answer.get("error", "refused"),
        )
    return await api.oidc_token(answer["code"], verifier)
