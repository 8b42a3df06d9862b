"""The director's access token for `returnfeed send --cloud`, kept fresh for a whole show.

An access token lives 15 minutes. Given only RETURNFEED_DIRECTOR_TOKEN, the sender's relay
link and its credential renewal work until that token expires, then stop (and say so).
Given RETURNFEED_EMAIL and RETURNFEED_PASSWORD instead (as `returnfeed --headless --cloud`
takes them), it signs in, refreshes before expiry (the backend's grace window covers a
refresh whose reply was lost) and signs in again if the login itself ended, so a sender can
run all day. `get()` is safe from any thread that runs no event loop of its own: the relay
link calls it through `asyncio.to_thread`, the stats loop directly.
"""

from __future__ import annotations

import asyncio
import threading

from app.relay_client import TokenRefused, TokenSource
from app.session_link.cloud_api import CloudApi, CloudError, NotLoggedIn, Tokens

EMAIL_ENV = "RETURNFEED_EMAIL"
PASSWORD_ENV = "RETURNFEED_PASSWORD"  # noqa: S105 - the variable's name, not a secret


class DirectorToken:
    def __init__(
        self,
        cloud_url: str,
        *,
        access: str | None = None,
        email: str | None = None,
        password: str | None = None,
    ) -> None:
        if not access and not (email and password):
            raise ValueError("a director token, or an email and password, is needed")
        self._url = cloud_url
        self._fixed = access or None
        self._email = email or None
        self._password = password or None
        self._tokens: Tokens | None = None
        self._lock = threading.Lock()  # one refresh at a time: rotation allows no race

    @property
    def renewable(self) -> bool:
        return self._password is not None

    def get(self) -> str:
        """A current access token. NotLoggedIn if the login ended and none can be had; any
        other CloudError (the backend is away) is worth trying again."""
        if not self.renewable:
            assert self._fixed is not None
            return self._fixed
        with self._lock:
            if self._tokens is None or not self._tokens.fresh():
                self._tokens = asyncio.run(self._renew(self._tokens))
            return self._tokens.access

    async def _renew(self, tokens: Tokens | None) -> Tokens:
        api = CloudApi(self._url)
        try:
            if tokens is not None:
                try:
                    return await api.refresh(tokens.refresh)
                except NotLoggedIn:
                    pass  # the login ended (revoked, expired): sign in again below
            assert self._email is not None and self._password is not None
            try:
                return await api.login(self._email, self._password)
            except CloudError as exc:
                if exc.status == 401:  # a wrong password stays wrong: no retry loop
                    raise NotLoggedIn(exc.message, "not_logged_in", 401) from exc
                raise
        finally:
            await api.aclose()

    def source(self) -> TokenSource:
        """The relay client's token: the fixed one (a 4401 then ends the link), or a source
        that renews it off the client's loop, since `get` may block on HTTP."""
        if not self.renewable:
            assert self._fixed is not None
            return self._fixed

        async def token() -> str:
            try:
                return await asyncio.to_thread(self.get)
            except NotLoggedIn as exc:
                raise TokenRefused(exc.message) from exc

        return token
