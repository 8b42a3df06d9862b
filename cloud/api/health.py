"""Operations: health with the database status, and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from cloud.auth.deps import BackendDep

router = APIRouter(tags=["operations"])


@router.get("/api/health")
async def health(backend: BackendDep) -> JSONResponse:
    started = time.perf_counter()
    database: dict[str, Any] = {"backend": backend.settings.database_backend}
    try:
        async with backend.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        database.update(ok=True, latency_ms=round((time.perf_counter() - started) * 1000, 2))
    except Exception as exc:  # any failure to reach it is what this endpoint reports
        database.update(ok=False, error=type(exc).__name__)
    backend.metrics.db_up.set(1 if database["ok"] else 0)
    status = "ok" if database["ok"] else "degraded"
    return JSONResponse({"status": status, "database": database}, 200 if database["ok"] else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics(backend: BackendDep) -> Response:
    return Response(backend.metrics.render(), media_type="text/plain; version=0.0.4")
