"""The JWT signing secret: from the environment, or made once and kept in the data dir."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRET_FILE = "jwt-secret"  # noqa: S105  (a file name, not a secret)
MIN_SECRET_CHARS = 32


class SecretError(RuntimeError):
    """The signing secret is unusable; the message never contains the secret."""


def load_or_create_secret(data_dir: Path, from_env: str | None) -> str:
    if from_env is not None:
        if len(from_env) < MIN_SECRET_CHARS:
            raise SecretError(f"RETURNFEED_JWT_SECRET must be at least {MIN_SECRET_CHARS} chars")
        return from_env
    path = data_dir / SECRET_FILE
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        secret = path.read_text().strip()
        if len(secret) < MIN_SECRET_CHARS:
            raise SecretError(f"{path} holds a secret shorter than {MIN_SECRET_CHARS} chars")
        return secret
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL so two processes starting at once cannot both write a different secret.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_secret(data_dir, None)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret
