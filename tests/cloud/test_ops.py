"""Health, metrics, OpenAPI docs, CORS and rate limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cloud import METRICS_AUTH, CloudServer


def test_health_reports_the_database(client: httpx.Client, cloud: CloudServer) -> None:
    r = client.get("/api/health")
    assert r.status_code == 200
    db = r.json()["database"]
    assert db["ok"] is True
    assert db["backend"] == ("sqlite" if cloud.database_url.startswith("sqlite") else "postgresql")


def test_health_is_readiness_of_every_part_and_live_is_liveness(client: httpx.Client) -> None:
    body = client.get("/api/health").json()
    assert (body["status"], body["problems"]) == ("ok", [])
    assert body["redis"] == {"ok": True, "state": "disabled"}  # no --redis-url: not a failure
    assert body["gateway"] == {"ok": True, "state": "running"}
    srt = body["srt"]
    assert (srt["ok"], srt["state"]) == (True, "listening") and srt["port"] > 0
    r = client.get("/api/health/live")
    assert (r.status_code, r.json()) == (200, {"status": "ok"})


def test_metrics_count_requests(client: httpx.Client) -> None:
    client.get("/api/health")
    client.get("/api/auth/me")
    text = client.get("/metrics", headers=METRICS_AUTH).text
    assert 'returnfeed_http_requests_total{method="GET",route="/api/health",status="200"}' in text
    assert 'route="/api/auth/me",status="401"' in text
    assert "returnfeed_database_up 1.0" in text
    # Every scrape checks readiness; a part that is off (Redis here) has no sample.
    assert "returnfeed_ready 1.0" in text
    for part in ("database", "srt", "gateway"):
        assert f'returnfeed_ready_part{{part="{part}"}} 1.0' in text
    assert 'part="redis"' not in text


def test_openapi_documents_the_api(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/auth/refresh",
        "/api/sessions",
        "/api/sessions/{session_id}/invites",
        "/api/invites/redeem",
        "/api/health",
        "/api/health/live",
    ):
        assert path in spec["paths"], path
    assert "swagger" in client.get("/docs").text.lower()


@pytest.fixture(scope="module")
def strict_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    tmp: Path = tmp_path_factory.mktemp("strict")
    server = CloudServer(
        tmp,
        f"sqlite:///{tmp / 'db.sqlite'}",
        extra_args=[
            "--login-rate",
            "3/60",
            "--register-rate",
            "2/60",
            "--redeem-rate",
            "3/60",
            "--max-body-bytes",
            "1024",
            "--cors-origin",
            "https://studio.example",
            "--forwarded-allow-ips",  # the test names other client addresses as a proxy would
            "127.0.0.1",
        ],
    )
    yield server
    server.stop()


def test_rate_limits_per_client(strict_cloud: CloudServer) -> None:
    with strict_cloud.client() as c:
        for _ in range(3):
            r = c.post("/api/auth/login", json={"email": "x@example.com", "password": "bad"})
            assert r.status_code == 401
        r = c.post("/api/auth/login", json={"email": "x@example.com", "password": "bad"})
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert int(r.headers["retry-after"]) > 0
        # Another client address (through the trusted local proxy) has its own budget.
        other = c.post(
            "/api/auth/login",
            json={"email": "x@example.com", "password": "bad"},
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert other.status_code == 401
        for _ in range(3):
            c.post("/api/invites/redeem", json={"token": "a.b"})
        assert c.post("/api/invites/redeem", json={"token": "a.b"}).status_code == 429
    assert strict_cloud.alive()


def test_body_limit_and_cors_from_config(strict_cloud: CloudServer) -> None:
    with strict_cloud.client() as c:
        r = c.post(
            "/api/auth/login", content=b"x" * 2000, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 413
        assert r.json()["error"]["details"] == {"max_bytes": 1024} or "1024" in r.text
        pre = c.options(
            "/api/auth/login",
            headers={"Origin": "https://studio.example", "Access-Control-Request-Method": "POST"},
        )
        assert pre.headers.get("access-control-allow-origin") == "https://studio.example"
        evil = c.options(
            "/api/auth/login",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in evil.headers
