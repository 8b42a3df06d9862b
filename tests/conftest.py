"""Fixtures that start real servers on loopback: PostgreSQL and the cloud backend."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.cloud import CloudServer
from tests.support.postgres import PostgresServer


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = PostgresServer(tmp_path_factory.mktemp("postgres"))
    yield server
    server.stop()


def database_url(
    kind: str, request: pytest.FixtureRequest, name: str, tmp: pytest.TempPathFactory
) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp.mktemp(name) / 'returnfeed.db'}"
    pg: PostgresServer = request.getfixturevalue("postgres")
    return pg.create_database(name)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CloudServer]:
    """One backend per database kind, shared by the API tests."""
    url = database_url(request.param, request, "rf_api", tmp_path_factory)
    server = CloudServer(tmp_path_factory.mktemp(f"cloud-{request.param}"), url)
    yield server
    server.stop()


@pytest.fixture
def client(cloud: CloudServer) -> Iterator[httpx.Client]:
    with cloud.client() as c:
        yield c
    assert cloud.alive(), f"the backend died:\n{cloud.log_text()[-3000:]}"
