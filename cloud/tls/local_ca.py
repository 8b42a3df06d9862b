"""A certificate authority of the backend's own, for a venue LAN without a domain.

On first start it makes a CA (key mode 0600 under DATA_DIR/tls/) and, on every start, makes
sure a server certificate it signed covers this machine's addresses and names. Each phone
installs the CA once (GET /ca.crt, docs/deploy.md), and from then on `https://192.168.x.y`
is a secure context: the Screen Wake Lock API works.

The CA may only vouch for private addresses and local names (X.509 name constraints), so a
phone that trusts it cannot be fooled about any site on the internet even if the CA key
leaked. Keys never reach a log.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud.tls.certs import TlsError, cert_names, load_certificate, load_private_key

CA_DAYS = 10 * 365
# Apple refuses server certificates valid for more than 825 days, even under a CA a user
# installed; browsers want 398 at most from public CAs. A year, renewed at start.
SERVER_DAYS = 365
RENEW_BEFORE = timedelta(days=30)
CA_NAME = "ReturnFeed local CA"
# What the CA may vouch for: private and link-local addresses, loopback, and local names.
PERMITTED_NETS = (
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "169.254.0.0/16",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "fc00::/7",
    "fe80::/10",
    "::1/128",
)
PERMITTED_SUFFIXES = ("local", "lan", "home.arpa", "internal", "localhost")


@dataclass(frozen=True, slots=True)
class LocalCa:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    fingerprint: str  # SHA-256 of the CA certificate, AA:BB:..., for a user to compare
    names: tuple[str, ...]  # what the server certificate covers
    refused: tuple[str, ...]  # names asked for that the CA may not vouch for

    @property
    def ca_pem(self) -> bytes:
        return self.ca_cert.read_bytes()


def ensure_local_ca(data_dir: Path, names: list[str], now: datetime | None = None) -> LocalCa:
    """The CA (made once) and a server certificate for `names` (made when missing, for other
    names, near its end, or from another CA)."""
    now = now or datetime.now(UTC)
    folder = data_dir / "tls"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca_key_path, ca_cert_path = folder / "ca.key", folder / "ca.crt"
    if not ca_cert_path.exists():
        _make_ca(ca_key_path, ca_cert_path, now)
    _check_private(ca_key_path)
    ca_cert = load_certificate(ca_cert_path)
    ca_key = load_private_key(ca_key_path)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TlsError(f"{ca_key_path} is not the EC key this backend makes")
    if ca_cert.not_valid_after_utc - now < RENEW_BEFORE:
        raise TlsError(
            f"the local CA {ca_cert_path} ends on {ca_cert.not_valid_after_utc:%Y-%m-%d}: move "
            f"{folder} away to make a new one, and install the new one on every phone"
        )
    cert_path, key_path = folder / "server.crt", folder / "server.key"
    permitted = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    wanted = [n for n in _unique(names) if _allowed(n, permitted)]
    refused = tuple(n for n in _unique(names) if n not in wanted)
    if _needs_new_server_cert(cert_path, key_path, ca_cert, wanted, now):
        _make_server_cert(ca_key, ca_cert, wanted, cert_path, key_path, now)
    digest = ca_cert.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return LocalCa(ca_cert_path, cert_path, key_path, fingerprint, tuple(wanted), refused)


def _allowed(name: str, constraints: x509.NameConstraints) -> bool:
    """Whether the CA's name constraints let it vouch for `name` (a phone would refuse a
    certificate naming anything else)."""
    subtrees = constraints.permitted_subtrees or []
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        suffixes = [g.value.lower() for g in subtrees if isinstance(g, x509.DNSName)]
        return any(name == s or name.endswith("." + s) for s in suffixes)
    nets = [g.value for g in subtrees if isinstance(g, x509.IPAddress)]
    return any(
        isinstance(net, ipaddress.IPv4Network | ipaddress.IPv6Network) and ip in net for net in nets
    )


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _check_private(path: Path) -> None:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise TlsError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_ca(key_path: Path, cert_path: Path, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_NAME} ({socket.gethostname()[:32]})"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ReturnFeed"),
        ]
    )
    permitted: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_network(net)) for net in PERMITTED_NETS
    ]
    permitted += [x509.DNSName(suffix) for suffix in PERMITTED_SUFFIXES]
    host = socket.gethostname().lower()
    if host and "." not in host and host not in PERMITTED_SUFFIXES:
        permitted.append(x509.DNSName(host))  # the bare host name phones may resolve
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.NameConstraints(permitted, None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, _pem_key(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name.strip("[]")))
    except ValueError:
        return x509.DNSName(name)


def _unique(names: list[str]) -> list[str]:
    seen: list[str] = []
    for name in names:
        clean = name.strip().strip("[]").lower()
        if clean and clean not in seen:
            seen.append(clean)
    return seen


def _needs_new_server_cert(
    cert_path: Path, key_path: Path, ca: x509.Certificate, wanted: list[str], now: datetime
) -> bool:
    if not cert_path.exists() or not key_path.exists():
        return True
    try:
        cert = load_certificate(cert_path)
    except TlsError:
        return True
    have = {n.lower() for n in cert_names(cert)}
    return (
        cert.issuer != ca.subject
        or cert.not_valid_after_utc - now < RENEW_BEFORE
        or not set(wanted) <= have
    )


def _make_server_cert(
    ca_key: ec.EllipticCurvePrivateKey,
    ca: x509.Certificate,
    names: list[str],
    cert_path: Path,
    key_path: Path,
    now: datetime,
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(key_path, _pem_key(key))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def local_names(host: str, extra: list[str]) -> list[str]:
    """What the server certificate should cover: the listen address (or every interface's
    address when listening on all), this machine's names, loopback, and `extra`."""
    names = list(extra)
    if host in ("", "0.0.0.0", "::"):  # noqa: S104
        names += interface_addresses()
    else:
        names.append(host)
    hostname = socket.gethostname().lower()
    if hostname:
        names += [hostname] if "." in hostname else [hostname, f"{hostname}.local"]
    names += ["localhost", "127.0.0.1", "::1"]
    return _unique(names)


SIOCGIFADDR = 0x8915


def interface_addresses() -> list[str]:
    """Every IPv4 address of this machine's interfaces but loopback (Linux), else the
    address of the default route."""
    found: list[str] = []
    if hasattr(socket, "if_nameindex") and hasattr(fcntl, "ioctl"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _, name in socket.if_nameindex():
                try:
                    request = struct.pack("256s", name[:15].encode())
                    packed = fcntl.ioctl(s.fileno(), SIOCGIFADDR, request)
                except OSError:
                    continue  # no IPv4 address
                found.append(socket.inet_ntoa(packed[20:24]))
    if not found:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("192.0.2.1", 9))  # no packet leaves: this only picks a route
                found.append(s.getsockname()[0])
        except OSError:
            pass
    return [a for a in found if not ipaddress.ip_address(a).is_loopback]
