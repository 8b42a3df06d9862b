"""Every answer carries the security headers, the API's and its errors too; the pages keep
their own strict CSP; HSTS comes over HTTPS only. (The Chromium page tests fail on any CSP
violation: tests/support/browser.phone, test_viewer_page's page fixture.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cloud import CloudServer
from tests.support.tls import HttpsCloud, make_ca, make_server_cert

DATA_CSP = "default-src 'none'; frame-ancestors 'none'"


def _secure(r: httpx.Response, csp: str | None = DATA_CSP) -> None:
    assert r.headers["x-content-type-options"] == "nosniff", r.url
    assert r.headers["referrer-policy"] == "no-referrer", r.url
    assert r.headers["x-frame-options"] == "DENY", r.url
    if csp is not None:
        assert r.headers["content-security-policy"] == csp, r.url


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    tmp = tmp_path_factory.mktemp("headers")
    server = CloudServer(tmp, f"sqlite:///{tmp / 'db.sqlite'}", ["--max-body-bytes", "100"])
    yield server
    server.stop()


def test_api_answers_and_errors_carry_the_headers(plain: CloudServer) -> None:
    with plain.client() as c:
        _secure(c.get("/api/health"))
        _secure(c.get("/api/auth/me"))  # 401
        _secure(c.get("/api/nowhere"))  # 404
        _secure(c.post("/api/auth/login", content=b"x" * 200))  # 413 from the body limit
        _secure(c.post("/api/auth/login", json={"email": 1}))  # 422
        page = c.get("/tally")
        _secure(page, csp=None)
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        watch = c.get("/watch")
        _secure(watch, csp=None)
        assert "script-src 'self'" in watch.headers["content-security-policy"]
        docs = c.get("/docs")
        _secure(docs, csp="frame-ancestors 'none'")  # Swagger UI runs inline: no more
        assert "strict-transport-security" not in c.get("/api/health").headers


def test_https_answers_carry_hsts(tmp_path: Path) -> None:
    ca = make_ca(tmp_path / "ca")
    cert, key = make_server_cert(ca, tmp_path)
    (tmp_path / "cloud").mkdir()
    server = HttpsCloud(
        tmp_path / "cloud", ["--tls-cert", str(cert), "--tls-key", str(key)], ca.path
    )
    try:
        with server.client() as c:
            for r in (c.get("/api/health"), c.get("/tally"), c.get("/api/auth/me")):
                assert r.headers["strict-transport-security"] == "max-age=31536000", r.url
                _secure(r, csp=None)
    finally:
        server.stop()
