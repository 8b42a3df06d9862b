"""`returnfeed-cloud` as a person runs it: help, clear config errors, secrets kept secret."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.support.api import register
from tests.support.cloud import CLI, CloudServer
from tests.support.postgres import PostgresServer


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_help_names_the_flags() -> None:
    out = _run("--help")
    assert out.returncode == 0
    for flag in (
        "--database-url",
        "--port",
        "--data-dir",
        "--cors-origin",
        "RETURNFEED_JWT_SECRET",
    ):
        assert flag in out.stdout


def test_bad_configuration_is_a_clear_error(tmp_path: Path) -> None:
    out = _run("--data-dir", str(tmp_path), "--database-url", "mysql://x/y")
    assert out.returncode == 2 and "unsupported database URL" in out.stderr
    out = _run("--data-dir", str(tmp_path), "--login-rate", "lots")
    assert out.returncode == 2 and "COUNT/SECONDS" in out.stderr
    out = _run("--data-dir", str(tmp_path), env={"RETURNFEED_JWT_SECRET": "short"})
    assert out.returncode == 2 and "at least 32" in out.stderr
    out = _run(
        "--data-dir",
        str(tmp_path),
        "--database-url",
        "postgresql://nobody:hunter2secret@127.0.0.1:1/none",
    )
    assert out.returncode == 3 and "cannot migrate" in out.stderr
    assert "hunter2secret" not in out.stderr + out.stdout


def test_migrate_only(tmp_path: Path) -> None:
    out = _run("--data-dir", str(tmp_path), "--migrate-only")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "returnfeed.db").exists()


def test_secret_is_generated_private_and_never_logged(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        secret_file = server.data_dir / "jwt-secret"
        assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
        secret = secret_file.read_text().strip()
        with server.client() as c:
            register(c)
        # A restart keeps the secret, so logins survive it.
        server.stop()
        server.start()
        assert secret_file.read_text().strip() == secret
        with server.client() as c:
            assert c.get("/api/health").status_code == 200
        assert secret not in server.log_text()
        assert "http://127.0.0.1" in server.log_text() and "/docs" in server.log_text()
    finally:
        server.stop()


def test_secret_from_environment_keeps_tokens_valid_across_restarts(tmp_path: Path) -> None:
    env = {"RETURNFEED_JWT_SECRET": "s" * 40}
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", env=env)
    try:
        assert not (server.data_dir / "jwt-secret").exists()
        with server.client() as c:
            d = register(c)
        server.stop()
        server.start()
        with server.client() as c:
            assert c.get("/api/auth/me", headers=d.auth).status_code == 200
    finally:
        server.stop()


def test_group_readable_secret_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "d"
    data.mkdir()
    (data / "jwt-secret").write_text("x" * 40)
    os.chmod(data / "jwt-secret", 0o644)
    out = _run("--data-dir", str(data))
    assert out.returncode == 2 and "chmod 600" in out.stderr
    assert "x" * 40 not in out.stderr


def test_database_outage_is_reported_and_survived(tmp_path: Path) -> None:
    pg = PostgresServer(tmp_path)
    server = CloudServer(tmp_path, pg.create_database("rf_outage"))
    try:
        with server.client() as c:
            d = register(c)
            pg.stop()
            r = c.get("/api/health")
            assert r.status_code == 503
            assert r.json()["status"] == "degraded" and r.json()["database"]["ok"] is False
            r = c.get("/api/auth/me", headers=d.auth)
            assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable"
            assert "returnfeed_database_up 0.0" in server.metrics_text()
        assert server.alive()
    finally:
        server.stop()
        pg.stop()
