"""Operations: liveness, readiness and Prometheus metrics.

`/api/health/live` answers while the event loop does and checks nothing else, so a process
is restarted only when it is stuck, never because the database or Redis is away.
`/api/health` is readiness: the database, Redis (with --redis-url), the SRT ingest and the
gateway, and 503 while this process cannot serve what it was started for, so that a load
balancer sends no one to it (a process whose SRT port is held by another, for one).

Redis away is "degraded" but still ready (200): every process loses it at once, the relay
and the video go on serving this process's own clients, and a 503 from all of them would
let a load balancer turn a partial outage into a total one.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from cloud.auth.deps import BackendDep
from cloud.backend import Backend
from cloud.errors import NotFound, Unauthorized

router = APIRouter(tags=["operations"])

REDIS_TIMEOUT_S = 1.0  # a PING on loopback or a LAN takes a millisecond; a load balancer waits


@dataclass(slots=True)
class Part:
    """One part's report; `problem` says why it fails readiness, None when it does not."""

    name: str
    report: dict[str, Any] = field(default_factory=dict)
    problem: str | None = None
    applies: bool = True  # False: turned off by configuration, so not a failure either
    needed: bool = True  # False: a problem degrades the process but leaves it ready

    @property
    def ok(self) -> bool:
        return self.problem is None


@router.get("/api/health/live")
async def live() -> dict[str, str]:
    """Liveness: answered by the event loop itself, whatever else is down."""
    return {"status": "ok"}


@router.get("/api/health")
async def health(backend: BackendDep) -> JSONResponse:
    """Readiness: 200 when every configured part works, else 503 with the problems."""
    parts = await check(backend)
    ready = is_ready(parts)
    body: dict[str, Any] = {"status": "ok" if all(p.ok for p in parts) else "degraded"}
    body["ready"] = ready
    body |= {part.name: {"ok": part.ok, **part.report} for part in parts}
    body["problems"] = [part.problem for part in parts if part.problem is not None]
    return JSONResponse(body, 200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(backend: BackendDep, authorization: Annotated[str, Header()] = "") -> Response:
    """On the API's port only with RETURNFEED_METRICS_TOKEN as a bearer token: session and
    user ids are in its labels."""
    token = backend.settings.metrics_token
    if not token:
        raise NotFound(
            "metrics are not served on this port: set RETURNFEED_METRICS_TOKEN, or use "
            "--metrics-port (docs/monitoring.md)"
        )
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.encode()):
        backend.metrics.auth_failures.labels("metrics_token").inc()
        raise Unauthorized("metrics need the metrics token as a bearer token")
    return await scrape(backend)


async def scrape(backend: Backend) -> Response:
    await check(backend)  # the readiness gauges are as of this scrape
    return Response(backend.metrics.render(), media_type="text/plain; version=0.0.4")


def scrape_app(backend: Backend) -> FastAPI:
    """What --metrics-port serves: GET /metrics with no token, and nothing else."""
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/metrics")
    async def metrics_port() -> Response:
        return await scrape(backend)

    return app


async def check(backend: Backend) -> list[Part]:
    """Check every part at once, and set the readiness gauges."""
    parts = list(await asyncio.gather(_database(backend), _redis(backend)))
    parts += [_srt(backend), _gateway(backend), _scale(backend)]
    gauges = backend.metrics
    for part in parts:
        if part.applies:
            gauges.ready_part.labels(part.name).set(1 if part.ok else 0)
    gauges.db_up.set(1 if parts[0].ok else 0)
    gauges.ready.set(1 if is_ready(parts) else 0)
    return parts


def is_ready(parts: list[Part]) -> bool:
    return all(part.ok or not part.needed for part in parts)


async def _database(backend: Backend) -> Part:
    part = Part("database", {"backend": backend.settings.database_backend})
    started = time.perf_counter()
    try:
        async with backend.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach it is what this endpoint reports
        part.report["error"] = type(exc).__name__
        part.problem = f"the database is unreachable ({type(exc).__name__})"
    else:
        part.report["latency_ms"] = _ms(time.perf_counter() - started)
    return part


async def _redis(backend: Backend) -> Part:
    if not backend.settings.redis_url:
        return Part("redis", {"state": "disabled"}, applies=False)
    part = Part("redis", needed=False)
    try:
        took = await asyncio.wait_for(backend.relay.deps.broker.ping(), REDIS_TIMEOUT_S)
    except Exception as exc:  # refused, reset, timed out: the relay cannot share sessions
        why = type(exc).__name__
        if isinstance(exc, TimeoutError):
            why = f"no answer to PING in {REDIS_TIMEOUT_S:g} s"
        part.report.update(state="unreachable", error=why)
        part.problem = f"Redis is unreachable ({why}): tally does not reach other processes"
    else:
        part.report.update(state="reachable", latency_ms=_ms(took))
    return part


def _srt(backend: Backend) -> Part:
    gateway = backend.gateway
    if gateway is None or not gateway.config.srt_enabled:
        return Part("srt", {"state": "disabled"}, applies=False)
    srt = gateway.srt_readiness
    part = Part("srt", {"state": srt.state, "host": srt.host, "port": srt.port})
    if srt.state != "listening":
        part.report["error"] = srt.error
        part.problem = f"the SRT ingest is not bound to {srt.host}:{srt.port}: {srt.error}"
    return part


def _gateway(backend: Backend) -> Part:
    gateway = backend.gateway
    if gateway is not None and gateway.running:
        return Part("gateway", {"state": "running"})
    return Part("gateway", {"state": "stopped"}, "the gateway is not running: no viewers")


def _scale(backend: Backend) -> Part:
    """Sessions shared with other processes (docs/scale.md): what this one owns and pulls.
    Leases it cannot renew degrade it like Redis away does: every process loses Redis at
    once, and its owned sessions move to a process that still reaches it."""
    cluster = backend.gateway.cluster if backend.gateway is not None else None
    if cluster is None:
        return Part("scale", {"state": "single"}, applies=False)
    part = Part("scale", {"state": "shared", **cluster.report()}, needed=False)
    error = cluster.ownership.error
    if error is not None:
        part.problem = f"SRT ingest leases not renewed: {error}"
    cut_off = cluster.cut_off()
    if cut_off:  # the owner is alive (its lease holds) but not to us: send viewers elsewhere
        part.needed = True
        part.problem = f"cannot pull sessions {', '.join(cut_off)} from their owner"
    return part


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
