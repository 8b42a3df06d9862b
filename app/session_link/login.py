"""A director's login: access token refreshed before it expires, refresh token in the vault.

Refresh tokens rotate on every use (the backend revokes the whole login if one is used
twice), so exactly one refresh runs at a time and each new one is stored at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import webbrowser
from collections.abc import Callable

from .cloud_api import CloudApi, CloudError, NotLoggedIn, Tokens
from .oidc_login import browser_login
from .vault import Vault, VaultError

log = logging.getLogger(__name__)


def vault_key(base_url: str) -> str:
    return f"login:{base_url.rstrip('/')}"


class Login:
    def __init__(self, api: CloudApi, vault: Vault, email: str, tokens: Tokens) -> None:
        self.api = api
        self.email = email
        self._vault = vault
        self._tokens = tokens
        self._lock = asyncio.Lock()

    @classmethod
    async def sign_in(cls, api: CloudApi, vault: Vault, email: str, password: str) -> Login:
        tokens = await api.login(email.strip(), password)
        login = cls(api, vault, email.strip(), tokens)
        await login._store()
        return login

    @classmethod
    async def sign_in_with_provider(
        cls,
        api: CloudApi,
        vault: Vault,
        provider: str,
        open_browser: Callable[[str], object] = webbrowser.open,
    ) -> Login:
        """Through an OpenID Connect provider in the system browser (oidc_login.py)."""
        tokens = await browser_login(api, provider, open_browser)
        email = str((await api.me(tokens.access))["email"])
        login = cls(api, vault, email, tokens)
        await login._store()
        return login

    @classmethod
    async def register(
        cls, api: CloudApi, vault: Vault, email: str, password: str, display_name: str
    ) -> Login:
        """A new account on this backend, logged in as it is made."""
        tokens = await api.register(email.strip(), password, display_name.strip())
        login = cls(api, vault, email.strip(), tokens)
        await login._store()
        return login

    @classmethod
    async def resume(cls, api: CloudApi, vault: Vault) -> Login | None:
        """The login kept in the vault for this backend, refreshed; None if there is none."""
        raw = await asyncio.to_thread(vault.get, vault_key(api.base_url))
        if not raw:
            return None
        try:
            saved = json.loads(raw)
            email, refresh = str(saved["email"]), str(saved["refresh"])
        except (ValueError, KeyError, TypeError):
            return None
        try:
            tokens = await api.refresh(refresh)
        except NotLoggedIn:
            await asyncio.to_thread(vault.delete, vault_key(api.base_url))
            return None
        login = cls(api, vault, email, tokens)
        await login._store()
        return login

    async def access(self) -> str:
        """A current access token; the relay client calls this before each connect."""
        async with self._lock:
            if not self._tokens.fresh():
                self._tokens = await self.api.refresh(self._tokens.refresh)
                await self._store()
            return self._tokens.access

    async def logout(self) -> None:
        try:
            await self.api.logout(self._tokens.refresh)
        except CloudError as exc:  # logging out locally must work offline too
            log.info("logout not confirmed by the backend: %s", exc)
        await asyncio.to_thread(self._vault.delete, vault_key(self.api.base_url))

    async def _store(self) -> None:
        value = json.dumps({"email": self.email, "refresh": self._tokens.refresh})
        try:
            await asyncio.to_thread(self._vault.set, vault_key(self.api.base_url), value)
        except VaultError as exc:  # still logged in for this run; just not remembered
            log.warning("could not keep the login: %s", exc)
