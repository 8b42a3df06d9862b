"""Where secrets live: the OS keyring, or memory only when there is none - never a plain file.

Secret Service (GNOME/KDE), macOS Keychain and Windows Credential Manager all come in
through `keyring`. A machine without one (a bare Debian box, CI) gets a MemoryVault and a
note the UI shows: the director logs in again after a restart, and nothing is on disk.
Keyring calls can block on D-Bus: call them off the UI thread (the runtime does).
"""

from __future__ import annotations

import logging
from typing import Protocol

import keyring
import keyring.backend
import keyring.errors

log = logging.getLogger(__name__)

SERVICE = "ReturnFeed"
NO_KEYRING_NOTE = (
    "No OS keyring was found (Secret Service, KWallet, Keychain or Credential Manager), "
    "so logins and the control token are kept in memory only: you will log in again "
    "after a restart. Nothing is written to disk."
)


class VaultError(Exception):
    """The keyring refused to store or read a secret."""


class Vault(Protocol):
    @property
    def persistent(self) -> bool: ...

    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...


class MemoryVault:
    persistent = False

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def get(self, key: str) -> str | None:
        return self._values.get(key)

    def set(self, key: str, value: str) -> None:
        self._values[key] = value

    def delete(self, key: str) -> None:
        self._values.pop(key, None)


class Keyring(Protocol):
    """The three calls of a keyring backend the vault makes."""

    def get_password(self, service: str, username: str) -> str | None: ...

    def set_password(self, service: str, username: str, password: str) -> None: ...

    def delete_password(self, service: str, username: str) -> None: ...


class KeyringVault:
    persistent = True

    def __init__(self, backend: Keyring) -> None:
        self._backend = backend

    def get(self, key: str) -> str | None:
        try:
            return self._backend.get_password(SERVICE, key)
        except keyring.errors.KeyringError as exc:
            raise VaultError(f"the keyring could not read {key!r}: {exc}") from exc

    def set(self, key: str, value: str) -> None:
        try:
            self._backend.set_password(SERVICE, key, value)
        except keyring.errors.KeyringError as exc:
            raise VaultError(f"the keyring could not store {key!r}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self._backend.delete_password(SERVICE, key)
        except keyring.errors.PasswordDeleteError:
            pass
        except keyring.errors.KeyringError as exc:
            raise VaultError(f"the keyring could not delete {key!r}: {exc}") from exc


def usable(backend: keyring.backend.KeyringBackend) -> bool:
    """False for keyring's 'fail' and 'null' stand-ins, which store nothing."""
    module = type(backend).__module__
    if module.endswith((".fail", ".null")):
        return False
    try:
        return float(backend.priority) > 0
    except Exception:  # a backend whose priority check itself fails is not usable
        return False


def open_vault() -> tuple[Vault, str | None]:
    """The OS keyring if there is a working one, else memory; and a note to show, if any."""
    backend = keyring.get_keyring()
    if usable(backend):
        return KeyringVault(backend), None
    log.warning("no OS keyring: secrets stay in memory")
    return MemoryVault(), NO_KEYRING_NOTE
