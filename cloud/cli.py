"""`returnfeed-cloud`: migrate the database, then serve the API with uvicorn."""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from urllib.parse import urlsplit

import uvicorn
from sqlalchemy.engine import make_url

import cloud.tls as cloud_tls
from cloud import accesslog, logs
from cloud.app import create_app
from cloud.auth.oidc_config import OidcConfigError, OidcProviderConfig
from cloud.config import (
    ConfigError,
    RateLimit,
    Settings,
    default_data_dir,
    env_float,
    env_int,
    env_value,
    environ,
    normalize_database_url,
)
from cloud.db.engine import make_sqlite_file_private
from cloud.db.migrate import upgrade
from cloud.gateway.iceports import parse_port, parse_port_range, parse_public_ip
from cloud.gateway.turn import check_turn_url
from cloud.gateway.udpmux import PortInUse
from cloud.metrics_port import MetricsPortInUse
from cloud.record import options as recording_options
from cloud.relay import RELAY_MAX_FRAME_BYTES
from cloud.relay.uvicorn_protocol import RelayWebSocketProtocol
from cloud.secret_store import SecretError, load_or_create_secret
from cloud.tls.forwarded import ForwardedHeaders
from cloud.tls.listener import TlsServer

log = logging.getLogger("returnfeed.cloud")

EPILOG = """\
Every flag can also come from the environment as RETURNFEED_<NAME> (e.g.
RETURNFEED_DATABASE_URL, RETURNFEED_PORT, RETURNFEED_CORS_ORIGINS=a,b). The JWT
signing secret comes only from RETURNFEED_JWT_SECRET, or is generated once into
DATA_DIR/jwt-secret with mode 0600.
"""


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="returnfeed-cloud",
        description="Serve the ReturnFeed cloud backend (API, accounts, sessions, invites).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default=env_value(env, "HOST") or "127.0.0.1",
        help="address to listen on (default 127.0.0.1)",
    )
    p.add_argument(
        "--port", type=int, default=env_int(env, "PORT", 8000), help="HTTP port (default 8000)"
    )
    p.add_argument(
        "--data-dir",
        type=Path,
        default=env_value(env, "DATA_DIR"),
        help=f"where the SQLite file and secret live (default {default_data_dir()})",
    )
    p.add_argument(
        "--database-url",
        default=env_value(env, "DATABASE_URL"),
        help="sqlite:///PATH or postgresql://USER:PASS@HOST/DB (default: SQLite in the data dir)",
    )
    p.add_argument(
        "--public-url",
        default=env_value(env, "PUBLIC_URL") or "",
        help="base URL that invite links point at (default http://HOST:PORT)",
    )
    cors = env_value(env, "CORS_ORIGINS")
    p.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origins",
        default=[o.strip() for o in cors.split(",") if o.strip()] if cors else [],
        help="allow browser calls from this origin; repeat for more (default none)",
    )
    p.add_argument(
        "--max-body-bytes",
        type=int,
        default=env_int(env, "MAX_BODY_BYTES", 65536),
        help="largest accepted request body (default 65536)",
    )
    for name, default in (("login", "10/60"), ("register", "5/60"), ("redeem", "30/60")):
        p.add_argument(
            f"--{name}-rate",
            default=env_value(env, f"{name.upper()}_RATE") or default,
            help=f"{name} attempts per client address, COUNT/SECONDS ({default})",
        )
    for name, default, what in (
        ("login-account", "5/900", "failed logins per account from one address"),
        ("login-account-total", "20/900", "failed logins per account from all addresses; "
         "past it only addresses that have not failed on it may try it"),
    ):  # fmt: skip
        p.add_argument(
            f"--{name}-rate",
            default=env_value(env, f"{name.upper().replace('-', '_')}_RATE") or default,
            help=f"{what}, COUNT/SECONDS ({default}; docs/security.md)",
        )
    for kind, most, what in (
        ("sessions", 20, "sessions one account may have that have not ended"),
        ("invites", 500, "invite links one account may have in use (not revoked or expired)"),
    ):
        p.add_argument(
            f"--max-{kind}-per-user",
            type=int,
            metavar="N",
            default=env_int(env, f"MAX_{kind.upper()}_PER_USER", most),
            help=f"{what}; one more gets 403 quota_exceeded (default {most})",
        )
    p.add_argument(
        "--forwarded-allow-ips",
        default=env_value(env, "FORWARDED_ALLOW_IPS") or "",
        help="proxies trusted for X-Forwarded-For/-Proto/-Host, comma-separated, e.g. "
        "127.0.0.1 behind a Caddy on this machine (default none: the headers are ignored)",
    )
    _tls_arguments(p, env)
    _metrics_arguments(p, env)
    _oidc_arguments(p, env)
    _lifetime_arguments(p, env)
    _relay_arguments(p, env)
    _gateway_arguments(p, env)
    p.add_argument(
        "--log-level",
        default=env_value(env, "LOG_LEVEL") or "info",
        choices=["critical", "error", "warning", "info", "debug"],
    )
    log_format = env_value(env, "LOG_FORMAT") or "text"
    if log_format not in logs.FORMATS:
        raise ConfigError(f"RETURNFEED_LOG_FORMAT={log_format!r}: use text or json")
    p.add_argument(
        "--log-format",
        default=log_format,
        choices=logs.FORMATS,
        help="text (default: one readable line each, for a terminal or journalctl) or json "
        "(one object a line with time, level, logger, message, request_id and the line's "
        "fields, for a log shipper; docs/monitoring.md, Logs)",
    )
    p.add_argument(
        "--migrate-only",
        action="store_true",
        help="bring the database schema up to date, then exit",
    )
    return p


LIFETIMES = (
    ("access-ttl-s", 15 * 60, "a director's access token (default 900)"),
    ("refresh-ttl-s", 7 * 24 * 3600, "a director's refresh token: how long an idle login "
     "lasts (default 604800)"),
    ("refresh-grace-s", 30, "how long a just-rotated refresh token may be presented again "
     "and get the same new one, e.g. after a lost reply; 0: any reuse ends the login "
     "(default 30)"),
    ("invite-ttl-s", 7 * 24 * 3600, "an invite link made without ttl_seconds: how long it "
     "admits new phones and viewers; those who joined stay (default 604800)"),
    ("participant-ttl-s", 24 * 3600, "a phone's or viewer's token; their pages renew it "
     "past half its life (POST /api/participant/token) (default 86400)"),
)  # fmt: skip


def _tls_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    tls = p.add_argument_group("HTTPS (docs/deploy.md)")
    tls.add_argument(
        "--tls-cert",
        type=Path,
        metavar="PATH",
        default=env_value(env, "TLS_CERT"),
        help="serve HTTPS with this PEM certificate (chain after it); needs --tls-key",
    )
    tls.add_argument(
        "--tls-key",
        type=Path,
        metavar="PATH",
        default=env_value(env, "TLS_KEY"),
        help="the certificate's unencrypted private key",
    )
    tls.add_argument(
        "--tls-local-ca",
        action="store_true",
        default=env_value(env, "TLS_LOCAL_CA") in ("1", "true", "yes"),
        help="venue LAN without a domain: make a CA of our own in DATA_DIR/tls/ and serve "
        "HTTPS with a certificate it signs for this machine's addresses; phones install "
        "the CA once from /ca",
    )
    names = env_value(env, "TLS_NAMES")
    tls.add_argument(
        "--tls-name",
        action="append",
        dest="tls_names",
        metavar="NAME",
        default=[n.strip() for n in names.split(",") if n.strip()] if names else [],
        help="another address or local name for the --tls-local-ca certificate; repeat",
    )
    redirect = env_value(env, "HTTP_REDIRECT_PORT")
    tls.add_argument(
        "--http-redirect-port",
        type=int,
        metavar="P",
        default=env_int(env, "HTTP_REDIRECT_PORT", 0) if redirect else None,
        help="also listen for plain HTTP on this port and redirect it to HTTPS (and serve "
        "/ca.crt there with --tls-local-ca)",
    )


def _metrics_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    m = p.add_argument_group(
        "metrics",
        "/metrics is served with a bearer token (RETURNFEED_METRICS_TOKEN, from the "
        "environment only, so it never shows in a process list) on the API's port, and/or on "
        "a port of its own for the scraper; with neither it answers 404",
    )
    m.add_argument(
        "--metrics-host",
        default=env_value(env, "METRICS_HOST") or "127.0.0.1",
        help="address of the metrics port (default 127.0.0.1)",
    )
    port = env_value(env, "METRICS_PORT")
    m.add_argument(
        "--metrics-port",
        type=int,
        metavar="P",
        default=env_int(env, "METRICS_PORT", 0) if port else None,
        help="serve /metrics (only) on this port too, with no token: firewall it to the scraper",
    )


def _oidc_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    providers = env_value(env, "OIDC_PROVIDERS")
    p.add_argument(
        "--oidc-provider",
        action="append",
        dest="oidc_providers",
        metavar="NAME=ISSUER,CLIENT_ID",
        default=providers.split() if providers else [],
        help="sign in through this OpenID Connect provider, e.g. "
        "google=https://accounts.google.com,ID; its secret only from "
        "RETURNFEED_OIDC_<NAME>_SECRET; repeat for more (docs/login.md)",
    )


def _lifetime_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    group = p.add_argument_group("token lifetimes, in seconds (tests make a day last a minute)")
    for flag, default, text in LIFETIMES:
        group.add_argument(
            f"--{flag}",
            type=int,
            metavar="S",
            default=env_int(env, flag.upper().replace("-", "_"), default),
            help=text,
        )


def _relay_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    relay = p.add_argument_group("tally relay (docs/relay.md)")
    relay.add_argument(
        "--redis-url",
        default=env_value(env, "REDIS_URL"),
        help="redis://HOST:PORT/DB: fan tally out over Redis so several backend processes "
        "serve one session (default: in this process only)",
    )
    relay.add_argument(
        "--relay-heartbeat-s",
        type=float,
        default=env_float(env, "RELAY_HEARTBEAT_S", 3.0),
        help="seconds between the relay's heartbeats (default 3)",
    )
    relay.add_argument(
        "--relay-timeout-s",
        type=float,
        default=env_float(env, "RELAY_TIMEOUT_S", 10.0),
        help="close a client heard nothing from in this long (default 10)",
    )
    relay.add_argument(
        "--relay-queue",
        type=int,
        default=env_int(env, "RELAY_QUEUE", 64),
        help="messages a client may fall behind before it is dropped (default 64)",
    )
    relay.add_argument(
        "--relay-burst",
        type=int,
        default=env_int(env, "RELAY_BURST", 20),
        help="messages a client may send at once (default 20)",
    )
    relay.add_argument(
        "--relay-rate",
        type=float,
        default=env_float(env, "RELAY_RATE", 10.0),
        help="messages per second a client may send after its burst (default 10)",
    )
    relay.add_argument(
        "--ws",
        default=env_value(env, "WS") or "relay",
        choices=["relay", "websockets-sansio", "websockets", "wsproto"],
        help="WebSocket implementation: relay (default: uvicorn's websockets-sansio with the "
        "relay's direct frame writes) or one of uvicorn's own",
    )


def _gateway_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    gw = p.add_argument_group("SRT -> WebRTC gateway (docs/gateway.md)")
    gw.add_argument(
        "--srt-host",
        default=env_value(env, "SRT_HOST"),
        help="address the SRT listener binds (default: the --host value)",
    )
    gw.add_argument(
        "--srt-port",
        type=int,
        default=env_int(env, "SRT_PORT", 8890),
        help="UDP port for SRT publishers (default 8890; 0 picks a free one)",
    )
    gw.add_argument(
        "--srt-latency-ms",
        type=int,
        default=env_int(env, "SRT_LATENCY_MS", 20),
        help="the listener's SRT latency, the least any publisher gets: the larger of both "
        "sides applies, and a sender asks for what its link needs (default 20)",
    )
    gw.add_argument(
        "--srt-fec",
        default=env_value(env, "SRT_FEC") or "off",
        metavar="off|on|CONFIG",
        help="SRT forward error correction on the listener (libsrt's packet filter): on = "
        "fec,cols:10,rows:1,layout:staircase,arq:always, or a libsrt config. Off (default), "
        "a sender may still ask for FEC itself (returnfeed send --srt-fec); on, a sender "
        "asking for a different FEC layout is refused (reject 14)",
    )
    gw.add_argument(
        "--process-id",
        default=env_value(env, "PROCESS_ID") or "",
        help="this process's id among several sharing sessions over --redis-url: 1..15 of "
        "a-z, 0-9, -; each viewer's WHEP Location starts with it, for the balancer "
        "(default: random at each start; docs/scale.md)",
    )
    gw.add_argument(
        "--srt-advertise",
        default=env_value(env, "SRT_ADVERTISE"),
        metavar="HOST:PORT",
        help="with --redis-url: where directors and other processes reach this process's SRT "
        "ingest (default: the host of --public-url, or --host, and the SRT port, as a single "
        "process answers)",
    )
    gw.add_argument(
        "--srt-token-ttl-s",
        type=int,
        metavar="S",
        default=env_int(env, "SRT_TOKEN_TTL_S", 24 * 3600),
        help="seconds a session's SRT publish token admits new connections; reading the "
        "credentials in its last quarter renews it, a connected publisher is never cut "
        "(default 86400)",
    )
    gw.add_argument(
        "--no-srt",
        action="store_true",
        default=env_value(env, "NO_SRT") in ("1", "true", "yes"),
        help="serve no SRT ingest (and so no video to viewers)",
    )
    ice = env_value(env, "ICE_SERVERS")
    gw.add_argument(
        "--ice-server",
        action="append",
        dest="ice_servers",
        default=[u.strip() for u in ice.split(",") if u.strip()] if ice else [],
        help="stun:HOST:PORT or turn:USER:PASS@HOST:PORT for viewers' WebRTC; repeat for "
        "more (default none: host candidates only)",
    )
    _webrtc_arguments(p, env)
    _admission_arguments(p, env)
    recording_options.add_arguments(p, env)


def _admission_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    adm = p.add_argument_group("WHEP viewer limits (docs/gateway.md)")
    adm.add_argument(
        "--max-viewers-per-session",
        type=int,
        metavar="N",
        default=env_int(env, "MAX_VIEWERS_PER_SESSION", 500),
        help="WebRTC viewers of one session at a time; one more gets 503 session_full "
        "(default 500)",
    )
    adm.add_argument(
        "--max-viewers-per-token",
        type=int,
        metavar="N",
        default=env_int(env, "MAX_VIEWERS_PER_TOKEN", 4),
        help="WebRTC viewers one participant token (a phone or viewer page) holds at a "
        "time; one more gets 429 too_many_viewers (default 4)",
    )
    adm.add_argument(
        "--webrtc-connect-timeout-s",
        type=float,
        metavar="S",
        default=env_float(env, "WEBRTC_CONNECT_TIMEOUT_S", 20.0),
        help="a viewer that has not finished ICE and DTLS this long after its answer is "
        "closed and its sockets freed (default 20)",
    )


def _webrtc_arguments(p: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    rtc = p.add_argument_group("WebRTC ports, NAT and TURN (docs/deploy.md)")
    rtc.add_argument(
        "--webrtc-udp-port",
        type=_argument(parse_port),
        metavar="PORT",
        default=env_value(env, "WEBRTC_UDP_PORT"),
        help="every viewer's ICE on this one UDP port, e.g. 8189, told apart by ICE ufrag and "
        "address: one firewall rule, no port limit on viewers (recommended on the internet); "
        "a port in use stops the start (default: any port)",
    )
    rtc.add_argument(
        "--webrtc-udp-ports",
        type=_argument(parse_port_range),
        metavar="FIRST-LAST",
        default=env_value(env, "WEBRTC_UDP_PORTS"),
        help="or bind each viewer's ICE to one UDP port of this range, e.g. 40000-40999; a "
        "viewer finding none free gets a 503 (default: any port)",
    )
    rtc.add_argument(
        "--webrtc-public-ip",
        action="append",
        dest="webrtc_public_ips",
        type=_argument(parse_public_ip),
        metavar="ADDR",
        default=_env_list(env, "WEBRTC_PUBLIC_IPS", parse_public_ip),
        help="also offer this address (a 1:1 NAT's public IP) as a host candidate, with the "
        "gateway's port; repeat for more; needs --webrtc-udp-port or --webrtc-udp-ports",
    )
    rtc.add_argument(
        "--turn-url",
        action="append",
        dest="turn_urls",
        type=_argument(check_turn_url),
        metavar="URL",
        default=_env_list(env, "TURN_URLS", check_turn_url),
        help="turn:HOST:3478 (or turns:HOST:5349?transport=tcp) handed to viewers and phones "
        "with a credential minted from the shared secret in RETURNFEED_TURN_SECRET "
        "(coturn use-auth-secret); repeat for more",
    )
    rtc.add_argument(
        "--turn-ttl-s",
        type=int,
        metavar="S",
        default=env_int(env, "TURN_TTL_S", 3600),
        help="how long a minted TURN credential admits a new relay; one in use is kept "
        "(default 3600)",
    )


def _env_list(env: Mapping[str, str], name: str, parse: Callable[[str], str]) -> list[str]:
    """RETURNFEED_<NAME>=a,b parsed item by item; ConfigError names the variable."""
    value = env_value(env, name)
    try:
        return [parse(item.strip()) for item in value.split(",") if item.strip()] if value else []
    except ValueError as exc:
        raise ConfigError(f"RETURNFEED_{name}: {exc}") from None


def _argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse type from a parser that raises ValueError with the reason."""

    def convert(text: str) -> object:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    data_dir: Path = (args.data_dir or default_data_dir()).expanduser()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the secret and database
    url = args.database_url or f"sqlite:///{data_dir / 'returnfeed.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=normalize_database_url(url),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        cors_origins=tuple(args.cors_origins),
        jwt_secret=load_or_create_secret(data_dir, env_value(env, "JWT_SECRET")),
        access_ttl_s=args.access_ttl_s,
        refresh_ttl_s=args.refresh_ttl_s,
        refresh_grace_s=args.refresh_grace_s,
        invite_ttl_s=args.invite_ttl_s,
        participant_ttl_s=args.participant_ttl_s,
        max_body_bytes=args.max_body_bytes,
        login_limit=RateLimit.parse(args.login_rate),
        register_limit=RateLimit.parse(args.register_rate),
        redeem_limit=RateLimit.parse(args.redeem_rate),
        login_account_limit=RateLimit.parse(args.login_account_rate),
        login_account_total_limit=RateLimit.parse(args.login_account_total_rate),
        forwarded_allow_ips=args.forwarded_allow_ips,
        max_sessions_per_user=args.max_sessions_per_user,
        max_invites_per_user=args.max_invites_per_user,
        log_level=args.log_level,
        redis_url=args.redis_url,
        relay_heartbeat_s=args.relay_heartbeat_s,
        relay_timeout_s=args.relay_timeout_s,
        relay_queue=args.relay_queue,
        relay_burst=args.relay_burst,
        relay_rate=args.relay_rate,
        srt_enabled=not args.no_srt,
        srt_host=args.srt_host,
        srt_port=args.srt_port,
        srt_latency_ms=args.srt_latency_ms,
        srt_fec=args.srt_fec,
        srt_token_ttl_s=args.srt_token_ttl_s,
        process_id=args.process_id,
        srt_advertise=args.srt_advertise,
        ice_servers=tuple(args.ice_servers),
        webrtc_udp_ports=(
            (args.webrtc_udp_ports.first, args.webrtc_udp_ports.last)
            if args.webrtc_udp_ports is not None
            else None
        ),
        webrtc_udp_port=args.webrtc_udp_port,
        webrtc_public_ips=tuple(args.webrtc_public_ips),
        turn_urls=tuple(args.turn_urls),
        turn_secret=env_value(env, "TURN_SECRET") or "",
        turn_ttl_s=args.turn_ttl_s,
        max_viewers_per_session=args.max_viewers_per_session,
        max_viewers_per_token=args.max_viewers_per_token,
        webrtc_connect_timeout_s=args.webrtc_connect_timeout_s,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_local_ca=args.tls_local_ca,
        tls_names=tuple(args.tls_names),
        http_redirect_port=args.http_redirect_port,
        metrics_token=env_value(env, "METRICS_TOKEN") or "",
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        oidc_providers=_oidc_providers(args.oidc_providers, env),
        **recording_options.settings(args, data_dir),
    )


def _oidc_providers(texts: Sequence[str], env: Mapping[str, str]) -> tuple[OidcProviderConfig, ...]:
    try:
        providers = tuple(OidcProviderConfig.parse(text, env) for text in texts)
    except OidcConfigError as exc:
        raise ConfigError(str(exc)) from exc
    if len({p.name for p in providers}) != len(providers):
        raise ConfigError("two OIDC providers have the same NAME")
    return providers


def main(argv: Sequence[str] | None = None) -> int:
    env = environ()
    try:
        parser = build_parser(env)  # reads RETURNFEED_* defaults, which may be malformed
    except ConfigError as exc:
        print(f"returnfeed-cloud: {exc}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    # The process's own secrets are masked should a line ever carry one (logs.Redactor).
    logs.configure(args.log_format, args.log_level, logs.secrets_in(env))
    try:
        settings = settings_from_args(args, env)
    except (ConfigError, SecretError, OSError) as exc:
        print(f"returnfeed-cloud: {exc}", file=sys.stderr)
        return 2
    try:  # a certificate that would fail every phone stops the start, naming the problem
        tls = cloud_tls.prepare(settings) if settings.tls and not args.migrate_only else None
    except (cloud_tls.TlsError, OSError) as exc:
        print(f"returnfeed-cloud: {exc}", file=sys.stderr)
        return 2
    shown_db = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        make_sqlite_file_private(settings.database_url)
        upgrade(settings.database_url)
    except Exception as exc:  # a database we cannot reach or migrate ends the start, clearly
        print(f"returnfeed-cloud: cannot migrate {shown_db}: {exc}", file=sys.stderr)
        return 3
    if args.migrate_only:
        print(f"database {shown_db} is up to date")
        return 0
    base = settings.base_url
    # In JSON mode the summary goes as log lines, so that every line a shipper reads parses.
    say: Callable[[str], object] = (
        log.info if args.log_format == "json" else partial(print, flush=True)
    )
    say(f"ReturnFeed cloud on {base}")
    say(f"  API docs  {base}/docs")
    say(f"  health    {base}/api/health")
    say(f"  metrics   {_shown_metrics(settings)}")
    say(f"  database  {shown_db}")
    say(f"  relay     {_shown_relay(settings)}")
    srt = f"srt://{settings.srt_listen_host}:{settings.srt_port}" if settings.srt_enabled else "off"
    say(f"  SRT       {srt}")
    say(f"  WebRTC    {_shown_webrtc(settings)}")
    for line in tls.summary() if tls is not None else []:
        say(line)
    # X-Forwarded-For/-Proto/-Host from trusted proxies only (cloud/tls/forwarded.py).
    try:  # the shared WebRTC port is bound here: one in use stops the start, named
        app = ForwardedHeaders(create_app(settings), settings.forwarded_allow_ips)  # type: ignore[arg-type]
    except (PortInUse, MetricsPortInUse) as exc:
        print(f"returnfeed-cloud: {exc}", file=sys.stderr)
        return 2
    _calm_garbage_collector()
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's loggers go through logs.configure's handler
        proxy_headers=False,
        ws=RelayWebSocketProtocol if args.ws == "relay" else args.ws,
        # Tally messages are tiny and go to a thousand phones: compressing each one once
        # per phone would cost more CPU than it saves bytes.
        ws_per_message_deflate=False,
        # The relay refuses anything over 16 KiB with an error reply; far larger frames
        # are cut off by the protocol layer before they are buffered.
        ws_max_size=RELAY_MAX_FRAME_BYTES,
        # The relay sends its own heartbeats (docs/relay.md); protocol pings would double them.
        ws_ping_interval=None,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    accesslog.install()  # after uvicorn.Config, which sets its loggers up
    server = (
        TlsServer(config, tls.context, tls.answers, settings.http_redirect_port)
        if tls is not None
        else uvicorn.Server(config)
    )
    server.run()
    return 0 if server.started else 3


# Idle HTTP connections are kept longer than clients keep theirs (httpx: 5 s, browsers about
# a minute): with uvicorn's 5 s, a client reusing a pooled connection just as the server
# closes it gets a reset (the director app's 5 s phones poll met that on a busy machine).
KEEP_ALIVE_S = 75


def _calm_garbage_collector() -> None:
    """Keep full collections rare: a full one over 1,000 connections stalls tally for ~100 ms.

    What is loaded by now lives as long as the process, so it leaves the collector's view.
    Each relay connection holds a few hundred objects; with the default thresholds a tally
    fan-out to 1,000 phones triggers several young collections that promote its in-flight
    objects, and those promotions trigger full collections every few seconds. With a larger
    first threshold a fan-out finishes (and its objects die by refcount) between collections.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _shown_webrtc(settings: Settings) -> str:
    """Ports, public addresses and TURN servers (never the TURN secret)."""
    ports = settings.webrtc_udp_ports
    parts = [f"udp {ports[0]}-{ports[1]}" if ports else "udp any port"]
    if settings.webrtc_udp_port is not None:
        parts = [f"udp {settings.webrtc_udp_port} (every viewer)"]
    if settings.webrtc_public_ips:
        parts.append("public " + ", ".join(settings.webrtc_public_ips))
    if settings.turn_urls:
        parts.append(f"TURN {', '.join(settings.turn_urls)} ({settings.turn_ttl_s} s credentials)")
    return "; ".join(parts)


def _shown_metrics(settings: Settings) -> str:
    shown = []
    if settings.metrics_token:
        shown.append(f"{settings.base_url}/metrics with the bearer token")
    if settings.metrics_port is not None:
        shown.append(f"http://{settings.metrics_host}:{settings.metrics_port}/metrics")
    return ", and ".join(shown) or "off (RETURNFEED_METRICS_TOKEN or --metrics-port)"


def _shown_relay(settings: Settings) -> str:
    if settings.redis_url is None:
        return "in-process"
    url = urlsplit(settings.redis_url)
    if url.password:
        url = url._replace(netloc=url.netloc.replace(f":{url.password}@", ":***@", 1))
    return f"redis {url.geturl()}"


if __name__ == "__main__":
    sys.exit(main())
