"""`returnfeed-cloud`: migrate the database, then serve the API with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import uvicorn
from sqlalchemy.engine import make_url

from cloud.app import create_app
from cloud.config import (
    ConfigError,
    RateLimit,
    Settings,
    default_data_dir,
    env_int,
    env_value,
    environ,
    normalize_database_url,
)
from cloud.db.migrate import upgrade
from cloud.secret_store import SecretError, load_or_create_secret

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
    p.add_argument(
        "--forwarded-allow-ips",
        default=env_value(env, "FORWARDED_ALLOW_IPS") or "127.0.0.1",
        help="proxies trusted for X-Forwarded-For (default 127.0.0.1)",
    )
    p.add_argument(
        "--log-level",
        default=env_value(env, "LOG_LEVEL") or "info",
        choices=["critical", "error", "warning", "info", "debug"],
    )
    p.add_argument(
        "--migrate-only",
        action="store_true",
        help="bring the database schema up to date, then exit",
    )
    return p


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str]) -> Settings:
    data_dir: Path = (args.data_dir or default_data_dir()).expanduser()
    data_dir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{data_dir / 'returnfeed.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=normalize_database_url(url),
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        cors_origins=tuple(args.cors_origins),
        jwt_secret=load_or_create_secret(data_dir, env_value(env, "JWT_SECRET")),
        max_body_bytes=args.max_body_bytes,
        login_limit=RateLimit.parse(args.login_rate),
        register_limit=RateLimit.parse(args.register_rate),
        redeem_limit=RateLimit.parse(args.redeem_rate),
        forwarded_allow_ips=args.forwarded_allow_ips,
        log_level=args.log_level,
    )


def main(argv: Sequence[str] | None = None) -> int:
    env = environ()
    args = build_parser(env).parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        settings = settings_from_args(args, env)
    except (ConfigError, SecretError, OSError) as exc:
        print(f"returnfeed-cloud: {exc}", file=sys.stderr)
        return 2
    shown_db = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        upgrade(settings.database_url)
    except Exception as exc:  # a database we cannot reach or migrate ends the start, clearly
        print(f"returnfeed-cloud: cannot migrate {shown_db}: {exc}", file=sys.stderr)
        return 3
    if args.migrate_only:
        print(f"database {shown_db} is up to date")
        return 0
    base = settings.base_url
    print(f"ReturnFeed cloud on {base}", flush=True)
    print(f"  API docs  {base}/docs", flush=True)
    print(f"  health    {base}/api/health", flush=True)
    print(f"  database  {shown_db}", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        proxy_headers=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
