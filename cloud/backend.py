"""The one object that owns the backend's long-lived resources for an app instance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cloud.auth.tokens import TokenSigner
from cloud.config import Settings
from cloud.db.engine import make_engine, make_sessionmaker
from cloud.metrics import Metrics
from cloud.ratelimit import RateLimiter


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

    @classmethod
    def create(cls, settings: Settings) -> Backend:
        engine = make_engine(settings.database_url)
        return cls(
            settings=settings,
            engine=engine,
            db=make_sessionmaker(engine),
            signer=TokenSigner(settings.jwt_secret),
            metrics=Metrics(),
            login_limiter=RateLimiter("login", settings.login_limit),
            register_limiter=RateLimiter("registration", settings.register_limit),
            redeem_limiter=RateLimiter("invite", settings.redeem_limit),
        )

    async def close(self) -> None:
        await self.engine.dispose()
