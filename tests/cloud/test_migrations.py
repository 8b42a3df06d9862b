"""Migrations build the schema from an empty database and match the models exactly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
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


def _run_sql(url: str, *statements: str) -> list[Any]:
    """Each statement in one transaction; the rows of the last."""

    async def go() -> list[Any]:
        engine = make_engine(url)
        async with engine.begin() as conn:
            rows: list[Any] = []
            for statement in statements:
                result = await conn.execute(text(statement))
                rows = list(result) if result.returns_rows else []
        await engine.dispose()
        return rows

    return asyncio.run(go())


def test_sessions_on_air_keep_a_working_token_through_0003(empty_db: str) -> None:
    upgrade(empty_db, "0002")
    _run_sql(
        empty_db,
        "INSERT INTO users (id, email, display_name, password_hash, created_at) "
        "VALUES ('u1', 'a@example.com', 'A', 'x', CURRENT_TIMESTAMP)",
        "INSERT INTO sessions (id, owner_id, name, created_at, srt_passphrase, srt_publish_token)"
        " VALUES ('s1', 'u1', 'Show', CURRENT_TIMESTAMP, 'p', 'tok')",
        "INSERT INTO cameras (session_id, number, name) VALUES ('s1', 1, 'Cam 1')",
    )
    before = datetime.now(UTC)
    upgrade(empty_db)
    (row,) = _run_sql(
        empty_db, "SELECT srt_publish_token, srt_publish_token_expires_at FROM sessions"
    )
    expires = row[1] if isinstance(row[1], datetime) else datetime.fromisoformat(row[1])
    expires = expires.replace(tzinfo=UTC) if expires.tzinfo is None else expires
    # A day from the upgrade, like a token issued at the default TTL: the show is not cut.
    assert row[0] == "tok"
    assert timedelta(hours=23) < expires - before < timedelta(hours=25)
    # SQLite rebuilds the table for NOT NULL: the session's cameras must survive that.
    assert _run_sql(empty_db, "SELECT count(*) FROM cameras")[0][0] == 1
    downgrade(empty_db, "0002")
    assert _run_sql(empty_db, "SELECT srt_publish_token FROM sessions")[0][0] == "tok"


def test_links_made_before_0005_keep_both_layers(empty_db: str) -> None:
    upgrade(empty_db, "0004")
    _run_sql(
        empty_db,
        "INSERT INTO users (id, email, display_name, password_hash, created_at) "
        "VALUES ('u1', 'a@example.com', 'A', 'x', CURRENT_TIMESTAMP)",
        "INSERT INTO sessions (id, owner_id, name, created_at, srt_passphrase, srt_publish_token,"
        " srt_publish_token_expires_at)"
        " VALUES ('s1', 'u1', 'Show', CURRENT_TIMESTAMP, 'p', 'tok', CURRENT_TIMESTAMP)",
        "INSERT INTO invites (id, session_id, role, created_at, expires_at, uses)"
        " VALUES ('i1', 's1', 'camera', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)",
    )
    upgrade(empty_db)
    # A camera link handed out before stays as it was; the session's new links follow the
    # new defaults (camera links lo only).
    assert _run_sql(empty_db, "SELECT quality FROM invites")[0][0] == "auto"
    row = _run_sql(empty_db, "SELECT camera_quality, viewer_quality FROM sessions")[0]
    assert tuple(row) == ("lo", "auto")
    downgrade(empty_db, "0004")
    assert _run_sql(empty_db, "SELECT id FROM invites")[0][0] == "i1"


def test_sessions_made_before_0006_keep_recording(empty_db: str) -> None:
    upgrade(empty_db, "0005")
    _run_sql(
        empty_db,
        "INSERT INTO users (id, email, display_name, password_hash, created_at) "
        "VALUES ('u1', 'a@example.com', 'A', 'x', CURRENT_TIMESTAMP)",
        "INSERT INTO sessions (id, owner_id, name, created_at, srt_passphrase, srt_publish_token,"
        " srt_publish_token_expires_at)"
        " VALUES ('s1', 'u1', 'Show', CURRENT_TIMESTAMP, 'p', 'tok', CURRENT_TIMESTAMP)",
    )
    upgrade(empty_db)
    assert bool(_run_sql(empty_db, "SELECT recording FROM sessions")[0][0]) is True
    downgrade(empty_db, "0005")
    assert _run_sql(empty_db, "SELECT id FROM sessions")[0][0] == "s1"
