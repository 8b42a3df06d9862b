"""Backend settings: CLI flags over environment variables over defaults."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs

from cloud.auth.oidc_config import OidcProviderConfig
from media.send.target import fec_config

ENV_PREFIX = "RETURNFEED_"
MAX_TOKEN_TTL_S = 366 * 24 * 3600
MAX_ACCESS_TTL_S = 24 * 3600
MAX_INVITE_TTL_S = 30 * 24 * 3600  # what a director may ask for per invite, too
MAX_REFRESH_GRACE_S = 300


class ConfigError(ValueError):
    """A setting has a value the backend cannot use."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` attempts per `seconds` from one client address."""

    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        try:
            count, seconds = text.split("/")
            limit = cls(int(count), float(seconds))
        except ValueError as exc:
            raise ConfigError(f"rate limit {text!r} is not COUNT/SECONDS, e.g. 10/60") from exc
        if limit.count < 1 or limit.seconds <= 0:
            raise ConfigError(f"rate limit {text!r} must be positive")
        return limit


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    cors_origins: tuple[str, ...] = ()
    jwt_secret: str = field(default="", repr=False)
    access_ttl_s: int = 15 * 60
    refresh_ttl_s: int = 7 * 24 * 3600
    # A refresh token rotated this recently may be presented again and gets the same
    # successor (a lost reply, concurrent refreshes); 0 makes any second use revoke the login.
    refresh_grace_s: int = 30
    # An invite gates joining only; a phone that joined stays a member, renewing its
    # participant token (cloud/api/invites.py) until removed, revoked or the session ends.
    invite_ttl_s: int = 7 * 24 * 3600
    participant_ttl_s: int = 24 * 3600
    max_body_bytes: int = 64 * 1024
    login_limit: RateLimit = RateLimit(10, 60)
    register_limit: RateLimit = RateLimit(5, 60)
    redeem_limit: RateLimit = RateLimit(30, 60)
    # Failed logins per account from one address, and from all (cloud/ratelimit.LoginGuard).
    login_account_limit: RateLimit = RateLimit(5, 900)
    login_account_total_limit: RateLimit = RateLimit(20, 900)
    # What one account may hold at once (cloud/quotas.py).
    max_sessions_per_user: int = 20
    max_invites_per_user: int = 500
    # X-Forwarded-* are believed only from these proxies; none unless configured: a tunnel
    # ending on 127.0.0.1 would otherwise let anyone name their own address.
    forwarded_allow_ips: str = ""
    log_level: str = "info"
    # The tally relay (docs/relay.md). Without a Redis URL it fans out in this process only.
    redis_url: str | None = field(default=None, repr=False)  # may carry a password
    relay_heartbeat_s: float = 3.0
    relay_timeout_s: float = 10.0
    relay_queue: int = 64  # messages a client may fall behind before it is dropped (4503)
    relay_burst: int = 20
    relay_rate: float = 10.0  # messages per second per client, after the burst
    # The SRT -> WebRTC gateway (docs/gateway.md).
    srt_enabled: bool = True
    srt_host: str | None = None  # None: the HTTP --host
    srt_port: int = 8890
    srt_latency_ms: int = 20
    srt_fec: str = "off"  # the listener's packet filter: off, on, or a libsrt FEC config
    # With a Redis URL, several processes share sessions (docs/scale.md): this process's id
    # ("" = random at start) and the SRT address directors and edges reach it at (None: the
    # SRT host and the bound port).
    process_id: str = ""
    srt_advertise: str | None = None
    # A publish token gates new SRT handshakes for this long after it was issued; reading
    # the credentials in its last quarter renews it (cloud/api/srt.py).
    srt_token_ttl_s: int = 24 * 3600
    ice_servers: tuple[str, ...] = field(default=(), repr=False)  # TURN URLs carry passwords
    # WebRTC ports and addresses (docs/deploy.md, "WebRTC ports, NAT and TURN"): the UDP
    # range viewers' ICE binds in or the one port they all share (None: any port), public
    # addresses of a 1:1 NAT to advertise, TURN servers whose credentials the backend mints
    # from a shared secret.
    webrtc_udp_ports: tuple[int, int] | None = None
    webrtc_udp_port: int | None = None  # or one port every viewer shares
    webrtc_public_ips: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = field(default="", repr=False)
    turn_ttl_s: int = 3600
    # WHEP admission (docs/gateway.md): viewers per session and per participant token, and
    # how long a viewer that has not finished ICE and DTLS keeps its sockets.
    max_viewers_per_session: int = 500
    max_viewers_per_token: int = 4
    webrtc_connect_timeout_s: float = 20.0
    # HTTPS served by the backend itself (cloud/tls/, docs/deploy.md): a certificate and key,
    # or a local CA of its own for a venue LAN; plain HTTP on a second port redirects.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_local_ca: bool = False
    tls_names: tuple[str, ...] = ()  # more names/addresses for the local CA's certificate
    http_redirect_port: int | None = None
    # /metrics (docs/monitoring.md): a bearer token on the main port, or a port of its own
    # for the scraper only; with neither it is not served.
    metrics_token: str = field(default="", repr=False)
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None
    # OpenID Connect sign-in (docs/login.md): providers by issuer and client id.
    oidc_providers: tuple[OidcProviderConfig, ...] = ()
    # Recording, replay and HLS (docs/recording.md); None: DATA_DIR/recordings.
    recording: bool = True
    recordings_dir: Path | None = None
    recording_max_bytes: int = 20 * 1024**3
    recording_max_age_s: float = 30 * 24 * 3600

    def __post_init__(self) -> None:
        self._check_token_lifetimes()
        self._check_tls()
        self._check_metrics()
        if self.recording_max_bytes < 0 or self.recording_max_age_s <= 0:
            raise ConfigError("the recordings' size limit must be >= 0 and their age above 0")
        if self.relay_heartbeat_s <= 0 or self.relay_timeout_s <= self.relay_heartbeat_s:
            raise ConfigError("the relay timeout must be longer than its heartbeat, both above 0")
        if self.relay_queue < 1 or self.relay_burst < 1 or self.relay_rate <= 0:
            raise ConfigError("relay queue, burst and rate must be positive")
        if not 0 <= self.srt_port <= 65535 or not 0 <= self.srt_latency_ms <= 5000:
            raise ConfigError("the SRT port must be 0..65535 and its latency 0..5000 ms")
        self._check_scale()
        try:
            fec_config(self.srt_fec)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        if not 1 <= self.srt_token_ttl_s <= MAX_TOKEN_TTL_S:
            raise ConfigError(f"the SRT publish token TTL must be 1..{MAX_TOKEN_TTL_S} s")
        for url in self.ice_servers:
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ConfigError("an ICE server is a stun:, turn: or turns: URL")
        self._check_webrtc()
        if min(self.max_viewers_per_session, self.max_viewers_per_token) < 1:
            raise ConfigError("the viewer limits must be at least 1")
        if min(self.max_sessions_per_user, self.max_invites_per_user) < 1:
            raise ConfigError("the per-account quotas must be at least 1")
        if not 1 <= self.webrtc_connect_timeout_s <= 300:
            raise ConfigError("the WebRTC connect timeout must be 1..300 s")
        if self.redis_url is not None and not self.redis_url.startswith(
            ("redis://", "rediss://", "unix://")
        ):
            raise ConfigError("the Redis URL must start with redis://, rediss:// or unix://")

    def _check_scale(self) -> None:
        # 15: it starts each viewer id, which WHEP paths allow 32 characters (16 random).
        if self.process_id and not re.fullmatch(r"[a-z0-9-]{1,15}", self.process_id):
            raise ConfigError("the process id is 1..15 of a-z, 0-9 and -")
        if self.srt_advertise is not None:
            host, sep, port = self.srt_advertise.rpartition(":")
            if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
                raise ConfigError("the SRT advertise address is HOST:PORT, port 1..65535")

    def _check_metrics(self) -> None:
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ConfigError("RETURNFEED_METRICS_TOKEN must be at least 16 characters")
        if self.metrics_port is not None and (
            not 1 <= self.metrics_port <= 65535
            or self.metrics_port in (self.port, self.http_redirect_port)
        ):
            raise ConfigError("the metrics port must be 1..65535 and not one the API serves on")

    def _check_tls(self) -> None:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ConfigError("--tls-cert and --tls-key go together: give both or neither")
        if self.tls_local_ca and self.tls_cert is not None:
            raise ConfigError("give either --tls-cert/--tls-key or --tls-local-ca, not both")
        if self.http_redirect_port is not None:
            if not self.tls:
                raise ConfigError("--http-redirect-port needs HTTPS: --tls-cert or --tls-local-ca")
            if not 1 <= self.http_redirect_port <= 65535 or self.http_redirect_port == self.port:
                raise ConfigError("the HTTP redirect port must be 1..65535 and not the HTTPS port")

    @property
    def tls(self) -> bool:
        """Whether the backend serves HTTPS itself."""
        return self.tls_cert is not None or self.tls_local_ca

    def _check_webrtc(self) -> None:
        if self.webrtc_udp_ports is not None:
            first, last = self.webrtc_udp_ports
            if not 1024 <= first <= last <= 65535:
                raise ConfigError("the WebRTC UDP ports must be FIRST-LAST within 1024..65535")
        if self.webrtc_udp_port is not None:
            if self.webrtc_udp_ports is not None:
                raise ConfigError("give either --webrtc-udp-port or --webrtc-udp-ports, not both")
            if not 1024 <= self.webrtc_udp_port <= 65535:
                raise ConfigError("the WebRTC UDP port must be within 1024..65535")
        if self.webrtc_public_ips and self.webrtc_udp_ports is None and not self.webrtc_udp_port:
            raise ConfigError(
                "--webrtc-public-ip needs --webrtc-udp-port or --webrtc-udp-ports: a 1:1 NAT "
                "forwards them, and the public candidate carries the port every address is "
                "bound to"
            )
        if self.turn_urls and not self.turn_secret:
            raise ConfigError("--turn-url needs the shared secret in RETURNFEED_TURN_SECRET")
        if self.turn_secret and not self.turn_urls:
            raise ConfigError("RETURNFEED_TURN_SECRET is set but no --turn-url uses it")
        if not 60 <= self.turn_ttl_s <= MAX_ACCESS_TTL_S:
            raise ConfigError(f"the TURN credential TTL must be 60..{MAX_ACCESS_TTL_S} s")

    def _check_token_lifetimes(self) -> None:
        for name, value, low, high in (
            ("access token", self.access_ttl_s, 1, MAX_ACCESS_TTL_S),
            ("refresh token", self.refresh_ttl_s, 1, MAX_TOKEN_TTL_S),
            ("invite", self.invite_ttl_s, 1, MAX_INVITE_TTL_S),
            ("participant token", self.participant_ttl_s, 1, MAX_TOKEN_TTL_S),
        ):
            if not low <= value <= high:
                raise ConfigError(f"the {name} TTL must be {low}..{high} s, not {value}")
        if not 0 <= self.refresh_grace_s <= MAX_REFRESH_GRACE_S:
            raise ConfigError(
                f"the refresh grace must be 0..{MAX_REFRESH_GRACE_S} s, not {self.refresh_grace_s}"
            )

    @property
    def base_url(self) -> str:
        """The address links and QR codes point at."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host  # noqa: S104
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @property
    def srt_listen_host(self) -> str:
        return self.srt_host or self.host

    @property
    def srt_public_host(self) -> str:
        """The host a director's app sends SRT to: the one invite links point at."""
        return urlsplit(self.base_url).hostname or "127.0.0.1"

    @property
    def database_backend(self) -> str:
        return self.database_url.split(":", 1)[0].split("+", 1)[0]


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("returnfeed", appauthor=False))


def normalize_database_url(url: str) -> str:
    """Accept plain driver-less URLs and pick the async driver for them."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    if url.startswith(("postgresql+asyncpg://", "sqlite+aiosqlite://")):
        return url
    raise ConfigError(
        f"unsupported database URL scheme in {url.split('://', 1)[0]!r}: "
        "use sqlite:///PATH or postgresql://USER:PASS@HOST/DB"
    )


def env_value(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(ENV_PREFIX + name)
    return value if value else None


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env_value(env, name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name}={value!r} is not an integer") from exc


def env_float(env: Mapping[str, str], name: str, default: float) -> float:
    value = env_value(env, name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"{ENV_PREFIX}{name}={value!r} is not a number") from exc


def environ() -> Mapping[str, str]:
    return os.environ
