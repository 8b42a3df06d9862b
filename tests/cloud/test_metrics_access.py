"""/metrics is protected (issue #16, seed §8.2): a bearer token on the API's port, or a port
of its own for the scraper; and the seed's labels stay bounded however many shows there are."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry, generate_latest

from cloud.gateway.seedmetrics import ViewerMetrics
from tests.support.cloud import CLI, METRICS_AUTH, CloudServer
from tests.support.procs import free_port


def _server(tmp_path: Path, *args: str, token: str | None = None) -> CloudServer:
    env = {} if token is None else {"RETURNFEED_METRICS_TOKEN": token}
    return CloudServer(tmp_path, f"sqlite:///{tmp_path / 'rf.db'}", list(args) or None, env)


def test_metrics_need_the_bearer_token(cloud: CloudServer, client: httpx.Client) -> None:
    refused = [
        client.get("/metrics"),
        client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}),
        client.get("/metrics", headers={"Authorization": "Basic " + METRICS_AUTH["Authorization"]}),
    ]
    for r in refused:
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["message"] == "metrics need the metrics token as a bearer token"
    text = cloud.metrics_text()  # the right one, after three wrong ones: the process is up
    assert 'returnfeed_auth_failures_total{reason="metrics_token"} 3.0' in text


def test_without_a_token_or_a_port_metrics_are_not_served(tmp_path: Path) -> None:
    server = _server(tmp_path, token="")
    try:
        r = httpx.get(f"{server.base_url}/metrics", headers=METRICS_AUTH, timeout=5)
        assert r.status_code == 404
        assert "RETURNFEED_METRICS_TOKEN" in r.json()["error"]["message"]
        assert "metrics   off (RETURNFEED_METRICS_TOKEN or --metrics-port)" in server.log_text()
    finally:
        server.stop()


def test_the_metrics_port_serves_the_scrape_and_nothing_else(tmp_path: Path) -> None:
    port = free_port()
    server = _server(tmp_path, "--metrics-port", str(port), token="")
    try:
        scraper = f"http://127.0.0.1:{port}"
        r = httpx.get(f"{scraper}/metrics", timeout=5)
        assert r.status_code == 200 and "returnfeed_database_up 1.0" in r.text
        for path in ("/api/health", "/docs", "/api/auth/me", "/watch"):
            assert httpx.get(scraper + path, timeout=5).status_code == 404, path
        assert httpx.post(f"{scraper}/metrics", timeout=5).status_code == 405
        # The API's own port still does not serve it (no token).
        assert httpx.get(f"{server.base_url}/metrics", timeout=5).status_code == 404
        assert f"metrics   http://127.0.0.1:{port}/metrics" in server.log_text()
    finally:
        server.stop()


def test_a_metrics_port_in_use_or_a_short_token_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        base = [str(CLI), "--port", str(free_port()), "--data-dir", str(tmp_path / "d")]
        base += ["--no-srt", "--database-url", f"sqlite:///{tmp_path / 'rf.db'}"]
        busy = subprocess.run(
            [*base, "--metrics-port", str(port)], capture_output=True, text=True, timeout=60
        )
    assert busy.returncode == 2, busy.stderr
    assert f"cannot listen for metrics on 127.0.0.1:{port}" in busy.stderr
    short = subprocess.run(
        base, capture_output=True, text=True, timeout=60, env={"RETURNFEED_METRICS_TOKEN": "x"}
    )
    assert short.returncode == 2
    assert "RETURNFEED_METRICS_TOKEN must be at least 16 characters" in short.stderr


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


SWITCHES = "simulcast_quality_switches_total"


def _series(registry: CollectorRegistry, name: str) -> list[str]:
    text = generate_latest(registry).decode()
    return [line for line in text.splitlines() if line.startswith(name + "{")]


def test_session_and_user_labels_are_capped_and_freed_after_the_show() -> None:
    registry, clock = CollectorRegistry(), _Clock()
    seed = ViewerMetrics(registry, max_sessions=3, max_users=4, idle_s=600, clock=clock)
    viewers = [seed.joined(f"s{n}", f"u{n}") for n in range(5)]
    for v in viewers:
        seed.counted(v, "hi")
        seed.loss(v, 0.01)
    assert [v.session for v in viewers] == ["s0", "s1", "s2", "other", "other"]
    assert [v.user for v in viewers] == ["u0", "u1", "u2", "u3", "other"]
    active = _series(registry, "simulcast_active_viewers")
    assert 'simulcast_active_viewers{quality="hi",session_id="other"} 2.0' in active
    assert len(active) == 4  # three sessions and "other": never more, however many shows
    seed.switched(viewers[0], "hi", "lo")

    for v in viewers[:2]:
        seed.left(v)
    # Gone viewers' series stay long enough to be scraped: the switch is still there.
    assert any('session_id="s0"' in s for s in _series(registry, SWITCHES))
    # A new show takes the room of the one that ended longest ago, at once.
    assert seed.joined("s5", "u5").session == "s5"
    assert not any('session_id="s0"' in s for s in _series(registry, SWITCHES))
    assert not any('session_id="s0"' in s for s in _series(registry, "simulcast_active_viewers"))
    clock.now = 601  # and ten minutes after its last viewer, s1 goes by itself
    seed.left(viewers[2])
    assert not any('session_id="s1"' in s for s in _series(registry, "simulcast_active_viewers"))
    assert not any('user_id="u1"' in s for s in _series(registry, "network_packet_loss_count"))
    assert any('session_id="s2"' in s for s in _series(registry, "simulcast_active_viewers"))
