"""Shared steps of the page tests: a show with cameras, invites, screenshots."""

from __future__ import annotations

import asyncio
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page
from sqlalchemy import update

from cloud.config import normalize_database_url
from cloud.db.engine import make_engine
from cloud.db.models import Invite
from tests.support.api import Director, invite

SHOTS_FOR_REVIEW = Path("/tmp/returnfeed-shots")
CAMERAS = [
    {"number": 1, "name": "Stage left", "ndi_source": "ndi:CAM1"},
    {"number": 2, "name": "Jib", "ndi_source": "ndi:CAM2"},
    {"number": 3, "name": "Handheld", "ndi_source": "ndi:CAM3"},
]


def new_show(
    api: httpx.Client, director: Director, camera: int | None = 2
) -> tuple[str, dict[str, Any]]:
    """A session whose cameras map to NDI sources, and a camera invite for it."""
    body = {"name": "Evening show", "cameras": CAMERAS}
    r = api.post("/api/sessions", json=body, headers=director.auth)
    assert r.status_code == 201, r.text
    sid: str = r.json()["id"]
    return sid, invite(api, director, sid, "camera", camera=camera)


def screenshot(page: Page, folder: Path, name: str, review: bool = False) -> Path:
    """Kept under pytest's tmp dir; `review` also copies it where people look."""
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot))
    if review:
        SHOTS_FOR_REVIEW.mkdir(exist_ok=True)
        shutil.copy(shot, SHOTS_FOR_REVIEW / shot.name)
    return shot


def expire_invite(database_url: str, invite_id: str) -> None:
    async def run() -> None:
        engine = make_engine(normalize_database_url(database_url))
        async with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(seconds=1)
            await conn.execute(update(Invite).where(Invite.id == invite_id).values(expires_at=past))
        await engine.dispose()

    # Playwright's sync API owns this thread's event loop: run this one on another thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()
