"""Builds the FastAPI application around one Backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from cloud.api import (
    accounts,
    audience,
    health,
    hls,
    invites,
    oidc,
    recording_switch,
    recordings,
    sessions,
    srt,
)
from cloud.api.health import scrape_app
from cloud.backend import Backend
from cloud.config import Settings
from cloud.errors import install_error_handlers
from cloud.gateway import whep
from cloud.headers import SecurityHeaders
from cloud.limits import BodySizeLimit
from cloud.logs import RequestIds
from cloud.metrics import MetricsMiddleware
from cloud.metrics_port import MetricsListener
from cloud.pages import router as pages_router
from cloud.relay import endpoint as relay_endpoint
from cloud.tls import ca_page

DESCRIPTION = """
The ReturnFeed cloud backend. Directors register, log in, create sessions with cameras
and hand out invite links; camera phones and viewers redeem those links for a
participant token that carries only their role. Every error body is
`{"error": {"code", "message", "details"}}`.
"""


def create_app(settings: Settings) -> FastAPI:
    backend = Backend.create(settings)
    scraper = (  # bound now: a port in use stops the start (MetricsPortInUse)
        MetricsListener(settings.metrics_host, settings.metrics_port, scrape_app(backend))
        if settings.metrics_port is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await backend.start()
        if scraper is not None:
            await scraper.start()
        yield
        await oidc_providers.aclose()
        if scraper is not None:
            await scraper.close()
        await backend.close()

    app = FastAPI(title="ReturnFeed", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.backend = backend
    oidc_providers = app.state.oidc = oidc.OidcProviders(settings.oidc_providers)
    install_error_handlers(app)
    for router in (
        accounts.router,
        oidc.router,
        sessions.router,
        srt.router,
        invites.router,
        health.router,
        recordings.router,
        recording_switch.router,
        hls.router,
        audience.router,
    ):
        app.include_router(router)
    app.include_router(relay_endpoint.router)  # WebSocket /api/relay/{session_id}
    app.include_router(pages_router)
    app.include_router(ca_page.router)  # /ca and /ca.crt with --tls-local-ca (docs/deploy.md)
    app.include_router(whep.router)  # WHEP /whep/{session_id} for viewers (docs/gateway.md)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type"],
            expose_headers=["Location"],
        )
    # Outermost, so refused and failed requests are counted too.
    app.add_middleware(MetricsMiddleware, metrics=backend.metrics)
    # Outside even that: every line a request logs carries its id (cloud/logs.py).
    app.add_middleware(RequestIds)
    # Outermost, so every answer carries them, refusals by the middlewares included.
    app.add_middleware(SecurityHeaders)
    return app
