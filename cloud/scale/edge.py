"""Edges: a process serving viewers of a session another process owns pulls its layers.

A viewer's page asking for the session's status, or a WHEP offer, on a process whose feed
has no publisher makes it follow the session (`want`): while the session has viewers here,
or was asked about in the last LINGER_S, each layer is pulled from the owner that Redis
names (SRT caller, mode request, the deployment's pull token, the session's passphrase) and
handed to this process's ingest as the layer's publisher (`Ingest.pull`), so the gateway's
feed, fast start and layer logic are the same as on the owner. A pull that ends (the owner
died, the session moved, the layer is not published) is tried again every RETRY_S from a
fresh read of the owner. A process that finds itself the owner stops following: the
director publishes to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from cloud.gateway.ingest import Ingest, IngestAuth, pull_connection
from cloud.gateway.units import LAYERS
from cloud.scale.owner import Ownership, OwnershipUnavailable
from media.srt import RejectReason, SrtConnection, SrtError, SrtRejected, StreamId

log = logging.getLogger(__name__)

T = TypeVar("T")
RETRY_S = 0.5
LINGER_S = 10.0  # a session asked about, or left by its last viewer, is pulled this long more


async def in_thread(work: Callable[[], T], name: str) -> T:
    """Run blocking `work` on a thread of its own: a pull holds one for as long as it lasts,
    which would starve the loop's default executor."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = work()
        except BaseException as exc:  # handed to the awaiting task
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, None, exc)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await done


class _Follow:
    """One session followed from its owner: a pull loop per layer."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.until = 0.0  # monotonic: followed at least until then
        self.stopped = False
        self.conns: dict[str, SrtConnection] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.failing_since: float | None = None  # calls to a named owner fail since then

    def stop(self) -> None:
        self.stopped = True
        for conn in list(self.conns.values()):
            conn.close()  # the pull's demux ends, and with it its thread


class Edges:
    def __init__(
        self,
        ownership: Ownership,
        auth: IngestAuth,
        pull_token: Callable[[str], str],
        has_viewers: Callable[[str], bool],
        refresh: Callable[[], Awaitable[None]],
        latency_ms: int,
    ) -> None:
        self._ownership = ownership
        self._auth = auth
        self._pull_token = pull_token
        self._has_viewers = has_viewers
        self._refresh = refresh
        self._latency_ms = latency_ms
        self._ingest: Ingest | None = None
        self._follows: dict[str, _Follow] = {}

    def bind(self, ingest: Ingest) -> None:
        self._ingest = ingest

    @property
    def following(self) -> list[str]:
        return sorted(self._follows)

    def cut_off(self, after_s: float) -> list[str]:
        """Sessions whose named owner this process has failed to reach for `after_s`."""
        now = time.monotonic()
        return sorted(
            f.session_id
            for f in self._follows.values()
            if f.failing_since is not None and now - f.failing_since >= after_s
        )

    def want(self, session_id: str) -> None:
        """Follow the session for at least LINGER_S more (a status poll, an offer)."""
        if self._ingest is None:
            return  # no ingest here: nothing to publish pulled layers into
        follow = self._follows.get(session_id)
        if follow is None or follow.stopped:
            follow = self._follows[session_id] = _Follow(session_id)
            follow.tasks = [
                asyncio.create_task(self._pull_forever(follow, layer)) for layer in LAYERS
            ]
        follow.until = time.monotonic() + LINGER_S

    def stop(self, session_id: str) -> None:
        follow = self._follows.pop(session_id, None)
        if follow is not None:
            follow.stop()
            for task in follow.tasks:
                task.cancel()

    async def close(self) -> None:
        for session_id in list(self._follows):
            self.stop(session_id)

    def _wanted(self, follow: _Follow) -> bool:
        if follow.stopped:
            return False
        if self._has_viewers(follow.session_id):
            follow.until = time.monotonic() + LINGER_S
            return True
        return time.monotonic() < follow.until

    async def _pull_forever(self, follow: _Follow, layer: str) -> None:
        session_id = follow.session_id
        try:
            while self._wanted(follow):
                try:
                    owner = await self._ownership.owner(session_id)
                except OwnershipUnavailable as exc:
                    log.warning("edge %s/%s: owner unknown: %s", session_id, layer, exc)
                    owner = None
                me = self._ownership.me
                if owner is not None and owner.process == me.process:
                    log.info("session %s is ours now: not pulling %s any more", session_id, layer)
                    return
                # At our own address: an earlier run of this process, whose lease the
                # director's next credentials read hands to us (Ownership.claim).
                if owner is not None and owner.srt != me.srt:
                    await self._pull(follow, layer, owner.srt_address)
                await asyncio.sleep(RETRY_S)
        finally:
            if self._follows.get(session_id) is follow and all(
                t.done() or t is asyncio.current_task() for t in follow.tasks
            ):
                follow.stop()
                del self._follows[session_id]

    async def _pull(self, follow: _Follow, layer: str, address: tuple[str, int]) -> None:
        ingest, creds = self._ingest, self._auth.get(follow.session_id)
        if creds is None:  # made through another process: the database has it
            await self._refresh()
            creds = self._auth.get(follow.session_id)
        if ingest is None or creds is None:
            log.info("edge: no live session %s to pull", follow.session_id)
            return
        sid = StreamId(follow.session_id, layer, self._pull_token(follow.session_id), "request")
        name = f"srt-edge-{sid.resource}"
        try:
            conn = await in_thread(
                lambda: pull_connection(address, sid, creds.passphrase, self._latency_ms), name
            )
        except SrtError as exc:
            if isinstance(exc, SrtRejected) and exc.reason_code == RejectReason.NOTFOUND:
                # The owner answers, but nobody publishes the layer there (yet): not cut off.
                log.debug("edge pull of %s: not published at %s:%s", sid.resource, *address)
                follow.failing_since = None
                return
            log.info("edge pull of %s from %s:%s failed: %s", sid.resource, *address, exc)
            if follow.failing_since is None:
                follow.failing_since = time.monotonic()
            return
        follow.failing_since = None
        if not self._wanted(follow):
            conn.close()
            return
        follow.conns[layer] = conn
        log.info("edge pulls %s from %s:%s", sid.resource, *address)
        pulling = asyncio.ensure_future(in_thread(lambda: ingest.pull(sid, conn), name))
        try:
            while not pulling.done():
                await asyncio.wait([pulling], timeout=1.0)
                if not self._wanted(follow):
                    conn.close()  # the last viewer left a while ago: the pull ends
        finally:
            follow.conns.pop(layer, None)
            conn.close()
        log.info("edge pull of %s from %s:%s ended", sid.resource, *address)
