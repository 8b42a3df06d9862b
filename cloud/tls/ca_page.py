"""GET /ca and /ca.crt: how a phone installs the backend's local CA (--tls-local-ca).

/ca.crt is the CA certificate with the MIME type phones offer to install
(application/x-x509-ca-cert); /ca is a page for the director's screen with a QR code of
that link, the steps for iPhone and Android, and the certificate's SHA-256 fingerprint to
compare. Without a local CA both are 404. The CA's key is never served.
"""

from __future__ import annotations

import html
from pathlib import Path

import segno
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from fastapi import APIRouter, Request, Response

from cloud.auth.deps import BackendDep
from cloud.config import Settings
from cloud.errors import NotFound

router = APIRouter(tags=["pages"])

CA_MIME = "application/x-x509-ca-cert"
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


def ca_path(settings: Settings) -> Path | None:
    path = settings.data_dir / "tls" / "ca.crt"
    return path if settings.tls_local_ca and path.exists() else None


@router.api_route("/ca.crt", methods=["GET", "HEAD"], include_in_schema=False)
async def ca_certificate(request: Request, backend: BackendDep) -> Response:
    path = ca_path(backend.settings)
    if path is None:
        raise NotFound("this backend has no local CA (--tls-local-ca)")
    body = path.read_bytes()
    headers = {
        **_HEADERS,
        "Content-Disposition": 'attachment; filename="ReturnFeed-local-CA.crt"',
        "Content-Length": str(len(body)),
    }
    return Response(b"" if request.method == "HEAD" else body, media_type=CA_MIME, headers=headers)


@router.get("/ca", include_in_schema=False)
async def ca_page(request: Request, backend: BackendDep) -> Response:
    settings = backend.settings
    path = ca_path(settings)
    if path is None:
        raise NotFound("this backend has no local CA (--tls-local-ca)")
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    host = request.url.hostname or "127.0.0.1"
    host = f"[{host}]" if ":" in host else host
    # Over plain HTTP where there is a redirect port: the phone does not trust HTTPS yet.
    if settings.http_redirect_port is not None:
        link = f"http://{host}:{settings.http_redirect_port}/ca.crt"
    else:
        link = str(request.url.replace(path="/ca.crt", query="", fragment=""))
    qr = segno.make(link, error="m").svg_inline(scale=6, light="#ffffff", border=3)
    page = PAGE.format(
        link=html.escape(link),
        qr=qr,
        fingerprint=html.escape(fingerprint),
        subject=html.escape(cert.subject.rfc4514_string()),
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=_HEADERS)


PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Install the ReturnFeed certificate</title></head>
<body>
<h1>Keep camera phones awake: install this certificate once</h1>
<p>Phones keep their screen on only on an https page they trust. Scan this with each camera
phone, install the certificate, then open the tally link the director sends.</p>
<p>{qr}</p>
<p><a id="ca-link" href="{link}">{link}</a></p>
<h2>iPhone / iPad</h2>
<ol><li>Open the link in Safari and allow the download.</li>
<li>Settings &rarr; General &rarr; VPN &amp; Device Management &rarr; the ReturnFeed profile
&rarr; Install.</li>
<li>Settings &rarr; General &rarr; About &rarr; Certificate Trust Settings &rarr; turn on
full trust for it.</li></ol>
<h2>Android</h2>
<ol><li>Open the link in Chrome; the file is saved.</li>
<li>Settings &rarr; Security &rarr; More security settings &rarr; Encryption &amp; credentials
&rarr; Install a certificate &rarr; CA certificate &rarr; pick ReturnFeed-local-CA.crt.</li>
</ol>
<h2>한국어</h2>
<p>카메라 폰의 화면이 꺼지지 않게 하려면 이 인증서를 한 번 설치하세요. QR 코드를 찍고,
iPhone은 설정 &rarr; 일반 &rarr; VPN 및 기기 관리에서 설치한 뒤 일반 &rarr; 정보 &rarr;
인증서 신뢰 설정에서 신뢰를 켜세요. Android는 설정 &rarr; 보안 &rarr; 인증서 설치 &rarr;
CA 인증서에서 고르세요.</p>
<p>Check before you trust it: SHA-256 <code id="fingerprint">{fingerprint}</code><br>
({subject}). It can vouch only for private addresses and local names.</p>
</body>
</html>
"""
