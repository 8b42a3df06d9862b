"""Shared steps of the page tests: a show with cameras, invites, screenshots, and the
director's end of the relay."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Page, expect
from sqlalchemy import update
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from cloud.config import normalize_database_url
from cloud.db.engine import make_engine
from cloud.db.models import Invite
from tests.support.api import Director, invite
from tests.support.cloud import CloudServer

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


class DirectorDesk:
    """The director's end of the relay, driven by the test."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._beat = 0.0
        self.send(type="hello", role="director", protocol=1, capabilities=[])
        self.snapshot = self.wait_for("snapshot")

    def send(self, **msg: Any) -> None:
        self.ws.send(json.dumps({"v": 1, **msg}))

    def wait_for(self, kind: str, timeout: float = 8.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if time.monotonic() - self._beat > 2.5:  # the relay drops the silent after 10 s
                self._beat = time.monotonic()
                self.send(type="heartbeat", ts=time.time() * 1000)
            try:
                msg: dict[str, Any] = json.loads(self.ws.recv(timeout=min(left, 1.0)))
            except TimeoutError:
                continue
            if msg["type"] == kind:
                return msg
            assert msg["type"] != "error", msg
        raise AssertionError(f"no {kind} from the relay within {timeout} s")

    def bus(self, program: list[str], preview: list[str]) -> int:
        """Switch; returns the seq of the change once the relay has made it."""
        self.send(type="bus", program=program, preview=preview)
        seq: int = self.wait_for("delta")["seq"]
        return seq


@contextmanager
def director_desk(cloud: CloudServer, director: Director, sid: str) -> Iterator[DirectorDesk]:
    url = cloud.base_url.replace("http", "ws", 1) + f"/api/relay/{sid}"
    with connect(
        url,
        additional_headers=director.auth,
        subprotocols=[Subprotocol("returnfeed.v1")],
        open_timeout=5,
    ) as ws:
        yield DirectorDesk(ws)


def live_at(page: Page, seq: int, lamp: str) -> None:
    body = page.locator("body")
    expect(body).to_have_attribute("data-seq", str(seq))
    expect(body).to_have_attribute("data-state", "live")
    expect(body).to_have_attribute("data-lamp", lamp)
