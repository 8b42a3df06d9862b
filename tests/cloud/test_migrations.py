"""Migrations build the schema from an empty database and match the models exactly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from cloud.config import normalize_database_url
from cloud.db.engine import make_engine
from cloud.db.migrate import downgrade, upgrade
from cloud.db.models import Base
from tests.support.postgres import PostgresServer


def _inspect(url: str) -> tuple[list[Any], list[str]]:
    def run(conn: Connection) -> tuple[list[Any], list[str]]:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        return diff, sorted(inspect(conn).get_table_names())

    async def go() -> tuple[list[Any], list[str]]:
        engine = make_engine(url)
        async with engine.connect() as conn:
            result = await conn.run_sync(run)
        await engine.dispose()
        return result

    return asyncio.run(go())


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return normalize_database_url(f"sqlite:///{tmp_path / 'm.db'}")
    pg: PostgresServer = request.getfixturevalue("postgres")
    return normalize_database_url(pg.create_database(f"rf_mig_{tmp_path.name[-8:]}".lower()))


def test_up_down_up_from_empty(empty_db: str) -> None:
    upgrade(empty_db)
    diff, tables = _inspect(empty_db)
    assert diff == [], f"models and migrations disagree: {diff}"
    assert {"users", "sessions", "cameras", "invites", "participants"} <= set(tables)

    downgrade(empty_db, "base")
    assert _inspect(empty_db)[1] == ["alembic_version"]
    upgrade(empty_db)
    assert _inspect(empty_db)[0] == []
