"""Two real backend processes sharing one SQLite file, one Redis and one JWT secret."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.cloud import RELAXED_RATES, CloudServer
from tests.support.procs import free_udp_port, wait_until
from tests.support.redis import RedisServer


@contextmanager
def two_processes(
    work: Path, one_args: list[str] | None = None
) -> Iterator[tuple[RedisServer, CloudServer, CloudServer]]:
    """Processes "one" and "two" (their --process-id); `one_args` go to "one" only."""
    redis = RedisServer(work)
    database = f"sqlite:///{work / 'returnfeed.db'}"
    env = {"RETURNFEED_JWT_SECRET": secrets.token_urlsafe(32)}
    servers = []
    try:
        for name, extra in (("one", one_args or []), ("two", [])):
            (work / name).mkdir()
            args = [*RELAXED_RATES, "--redis-url", redis.url, "--process-id", name, *extra]
            servers.append(CloudServer(work / name, database, args, env, free_udp_port()))
        yield redis, servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()
        redis.stop()


def health(server: CloudServer) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{server.base_url}/api/health", timeout=5)
    return r.status_code, r.json()


def notices_listening(*servers: CloudServer) -> None:
    """Wait until each process hears session notices (cloud/scale/notices.py): one told
    before it subscribed would only be found at its next refresh."""
    for server in servers:

        def listening(server: CloudServer = server) -> bool:
            return bool(health(server)[1]["scale"]["notices"])

        wait_until(listening, 15, f"notices heard at {server.base_url}")
