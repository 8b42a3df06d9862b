"""The one object that owns the backend's long-lived resources for an app instance."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.auth.audience import AudienceEpochs
from cloud.auth.tokens import TokenSigner
from cloud.config import Settings
from cloud.db.engine import make_engine, make_sessionmaker
from cloud.gateway import Gateway, GatewayConfig
from cloud.gateway.iceports import PortRange
from cloud.gateway.turn import TurnRest
from cloud.metrics import Metrics
from cloud.ratelimit import LoginGuard, RateLimiter
from cloud.record.recorder import Recorder
from cloud.record.store import RecordingStore
from cloud.relay.broker import Broker, InProcessBroker
from cloud.relay.metrics import RelayMetrics
from cloud.relay.redis_broker import RedisBroker
from cloud.relay.relay import Relay
from cloud.relay.room import RoomDeps
from cloud.relay.store import TallyStore
from cloud.scale.cluster import ClusterConfig
from media.send.target import fec_config


@dataclass(slots=True)
class Backend:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    metrics: Metrics
    login_limiter: RateLimiter
    register_limiter: RateLimiter
    redeem_limiter: RateLimiter
    login_guard: LoginGuard
    relay: Relay
    gateway: Gateway | None
    recorder: Recorder | None = None  # with the gateway, unless --no-recording
    audience: AudienceEpochs = field(default_factory=AudienceEpochs)  # audience links' check

    @classmethod
    def create(cls, settings: Settings) -> Backend:
        engine = make_engine(settings.database_url)
        db = make_sessionmaker(engine)
        metrics = Metrics()
        relay = _relay(settings, db, metrics)
        gateway = _gateway(settings, db, metrics, relay)
        recorder = _recorder(settings, metrics) if settings.recording else None
        gateway.listener = recorder
        if recorder is not None:
            recorder.request_keyframe = gateway.request_keyframe
        return cls(
            settings=settings,
            engine=engine,
            db=db,
            signer=TokenSigner(settings.jwt_secret),
            metrics=metrics,
            login_limiter=RateLimiter("login", settings.login_limit),
            register_limiter=RateLimiter("registration", settings.register_limit),
            redeem_limiter=RateLimiter("invite", settings.redeem_limit),
            login_guard=LoginGuard(
                settings.login_account_limit, settings.login_account_total_limit
            ),
            relay=relay,
            gateway=gateway,
            recorder=recorder,
        )

    async def start(self) -> None:
        await self.relay.start()
        if self.gateway is not None:
            await self.gateway.start()

    async def close(self) -> None:
        if self.gateway is not None:
            await self.gateway.close()
        if self.recorder is not None:
            await self.recorder.close()
        await self.relay.close()
        await self.engine.dispose()


def _recorder(settings: Settings, metrics: Metrics) -> Recorder:
    root = settings.recordings_dir or settings.data_dir / "recordings"
    store = RecordingStore(root, settings.recording_max_bytes, settings.recording_max_age_s)
    return Recorder(store, metrics.registry)


def _relay(settings: Settings, db: async_sessionmaker[AsyncSession], metrics: Metrics) -> Relay:
    relay_metrics = RelayMetrics(metrics.registry)
    broker: Broker = (
        RedisBroker(settings.redis_url, relay_metrics) if settings.redis_url else InProcessBroker()
    )
    deps = RoomDeps(
        store=TallyStore(db),
        broker=broker,
        metrics=relay_metrics,
        heartbeat_s=settings.relay_heartbeat_s,
        timeout_s=settings.relay_timeout_s,
    )
    return Relay(deps)


def _gateway(
    settings: Settings, db: async_sessionmaker[AsyncSession], metrics: Metrics, relay: Relay
) -> Gateway:
    config = GatewayConfig(
        srt_enabled=settings.srt_enabled,
        srt_host=settings.srt_listen_host,
        srt_port=settings.srt_port,
        srt_latency_ms=settings.srt_latency_ms,
        srt_fec=fec_config(settings.srt_fec),
        ice_servers=settings.ice_servers,
        udp_ports=PortRange(*settings.webrtc_udp_ports) if settings.webrtc_udp_ports else None,
        udp_port=settings.webrtc_udp_port,
        public_ips=settings.webrtc_public_ips,
        turn=(
            TurnRest(settings.turn_urls, settings.turn_secret, settings.turn_ttl_s)
            if settings.turn_urls
            else None
        ),
        # A backend on loopback serves browsers on this machine: offer 127.0.0.1 as well.
        loopback_candidates=settings.host in ("127.0.0.1", "localhost", "::1"),
        max_viewers_per_session=settings.max_viewers_per_session,
        max_viewers_per_token=settings.max_viewers_per_token,
        connect_timeout_s=settings.webrtc_connect_timeout_s,
        cluster=(
            ClusterConfig(
                settings.redis_url,
                settings.jwt_secret,
                settings.process_id,
                settings.srt_advertise,
                settings.srt_public_host,
            )
            if settings.redis_url
            else None
        ),
    )
    return Gateway(config, metrics.registry, db, relay.request_keyframe)
