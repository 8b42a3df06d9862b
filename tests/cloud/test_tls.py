"""The backend serving HTTPS itself: given certificates, its own local CA, the redirect
port, and what it does with bad certificates, garbage and plain HTTP on the TLS port.
Real `returnfeed-cloud` processes; every certificate is made here."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.support.api import invite, register
from tests.support.cloud import CLI, CloudServer
from tests.support.procs import free_port, wait_until
from tests.support.tls import HttpsCloud, MadeCa, make_ca, make_server_cert


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> MadeCa:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def https_cloud(ca: MadeCa, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsCloud]:
    workdir = tmp_path_factory.mktemp("https-cloud")
    cert, key = make_server_cert(ca, workdir)
    server = HttpsCloud(
        workdir,
        ["--tls-cert", str(cert), "--tls-key", str(key)],
        ca.path,
        redirect_port=free_port(),
    )
    yield server
    server.stop()


def _exchange(port: int, data: bytes, half_close: bool = False) -> bytes:
    """Sends `data` to 127.0.0.1:port and reads until the server closes (deadline 15 s)."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as s:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
        except ConnectionResetError:
            pass
        return got


def test_serves_https_and_links_say_https(https_cloud: HttpsCloud) -> None:
    with https_cloud.client() as api:
        director = register(api)
        r = api.post("/api/sessions", json={"name": "Show"}, headers=director.auth)
        assert r.status_code == 201, r.text
        inv = invite(api, director, r.json()["id"], "camera")
        assert inv["url"].startswith(f"https://127.0.0.1:{https_cloud.port}/tally#")
        page = api.get("/tally")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    log = https_cloud.log_text()
    assert f"ReturnFeed cloud on https://127.0.0.1:{https_cloud.port}" in log
    assert "TLS       CN=127.0.0.1, for localhost, 127.0.0.1" in log


def test_plain_http_on_the_tls_port_is_told_to_use_https(https_cloud: HttpsCloud) -> None:
    port = https_cloud.port
    got = _exchange(port, f"GET /tally?x=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head, _, body = got.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 301 ")
    assert f"Location: https://127.0.0.1:{port}/tally?x=1".encode() in head
    assert b"This address speaks HTTPS" in body
    got = _exchange(port, b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert got.startswith(b"HTTP/1.1 400 ") and b"This port speaks HTTPS" in got
    # What httpx (any HTTP client) sees:
    r = httpx.get(f"http://127.0.0.1:{port}/tally", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"].startswith("https://")
    assert https_cloud.healthy()
    assert "a plain-HTTP request from" in https_cloud.log_text()


def test_garbage_gets_an_answer_or_an_alert_and_the_server_stays_up(
    https_cloud: HttpsCloud, ca: MadeCa
) -> None:
    port = https_cloud.port
    # Bytes that are neither TLS nor HTTP: a plain-text answer at once.
    got = _exchange(port, os.urandom(16).replace(b"\x16", b"\x00") + b"\x00", half_close=False)
    assert got.startswith(b"HTTP/1.1 400 ") and b"speaks HTTPS" in got
    # A TLS record header followed by garbage: the handshake fails, is logged, and closed.
    _exchange(port, b"\x16\x03\x01\x00\x40" + os.urandom(64), half_close=True)
    wait_until(lambda: "TLS handshake from" in https_cloud.log_text(), 15, "the log line")
    # A client that does not trust the certificate: its alert is named in the log.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"https://127.0.0.1:{port}/api/health", verify=True)
    wait_until(lambda: "UNKNOWN_CA" in https_cloud.log_text(), 15, "the unknown-CA alert")
    # A connection that sends nothing does not hold up anyone else.
    with socket.create_connection(("127.0.0.1", port)):
        assert https_cloud.healthy()
    # The TLS server answers a real client all along.
    with https_cloud.client() as api:
        assert api.get("/api/health").status_code == 200


def test_redirect_port(https_cloud: HttpsCloud) -> None:
    redirect = https_cloud.redirect_port
    r = httpx.get(f"http://127.0.0.1:{redirect}/watch?x=1", follow_redirects=False)
    assert r.status_code == 301
    assert r.headers["location"] == f"https://127.0.0.1:{https_cloud.port}/watch?x=1"
    # followed, it ends on the HTTPS page
    with httpx.Client(verify=https_cloud.verify(), follow_redirects=True) as c:
        assert c.get(f"http://127.0.0.1:{redirect}/tally").url.scheme == "https"
    # without a local CA there is no certificate to fetch here
    assert httpx.get(f"http://127.0.0.1:{redirect}/ca.crt").status_code == 301


def _start(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), "--data-dir", str(tmp_path / "d"), "--no-srt", "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_bad_certificates_refuse_to_start_naming_the_problem(tmp_path: Path, ca: MadeCa) -> None:
    good_cert, good_key = make_server_cert(ca, tmp_path, stem="good")
    expired = make_server_cert(
        ca, tmp_path, valid_from=timedelta(days=-9), valid_until=timedelta(days=-2), stem="expired"
    )
    future = make_server_cert(ca, tmp_path, valid_from=timedelta(days=3), stem="future")
    locked = make_server_cert(ca, tmp_path, stem="locked", key_password=b"secret")
    other_cert, _ = make_server_cert(ca, tmp_path, stem="other")
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    cases: list[tuple[list[str], str]] = [
        (["--tls-cert", str(expired[0]), "--tls-key", str(expired[1])], "expired on"),
        (["--tls-cert", str(future[0]), "--tls-key", str(future[1])], "not valid before"),
        (["--tls-cert", str(other_cert), "--tls-key", str(good_key)], "does not belong to"),
        (["--tls-cert", str(locked[0]), "--tls-key", str(locked[1])], "is encrypted"),
        (["--tls-cert", str(junk), "--tls-key", str(good_key)], "is not a PEM or DER certificate"),
        (["--tls-cert", str(good_cert), "--tls-key", str(junk)], "is not a PEM or DER private key"),
        (["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(good_key)], "cannot read"),
        (["--tls-cert", str(good_cert)], "--tls-cert and --tls-key go together"),
        (
            ["--tls-cert", str(good_cert), "--tls-key", str(good_key),
             "--public-url", "https://tally.example.com"],
            "not for tally.example.com",
        ),
        (["--http-redirect-port", "8080"], "needs HTTPS"),
        (["--tls-local-ca", "--tls-cert", str(good_cert), "--tls-key", str(good_key)], "not both"),
    ]  # fmt: skip
    for args, words in cases:
        out = _start(tmp_path, *args)
        assert out.returncode == 2, (args, out.stdout, out.stderr)
        assert words in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    # the environment works like the flags
    env_out = subprocess.run(
        [str(CLI), "--data-dir", str(tmp_path / "d"), "--no-srt"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={
            **os.environ,
            "RETURNFEED_TLS_CERT": str(expired[0]),
            "RETURNFEED_TLS_KEY": str(expired[1]),
        },
    )
    assert env_out.returncode == 2 and "expired on" in env_out.stderr


def test_local_ca_is_made_once_kept_private_and_offered_to_phones(tmp_path: Path) -> None:
    redirect = free_port()
    server = HttpsCloud(
        tmp_path, ["--tls-local-ca"], tmp_path / "data" / "tls" / "ca.crt", redirect_port=redirect
    )
    try:
        tls_dir = server.data_dir / "tls"
        for key in ("ca.key", "server.key"):
            assert stat.S_IMODE((tls_dir / key).stat().st_mode) == 0o600
        assert stat.S_IMODE(tls_dir.stat().st_mode) == 0o700
        ca_pem = (tls_dir / "ca.crt").read_bytes()
        ca = x509.load_pem_x509_certificate(ca_pem)
        assert ca.extensions.get_extension_for_class(x509.NameConstraints).critical
        served = server.cert_served()
        assert served.issuer == ca.subject
        sans = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert "127.0.0.1" in [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)]
        with server.client() as api:
            r = api.get("/ca.crt")
            assert r.status_code == 200 and r.content == ca_pem
            assert r.headers["content-type"] == "application/x-x509-ca-cert"
            page = api.get("/ca")
            assert page.status_code == 200
            digest = ca.fingerprint(hashes.SHA256()).hex().upper()
            assert ":".join(digest[i : i + 2] for i in range(0, 64, 2)) in page.text
            assert f"http://127.0.0.1:{redirect}/ca.crt" in page.text  # the QR's link
            assert api.get("/ca.key").status_code == 404
        # before trusting HTTPS, a phone can fetch the CA over the plain redirect port
        plain = httpx.get(f"http://127.0.0.1:{redirect}/ca.crt")
        assert plain.status_code == 200 and plain.content == ca_pem
        assert plain.headers["content-type"] == "application/x-x509-ca-cert"
        server.stop()
        server.start()  # a restart keeps the CA phones installed
        assert (tls_dir / "ca.crt").read_bytes() == ca_pem
        log = server.log_text()
        assert "PRIVATE KEY" not in log
        assert "local CA  " in log and "SHA-256 " in log
    finally:
        server.stop()


def test_forwarded_headers_only_from_trusted_proxies(tmp_path: Path) -> None:
    """Behind a proxy (trusted: --forwarded-allow-ips) links follow X-Forwarded-Proto/Host;
    from anyone else those headers change nothing."""
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "tally.example.com"}
    for trusted, expected in (
        ("127.0.0.1", "https://tally.example.com/tally#"),
        ("10.9.9.9", None),
    ):
        workdir = tmp_path / trusted
        workdir.mkdir()
        cloud = CloudServer(
            workdir,
            f"sqlite:///{workdir / 'db.sqlite'}",
            extra_args=["--forwarded-allow-ips", trusted, "--no-srt"],
        )
        try:
            with cloud.client() as api:
                director = register(api)
                sid = api.post("/api/sessions", json={"name": "S"}, headers=director.auth).json()
                r = api.post(
                    f"/api/sessions/{sid['id']}/invites",
                    json={"role": "camera"},
                    headers={**director.auth, **forwarded},
                )
                assert r.status_code == 201, r.text
                url = r.json()["url"]
                assert url.startswith(expected or f"{cloud.base_url}/tally#"), url
        finally:
            cloud.stop()
