"""Checks a certificate and key before the backend serves with them, so that a wrong file
stops the start with a sentence naming the problem instead of failing every phone's
handshake later."""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID

# A certificate this close to its end still serves, with a warning at start.
EXPIRY_WARNING = timedelta(days=14)


class TlsError(ValueError):
    """A certificate or key the backend cannot serve with; the message says why."""


@dataclass(frozen=True, slots=True)
class ServerCert:
    cert_path: Path
    key_path: Path
    subject: str
    names: tuple[str, ...]  # DNS names and IP addresses the certificate is valid for
    not_after: datetime
    expires_soon: bool

    def covers(self, host: str) -> bool:
        return any(_name_matches(name, host) for name in self.names)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise TlsError(f"cannot read the TLS {what} {path}: {exc.strerror or exc}") from exc


def load_certificate(path: Path) -> x509.Certificate:
    data = _read(path, "certificate")
    try:
        certs = x509.load_pem_x509_certificates(data)
    except ValueError:
        try:
            return x509.load_der_x509_certificate(data)
        except ValueError as exc:
            raise TlsError(f"{path} is not a PEM or DER certificate") from exc
    return certs[0]  # the server's own; any that follow are its chain


def load_private_key(path: Path) -> PrivateKeyTypes:
    data = _read(path, "key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError as exc:  # it wants a password
        raise TlsError(f"the TLS key {path} is encrypted: give it unencrypted (mode 0600)") from exc
    except ValueError:
        try:
            return serialization.load_der_private_key(data, password=None)
        except (TypeError, ValueError) as exc:
            raise TlsError(f"{path} is not a PEM or DER private key") from exc


def subject_text(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return f"CN={names[0].value!s}" if names else cert.subject.rfc4514_string() or "(no subject)"


def cert_names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    dns = san.get_values_for_type(x509.DNSName)
    ips = [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    return (*dns, *ips)


def check_server_cert(cert_path: Path, key_path: Path, now: datetime | None = None) -> ServerCert:
    """The certificate and key must parse, belong together and be valid now."""
    now = now or datetime.now(UTC)
    cert = load_certificate(cert_path)
    key = load_private_key(key_path)
    subject = subject_text(cert)
    cert_public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if cert_public != key_public:
        raise TlsError(
            f"the TLS key {key_path} does not belong to the certificate {cert_path} ({subject})"
        )
    if cert.not_valid_after_utc <= now:
        raise TlsError(
            f"the TLS certificate {cert_path} ({subject}) expired on "
            f"{cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC: renew it"
        )
    if cert.not_valid_before_utc > now:
        raise TlsError(
            f"the TLS certificate {cert_path} ({subject}) is not valid before "
            f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: check this machine's clock"
        )
    return ServerCert(
        cert_path=cert_path,
        key_path=key_path,
        subject=subject,
        names=cert_names(cert),
        not_after=cert.not_valid_after_utc,
        expires_soon=cert.not_valid_after_utc - now < EXPIRY_WARNING,
    )


def server_context(cert: ServerCert) -> ssl.SSLContext:
    """TLS 1.2 and newer, HTTP/1.1 (what uvicorn speaks, WebSockets included)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
    except (ssl.SSLError, OSError) as exc:  # checked above; a chain file may still be odd
        raise TlsError(f"cannot serve with {cert.cert_path} and {cert.key_path}: {exc}") from exc
    ctx.set_alpn_protocols(["http/1.1"])
    return ctx


def _name_matches(name: str, host: str) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    try:
        return ipaddress.ip_address(name) == ipaddress.ip_address(host)
    except ValueError:
        pass
    name = name.lower().rstrip(".")
    if name.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == name[2:]
    return name == host
