"""The control API token: pinned by the user, kept in the keyring, or new for this run."""

from __future__ import annotations

import secrets

from ..session_link.vault import Vault

KEY = "control-token"


def control_token(vault: Vault, pinned: str | None = None) -> str:
    """`pinned` (from --control-token or RETURNFEED_CONTROL_TOKEN) wins; then the stored one.

    Without a keyring the vault is memory, so each start gets a new token; the UI and
    the headless banner show it, and a user who needs it stable pins it.
    """
    if pinned:
        return pinned
    token = vault.get(KEY)
    if not token:
        token = secrets.token_urlsafe(24)
        vault.set(KEY, token)
    return token
