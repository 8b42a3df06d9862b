"""The demo director: an account on a local backend, made on first run, for `make run`.

Its password is generated here (never typed, never in the repository) and kept:
- in the OS keyring when there is one (service `ReturnFeed`, entry `demo:BACKEND_URL`);
- otherwise in `DATA_DIR/demo-login.json` with mode 0600, DATA_DIR being the backend's
  own data directory (RETURNFEED_DATA_DIR, else ~/.local/share/returnfeed): the file sits
  beside the SQLite database and the JWT secret that the account lives in, is exactly as
  private as they are, and goes when they go.
If the kept account is gone (a fresh database), a new demo account is registered.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import platformdirs

from .session_link.vault import Vault, VaultError

log = logging.getLogger(__name__)

DATA_DIR_ENV = "RETURNFEED_DATA_DIR"
FILE_NAME = "demo-login.json"
DISPLAY_NAME = "Demo director"


class DemoAccountError(Exception):
    """The demo account could not be checked or made; the message says why."""


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    kept_in: str  # where the password is kept, for the banner (never the password)
    new: bool = False  # registered just now


def data_dir() -> Path:
    """The backend's default data directory (cloud/config.py), where run.sh keeps it."""
    configured = os.environ.get(DATA_DIR_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("returnfeed", appauthor=False))


class DemoStore:
    """Demo logins per backend URL: the keyring if persistent, else a 0600 file."""

    def __init__(self, vault: Vault, directory: Path | None = None) -> None:
        self._vault = vault
        self._file = (directory or data_dir()) / FILE_NAME

    @property
    def where(self) -> str:
        return "the OS keyring" if self._vault.persistent else f"{self._file}, mode 0600"

    def load(self, backend: str) -> DemoLogin | None:
        try:
            raw = self._vault.get(_key(backend)) if self._vault.persistent else self._read(backend)
            if not raw:
                return None
            data = json.loads(raw)
            return DemoLogin(str(data["email"]), str(data["password"]), self.where)
        except (VaultError, ValueError, KeyError, TypeError) as exc:
            log.warning("the kept demo login is not usable (%s); making a new one", exc)
            return None

    def save(self, backend: str, login: DemoLogin) -> None:
        raw = json.dumps({"email": login.email, "password": login.password})
        if self._vault.persistent:
            self._vault.set(_key(backend), raw)
            return
        try:
            entries = json.loads(self._file.read_text())
            if not isinstance(entries, dict):
                entries = {}
        except (OSError, ValueError):
            entries = {}
        entries[_key(backend)] = raw
        self._file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(entries, fh)
        os.replace(tmp, self._file)

    def _read(self, backend: str) -> str | None:
        try:
            entries = json.loads(self._file.read_text())
        except FileNotFoundError:
            return None
        value = entries.get(_key(backend)) if isinstance(entries, dict) else None
        return str(value) if value else None


def _key(backend: str) -> str:
    return f"demo:{backend.rstrip('/')}"


def demo_login(backend: str, store: DemoStore, http: httpx.Client | None = None) -> DemoLogin:
    """The kept demo login if the backend still takes it, else a newly registered one."""
    backend = backend.rstrip("/")
    client = http or httpx.Client(timeout=10)
    try:
        kept = store.load(backend)
        if kept is not None and _accepted(client, backend, kept):
            return kept
        fresh = DemoLogin(
            f"demo-{secrets.token_hex(5)}@example.com",
            secrets.token_urlsafe(18),
            store.where,
            new=True,
        )
        _register(client, backend, fresh)
        try:
            store.save(backend, fresh)
        except (OSError, VaultError) as exc:  # still usable for this run
            log.warning("the demo login could not be kept (%s): a new one next time", exc)
        return fresh
    finally:
        if http is None:
            client.close()


def _accepted(client: httpx.Client, backend: str, login: DemoLogin) -> bool:
    body = {"email": login.email, "password": login.password}
    r = _post(client, f"{backend}/api/auth/login", body)
    if r.status_code == 200:
        return True
    if r.status_code == 401:
        return False  # a fresh database: register again
    raise DemoAccountError(f"the backend refused the demo login: HTTP {r.status_code} {r.text}")


def _register(client: httpx.Client, backend: str, login: DemoLogin) -> None:
    body = {"email": login.email, "password": login.password, "display_name": DISPLAY_NAME}
    r = _post(client, f"{backend}/api/auth/register", body)
    if r.status_code != 201:
        raise DemoAccountError(f"the backend refused the demo account: HTTP {r.status_code}")


def _post(client: httpx.Client, url: str, body: dict[str, str]) -> httpx.Response:
    try:
        return client.post(url, json=body)
    except httpx.HTTPError as exc:
        raise DemoAccountError(f"cannot reach {url}: {exc}") from exc
