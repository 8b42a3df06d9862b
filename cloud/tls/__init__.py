"""HTTPS served by the backend itself: a given certificate, or a local CA of its own.

`prepare(settings)` checks everything before the server starts and raises TlsError with a
sentence naming the problem; `listener.TlsServer` serves it (docs/deploy.md).
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from cloud.config import Settings
from cloud.tls.certs import ServerCert, TlsError, check_server_cert, server_context
from cloud.tls.listener import PlainAnswers
from cloud.tls.local_ca import LocalCa, ensure_local_ca, local_names

__all__ = ["TlsError", "TlsSetup", "prepare"]

log = logging.getLogger("returnfeed.cloud.tls")


@dataclass(frozen=True, slots=True)
class TlsSetup:
    cert: ServerCert
    context: ssl.SSLContext
    answers: PlainAnswers
    local_ca: LocalCa | None

    def summary(self) -> list[str]:
        names = ", ".join(self.cert.names) or "(no names)"
        lines = [
            f"  TLS       {self.cert.subject}, for {names}, until {self.cert.not_after:%Y-%m-%d}"
        ]
        if self.local_ca is not None:
            lines.append(f"  local CA  {self.local_ca.ca_cert} (install on phones: /ca)")
            lines.append(f"            SHA-256 {self.local_ca.fingerprint}")
        return lines


def prepare(settings: Settings) -> TlsSetup:
    """The checked certificate, its SSL context and what plain HTTP is told."""
    local_ca = None
    if settings.tls_local_ca:
        public_host = urlsplit(settings.public_url).hostname if settings.public_url else None
        extra = [*settings.tls_names, *([public_host] if public_host else [])]
        local_ca = ensure_local_ca(settings.data_dir, local_names(settings.host, extra))
        for name in local_ca.refused:
            log.warning(
                "the local CA cannot vouch for %s (only private addresses and local names): "
                "phones will not trust https://%s; use the internet setup (docs/deploy.md)",
                name,
                name,
            )
        cert = check_server_cert(local_ca.server_cert, local_ca.server_key)
    else:
        assert settings.tls_cert is not None and settings.tls_key is not None
        cert = check_server_cert(settings.tls_cert, settings.tls_key)
    public = urlsplit(settings.public_url) if settings.public_url else None
    public_host = public.hostname if public is not None and public.scheme == "https" else None
    if public_host and not cert.covers(public_host):
        raise TlsError(
            f"the TLS certificate {cert.cert_path} ({cert.subject}) is for "
            f"{', '.join(cert.names) or 'no names'}, not for {public_host} "
            f"(--public-url): browsers would refuse it"
        )
    if cert.expires_soon:
        log.warning(
            "the TLS certificate %s ends on %s: renew it",
            cert.cert_path,
            f"{cert.not_after:%Y-%m-%d}",
        )
    answers = PlainAnswers(
        https_port=settings.port,
        public_https=settings.public_url if settings.public_url.startswith("https://") else "",
        ca_pem=local_ca.ca_pem if local_ca is not None else None,
    )
    return TlsSetup(cert, server_context(cert), answers, local_ca)
