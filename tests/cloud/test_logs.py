"""`--log-format json|text` and request ids, against the real `returnfeed-cloud` process:
every JSON line parses and has its fields; a request's X-Request-ID comes back and is on
its lines; a malformed or hostile one is replaced, and the backend stays up."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cloud.db.engine import make_engine
from cloud.logs import Redactor, secrets_in
from tests.cloud.gateway.helpers import run_async
from tests.support.cloud import CLI, CloudServer
from tests.support.jsonlog import json_lines
from tests.support.procs import wait_until


@pytest.fixture(scope="module")
def json_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CloudServer]:
    workdir = tmp_path_factory.mktemp("json-logs")
    server = CloudServer(
        workdir, f"sqlite:///{workdir / 'db.sqlite'}", env={"RETURNFEED_LOG_FORMAT": "json"}
    )
    yield server
    server.stop()


def lines_of(server: CloudServer, rid: str) -> list[dict[str, Any]]:
    return [line for line in json_lines(server.log_text()) if line.get("request_id") == rid]


def test_a_well_formed_request_id_is_kept_and_on_the_access_line(json_cloud: CloudServer) -> None:
    with json_cloud.client() as c:
        r = c.get("/api/health", headers={"X-Request-ID": "proxy-7f3a.1:2_x"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "proxy-7f3a.1:2_x"
    wait_until(lambda: bool(lines_of(json_cloud, "proxy-7f3a.1:2_x")), 5, "the access line")
    (access,) = lines_of(json_cloud, "proxy-7f3a.1:2_x")
    assert access["logger"] == "uvicorn.access"
    assert (access["method"], access["path"], access["status"]) == ("GET", "/api/health", 200)
    assert access["time"].endswith("+00:00") and access["level"] == "info"


@pytest.mark.parametrize(
    "sent",
    ["", "x" * 65, "two words", "line\\nbreak", '{"level":"error"}', "-starts-with-dash", "é"],
)
def test_a_malformed_request_id_is_replaced(json_cloud: CloudServer, sent: str) -> None:
    with json_cloud.client() as c:
        r = c.get("/api/health", headers={"X-Request-ID": sent.encode("utf-8")})
    assert r.status_code == 200
    made = r.headers["x-request-id"]
    assert made != sent and len(made) == 16 and int(made, 16) >= 0
    wait_until(lambda: bool(lines_of(json_cloud, made)), 5, "the access line")
    assert sent not in [line.get("request_id") for line in json_lines(json_cloud.log_text())]
    assert json_cloud.alive()


def test_without_one_each_request_gets_its_own(json_cloud: CloudServer) -> None:
    with json_cloud.client() as c:
        ids = {c.get("/api/health").headers["x-request-id"] for _ in range(3)}
        refused = c.get("/api/auth/me")
    assert len(ids) == 3
    assert refused.status_code == 401 and refused.headers["x-request-id"] not in ids


def test_start_up_summary_is_json_too(json_cloud: CloudServer) -> None:
    messages = [line["message"] for line in json_lines(json_cloud.log_text())]
    assert f"ReturnFeed cloud on {json_cloud.base_url}" in messages


def test_text_lines_end_with_the_request_id(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with server.client() as c:
            c.get("/api/health", headers={"X-Request-ID": "text-mode-1"})
        wait_until(lambda: "[request text-mode-1]" in server.log_text(), 5, "the access line")
        line = next(li for li in server.log_text().splitlines() if "text-mode-1" in li)
        assert line.startswith("INFO uvicorn.access: ") and '"GET /api/health HTTP/1.1" 200' in line
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("env", "argv", "said"),
    [
        ({"RETURNFEED_LOG_FORMAT": "yaml"}, [], "RETURNFEED_LOG_FORMAT='yaml': use text or json"),
        ({}, ["--log-format", "xml"], "argument --log-format: invalid choice: 'xml'"),
    ],
)
def test_an_unknown_log_format_stops_the_start(
    tmp_path: Path, env: dict[str, str], argv: list[str], said: str
) -> None:
    done = subprocess.run(
        [str(CLI), "--data-dir", str(tmp_path), *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert said in done.stderr


def test_help_names_the_default_format() -> None:
    done = subprocess.run([str(CLI), "--help"], capture_output=True, text=True, timeout=30)
    assert "--log-format {text,json}" in done.stdout
    assert "text (default:" in " ".join(done.stdout.split())


def test_the_backstop_masks_what_looks_like_a_secret() -> None:
    redact = Redactor(["the-metrics-token-1234"])
    cases = {
        "login of dir@example.com": "login of ***",
        "Authorization: Bearer abc.def-ghi-jkl": "Authorization: Bearer ***",
        "subprotocol bearer.tok3n-0123456789": "subprotocol bearer.***",
        "metrics with the bearer token": "metrics with the bearer token",
        '{"passphrase": "hunter2hunter2"}': '{"passphrase": "***"}',
        "#!::r=abc/hi,m=publish,s=Zm9vYmFy": "#!::r=abc/hi,m=publish,s=***",
        "jwt eyJhbGciOi.eyJzdWIi.c2ln here": "jwt *** here",
        "scraped with the-metrics-token-1234": "scraped with ***",
        "GET /api/health?token=…&v=…": "GET /api/health?token=…&v=…",
        "SRT publisher abc/hi from 127.0.0.1:4000": "SRT publisher abc/hi from 127.0.0.1:4000",
    }
    assert {text: redact(text) for text in cases} == cases


def test_the_backstop_knows_the_processs_secret_settings() -> None:
    env = {
        "RETURNFEED_OIDC_GOOGLE_SECRET": "client-secret-of-google",
        "RETURNFEED_METRICS_TOKEN": "scrape-token-123456",
        "RETURNFEED_PORT": "8000",
        "HOME": "/root",
    }
    redact = Redactor(secrets_in(env))
    line = "GOCSPX client-secret-of-google, scrape-token-123456 on 8000 in /root"
    assert redact(line) == "GOCSPX ***, *** on 8000 in /root"


def test_a_failed_statement_does_not_quote_its_parameters(tmp_path: Path) -> None:
    """Database errors reach the log (an unexpected error's traceback): a passphrase or
    email bound into a statement must not be in their text."""

    async def fail() -> str:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        try:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO nowhere VALUES (:p)"), {"p": "pass-phrase-9"})
        except SQLAlchemyError as exc:
            return str(exc)
        finally:
            await engine.dispose()
        raise AssertionError("the insert into a missing table succeeded")

    said = run_async(fail())
    assert "no such table: nowhere" in said and "pass-phrase-9" not in said


def test_an_unexpected_failure_still_answers_with_its_request_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Starlette sends a 500 from its outermost middleware, past RequestIds: the error
    handler names the id itself, the one on its ERROR line."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from cloud.errors import install_error_handlers
    from cloud.logs import RequestIds

    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestIds)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/boom", headers={"X-Request-ID": "support-ticket-42"})
    assert r.status_code == 500 and r.json()["error"]["code"] == "internal_error"
    assert r.headers["x-request-id"] == "support-ticket-42"
    (line,) = [rec for rec in caplog.records if rec.levelname == "ERROR"]
    assert "unhandled error on GET /boom" in line.getMessage()
