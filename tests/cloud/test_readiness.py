"""Readiness against real peers: an SRT port held by another backend, and Redis going away.

`/api/health` is what a load balancer asks: 503 while a process cannot serve what it was
started for. `/api/health/live` stays 200 all along: nothing here calls for a restart.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cloud.relay.peers import metric
from tests.support.cloud import RELAXED_RATES, CloudServer, gateway_server
from tests.support.procs import ProcessFailed, wait_until
from tests.support.redis import RedisServer


class LiveServer(CloudServer):
    """A backend whose start waits until it is alive, not until it is ready."""

    def _healthy(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise ProcessFailed(f"returnfeed-cloud exited:\n{self.proc.tail()}")
        try:
            return httpx.get(f"{self.base_url}/api/health/live", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def _health(server: CloudServer) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{server.base_url}/api/health", timeout=5)
    body: dict[str, Any] = r.json()
    return r.status_code, body


def _live(server: CloudServer) -> bool:
    return httpx.get(f"{server.base_url}/api/health/live", timeout=5).status_code == 200


@pytest.fixture
def first(tmp_path: Path) -> Iterator[CloudServer]:
    (tmp_path / "first").mkdir()
    server = gateway_server(tmp_path / "first")
    yield server
    server.stop()


def test_a_backend_whose_srt_port_is_held_by_another_is_not_ready(
    first: CloudServer, tmp_path: Path
) -> None:
    assert first.srt_port is not None
    second = LiveServer(
        tmp_path, f"sqlite:///{tmp_path / 'second.db'}", RELAXED_RATES, srt_port=first.srt_port
    )
    try:
        status, body = _health(second)
        assert status == 503, body
        assert body["status"] == "degraded"
        assert body["srt"]["ok"] is False and body["srt"]["state"] == "not_bound"
        assert body["srt"]["port"] == first.srt_port
        assert any("SRT ingest is not bound" in problem for problem in body["problems"]), body
        # The rest of it works: it is alive, with its database and its gateway.
        assert body["database"]["ok"] and body["gateway"]["ok"]
        assert _live(second)
        assert metric(second, "returnfeed_ready") == 0
        assert metric(second, "returnfeed_ready_part", part="srt") == 0
        assert metric(second, "returnfeed_ready_part", part="gateway") == 1
        # The first holds the port and is ready.
        status, body = _health(first)
        assert status == 200, body
        assert body["srt"] == {"ok": True, "state": "listening", "host": "127.0.0.1"} | {
            "port": first.srt_port
        }
        assert body["problems"] == []
        assert metric(first, "returnfeed_ready") == 1
    finally:
        second.stop()


def test_redis_going_away_is_reported_as_degraded_but_leaves_the_backend_ready(
    tmp_path: Path,
) -> None:
    """Every process loses Redis at once; a 503 from all would take the whole show down."""
    redis = RedisServer(tmp_path)
    server = CloudServer(
        tmp_path,
        f"sqlite:///{tmp_path / 'returnfeed.db'}",
        [*RELAXED_RATES, "--redis-url", redis.url],
    )
    try:
        status, body = _health(server)
        assert status == 200, body
        assert body["redis"]["ok"] is True and body["redis"]["state"] == "reachable"
        assert metric(server, "returnfeed_ready_part", part="redis") == 1

        redis.stop()
        wait_until(lambda: not _health(server)[1]["redis"]["ok"], 15, "Redis reported down")
        status, body = _health(server)
        assert (status, body["status"], body["ready"]) == (200, "degraded", True), body
        assert body["redis"]["state"] == "unreachable"
        assert [p for p in body["problems"] if p.startswith("Redis is unreachable")], body
        assert body["database"]["ok"] and body["srt"]["ok"]  # only Redis is named
        assert len(body["problems"]) == 1
        assert _live(server)
        assert metric(server, "returnfeed_ready_part", part="redis") == 0

        assert metric(server, "returnfeed_ready") == 1

        redis.start()
        wait_until(lambda: _health(server)[1]["status"] == "ok", 15, "ok with Redis back")
        assert _live(server)
        assert metric(server, "returnfeed_ready_part", part="redis") == 1
        assert server.alive()
    finally:
        server.stop()
        redis.stop()


def test_without_srt_the_ingest_is_disabled_not_a_failure(tmp_path: Path) -> None:
    server = CloudServer(
        tmp_path, f"sqlite:///{tmp_path / 'returnfeed.db'}", [*RELAXED_RATES, "--no-srt"]
    )
    try:
        status, body = _health(server)
        assert (status, body["srt"], body["problems"]) == (
            200,
            {"ok": True, "state": "disabled"},
            [],
        )
        assert metric(server, "returnfeed_ready") == 1
        assert 'part="srt"' not in server.metrics_text()
    finally:
        server.stop()
