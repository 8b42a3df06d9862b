"""Certificates made by the tests, and the real `returnfeed-cloud` serving HTTPS.

Every key and certificate is generated into the test's temp dir; none is in the repo.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.support.cloud import CLI, RELAXED_RATES
from tests.support.procs import Proc, ProcessFailed, free_port, wait_until


@dataclass(frozen=True)
class MadeCa:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    path: Path  # the CA certificate, PEM

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.path))


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def make_ca(folder: Path, cn: str = "ReturnFeed test CA") -> MadeCa:
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    path = folder / "test-ca.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return MadeCa(key, cert, path)


def make_server_cert(
    ca: MadeCa,
    folder: Path,
    names: Sequence[str] = ("127.0.0.1", "localhost"),
    valid_from: timedelta = timedelta(days=-1),
    valid_until: timedelta = timedelta(days=60),
    stem: str = "server",
    key_password: bytes | None = None,
) -> tuple[Path, Path]:
    """A server certificate signed by `ca`, valid from/until now + the given offsets."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(names[0]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid_from)
        .not_valid_after(now + valid_until)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca.key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{stem}.crt", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(_pem_key(key, key_password))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


class HttpsCloud:
    """`returnfeed-cloud` on SQLite serving HTTPS (or, with `scheme="http"`, plain HTTP) on
    `host`, optionally started through `prefix` (e.g. `ip netns exec NAME`). `ca_file` is
    what clients trust; with --tls-local-ca it appears once the backend has made it."""

    def __init__(
        self,
        workdir: Path,
        args: Sequence[str],
        ca_file: Path | None,
        host: str = "127.0.0.1",
        scheme: str = "https",
        prefix: Sequence[str] = (),
        redirect_port: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.redirect_port = redirect_port
        self.data_dir = workdir / "data"
        self.host = host
        self.port = free_port()
        self.base_url = f"{scheme}://{host}:{self.port}"
        self.ca_file = ca_file
        self._argv = [
            *prefix,
            str(CLI),
            "--host",
            host,
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--database-url",
            f"sqlite:///{workdir / 'returnfeed.db'}",
            "--no-srt",
            *RELAXED_RATES,
            *args,
            *(["--http-redirect-port", str(redirect_port)] if redirect_port else []),
        ]
        self.proc: Proc | None = None
        self.start()

    def start(self) -> None:
        self.proc = Proc(self._argv, self.workdir / "cloud.log", env=dict(os.environ))
        wait_until(self._healthy, 30, f"returnfeed-cloud on {self.base_url}")

    def verify(self) -> ssl.SSLContext | bool:
        if self.ca_file is None:
            return True
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _healthy(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            raise ProcessFailed(f"returnfeed-cloud exited:\n{self.proc.tail()}")
        if self.ca_file is not None and not self.ca_file.exists():
            return False
        try:
            r = httpx.get(f"{self.base_url}/api/health", timeout=1, verify=self.verify())
            return r.status_code == 200
        except httpx.HTTPError:
            return False

    def healthy(self) -> bool:
        return self._healthy()

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, verify=self.verify())

    def log_text(self) -> str:
        return (self.workdir / "cloud.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def cert_served(self) -> x509.Certificate:
        """The certificate the server presents."""
        pem = ssl.get_server_certificate((self.host, self.port))
        return x509.load_pem_x509_certificate(pem.encode())
