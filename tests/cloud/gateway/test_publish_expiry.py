"""SRT publish tokens expire: against the real backend, started with a TTL of a few seconds.

An expired token is refused with 1403 before the handshake completes; reading the
credentials after (or near) expiry issues a fresh token that works; a publisher that
connected before expiry keeps streaming; `returnfeed send --cloud` fetches the credentials
again after a 1403 and reconnects by itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from cloud.api.credentials import renewal_due
from tests.cloud.gateway.helpers import Show, live, metric, new_show, publisher
from tests.cloud.gateway.test_ingest import caller, refused, sid
from tests.support.api import Director, register
from tests.support.cloud import CloudServer, gateway_server
from tests.support.procs import wait_until

srt = pytest.importorskip("media.srt")
from media.srt import RejectReason  # noqa: E402

# Long enough for `returnfeed send` to start and connect on a busy machine, short enough
# to wait out in a test.
TTL_S = 8
EXPIRING = {"RETURNFEED_SRT_TOKEN_TTL_S": str(TTL_S)}


@pytest.fixture(scope="module")
def gw_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    """Overrides conftest's backend for this module: the same, with short-lived tokens."""
    server = gateway_server(tmp_path_factory.mktemp("expiring-cloud"), env=EXPIRING)
    yield server
    server.stop()


def expiry(creds: dict[str, Any]) -> float:
    return datetime.fromisoformat(creds["publish_token_expires_at"]).timestamp()


def wait_past(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.3)


def refusals(api: httpx.Client, reason: str) -> float:
    return metric(api, f'gateway_srt_refused_total{{reason="{reason}"}}')


def srt_creds(api: httpx.Client, director: Director, session_id: str) -> dict[str, Any]:
    r = api.get(f"/api/sessions/{session_id}/srt", headers=director.auth)
    assert r.status_code == 200, r.text
    creds: dict[str, Any] = r.json()
    return creds


def test_renewal_is_due_in_the_last_quarter_of_the_ttl() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    day = 24 * 3600
    assert not renewal_due(now + timedelta(hours=7), day, now)
    assert renewal_due(now + timedelta(hours=6), day, now)
    assert renewal_due(now - timedelta(seconds=1), day, now)


def test_an_expired_token_is_refused_before_the_handshake_completes(
    api: httpx.Client, gw_cloud: CloudServer, show: Show, srt_port: int
) -> None:
    ends = expiry(show.srt)
    assert TTL_S - 5 < ends - time.time() <= TTL_S + 1, show.srt
    pp = show.srt["passphrase"]
    caller(srt_port, pp, sid(show)).close()  # valid until it expires
    counted = refusals(api, "expired")

    wait_past(ends)
    assert refused(srt_port, pp, sid(show)) == RejectReason.FORBIDDEN
    assert refused(srt_port, pp, sid(show, "lo")) == RejectReason.FORBIDDEN
    assert refusals(api, "expired") == counted + 2
    assert "publish token expired" in gw_cloud.log_text()
    # Garbage after the refusals: the listener is still up and still vets.
    assert refused(srt_port, pp, "#!::r=x") == RejectReason.BAD_REQUEST


def test_reading_the_credentials_after_expiry_gives_a_fresh_working_token(
    api: httpx.Client, director: Director, show: Show, srt_port: int
) -> None:
    old = show.srt
    wait_past(expiry(old))

    # Two reads at once (say, two senders of the session) agree on one new token.
    with ThreadPoolExecutor(2) as pool:
        both = list(pool.map(lambda _: srt_creds(api, director, show.session_id), range(2)))
    new = both[0]
    assert both[1]["publish_token"] == new["publish_token"]
    assert new["publish_token"] != old["publish_token"]
    assert new["passphrase"] == old["passphrase"]  # only the token expires
    assert TTL_S - 2 < expiry(new) - time.time() <= TTL_S + 1
    again = srt_creds(api, director, show.session_id)
    assert again["publish_token"] == new["publish_token"], "renewed only when due"

    fresh = sid(show, token=new["publish_token"])
    caller(srt_port, new["passphrase"], fresh).close()
    caller(srt_port, new["passphrase"], sid(show, "lo", new["publish_token"])).close()
    assert refused(srt_port, old["passphrase"], sid(show)) == RejectReason.FORBIDDEN

    # An ended session's credentials are not renewed, and publish nothing.
    api.post(f"/api/sessions/{show.session_id}/end", headers=director.auth)
    wait_past(expiry(new))
    assert srt_creds(api, director, show.session_id)["publish_token"] == new["publish_token"]
    assert refused(srt_port, new["passphrase"], fresh) == RejectReason.FORBIDDEN


def test_a_publisher_connected_before_expiry_keeps_streaming(
    api: httpx.Client, gw_cloud: CloudServer, show: Show, srt_port: int, tmp_path: Path
) -> None:
    ends = expiry(show.srt)
    with publisher(show, srt_port, tmp_path / "send.log", layers="hi") as proc:
        before_expiry = ends - time.time() - 0.5
        wait_until(lambda: live(api, show), before_expiry, f"the publisher\n{proc.tail()}")
        wait_past(ends)

        # New handshakes with the token are refused ...
        assert refused(srt_port, show.srt["passphrase"], sid(show, "lo")) == 1403
        # ... while the one that connected before goes on.
        units = metric(api, "gateway_units_total")
        wait_until(
            lambda: metric(api, "gateway_units_total") > units + 60, 10, "more units after expiry"
        )
        assert live(api, show) and proc.alive(), proc.tail()
    # One connection all along: it was never dropped and made again.
    assert gw_cloud.log_text().count(f"SRT publisher {show.session_id}/hi from") == 1


def test_send_cloud_fetches_the_credentials_again_after_a_1403(tmp_path: Path) -> None:
    """A director on air longer than the TTL loses the gateway (a backend restart): `send
    --cloud` fetches the credentials again (which renews the token) and is back without
    anyone touching it. It fetches either after its reconnect is refused as expired (1403)
    or, when the restart takes longer, because the layer has been unable to connect for
    2 s (app/srt_renewal.py UNREACHABLE_S): which comes first is the restart's timing."""
    (tmp_path / "cloud").mkdir()
    server = gateway_server(tmp_path / "cloud", env=EXPIRING)
    try:
        assert server.srt_port is not None
        with server.client() as api:
            director = register(api)
            show = new_show(api, director)
        ends = expiry(show.srt)
        log = tmp_path / "send.log"
        cloud = (server.base_url, director.access)
        with publisher(show, server.srt_port, log, layers="hi", cloud=cloud) as proc:
            with server.client() as api:
                wait_until(lambda: live(api, show), ends - time.time() - 0.5, proc.tail())
            wait_past(ends)
            server.stop()
            server.start()
            with server.client() as api:
                wait_until(lambda: live(api, show), 30, f"a reconnect\n{proc.tail()}")
                renewed = srt_creds(api, director, show.session_id)
        assert "fetched the session's SRT credentials again" in log.read_text()
        assert renewed["publish_token"] != show.srt["publish_token"]
    finally:
        server.stop()
