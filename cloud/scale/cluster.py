"""This process's part in a deployment of several: its id, the leases it holds, its edges."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cloud.gateway.ingest import Ingest, IngestAuth
from cloud.scale.edge import Edges
from cloud.scale.egress import pull_token
from cloud.scale.notices import Hear, Kind, Notices
from cloud.scale.owner import LEASE_S, Owner, Ownership

log = logging.getLogger(__name__)

CUT_OFF_S = 2 * LEASE_S


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    redis_url: str = field(repr=False)
    secret: str = field(repr=False)  # the deployment's JWT secret: pull tokens derive from it
    process_id: str = ""  # "": a random one
    srt_advertise: str | None = None  # "HOST:PORT"; None: public_host and the bound port
    public_host: str = "127.0.0.1"  # where directors send SRT to a single process


class Cluster:
    """Implements the ingest's IngestScale; the gateway's way to ownership and edges."""

    def __init__(
        self,
        config: ClusterConfig,
        auth: IngestAuth,
        has_viewers: Callable[[str], bool],
        refresh: Callable[[], Awaitable[None]],
        latency_ms: int,
        hear: Hear,
    ) -> None:
        self.process_id = config.process_id or secrets.token_hex(4)
        self._config = config
        self.ownership = Ownership(config.redis_url, Owner(self.process_id, ""))
        self.edges = Edges(self.ownership, auth, self.pull_token, has_viewers, refresh, latency_ms)
        self.notices = Notices(config.redis_url, self.process_id, hear)

    def pull_token(self, session_id: str) -> str:
        return pull_token(self._config.secret, session_id)

    def owns(self, session_id: str) -> bool:
        return self.ownership.owns(session_id)

    async def start(self, ingest: Ingest) -> None:
        """Once the ingest listens: its address is what the leases advertise."""
        port = ingest.address[1]
        advertise = self._config.srt_advertise or f"{self._config.public_host}:{port}"
        self.ownership.set_srt(advertise)
        self.ownership.on_lost = ingest.kick
        self.edges.bind(ingest)
        await self.ownership.start()
        await self.notices.start()
        log.info("process %s: SRT ingest advertised at %s", self.process_id, advertise)

    async def close(self) -> None:
        await self.notices.close()
        await self.edges.close()
        await self.ownership.close()

    async def session_ended(self, session_id: str) -> None:
        self.edges.stop(session_id)
        await self.ownership.release(session_id)

    async def tell(self, kind: Kind, session_id: str) -> None:
        """Tell every other process what the API did here (notices.py)."""
        await self.notices.tell(kind, session_id)

    def report(self) -> dict[str, object]:
        own = self.ownership
        renewed = own.renewed_at
        return {
            "process": self.process_id,
            "srt": own.me.srt,
            "owns": sorted(own.owned),
            "pulls": self.edges.following,
            "lease_renewed_s_ago": None
            if renewed is None
            else round(time.monotonic() - renewed, 1),
            "error": own.error,
            "cut_off": self.cut_off(),
            "notices": self.notices.listening.is_set(),
        }

    def cut_off(self) -> list[str]:
        """Sessions this process has viewers for but cannot pull: their owner holds its lease
        (a dead one's expires within LEASE_S) yet does not answer this process."""
        return self.edges.cut_off(CUT_OFF_S)
