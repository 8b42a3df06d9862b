"""The database holds SRT passphrases, token hashes and password hashes: like the JWT
secret, it is the backend user's alone (0600 in a 0700 data dir)."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

from tests.support.api import create_session, register
from tests.support.cloud import CLI, CloudServer


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_data_dir_and_database_are_private(tmp_path: Path) -> None:
    server = CloudServer(tmp_path, f"sqlite:///{tmp_path / 'data' / 'returnfeed.db'}")
    try:
        with server.client() as c:
            create_session(c, register(c))  # writes: the WAL and its index exist now
        assert _mode(server.data_dir) == 0o700
        files = sorted(p.name for p in server.data_dir.iterdir())
        assert {"returnfeed.db", "returnfeed.db-wal", "jwt-secret"} <= set(files), files
        assert {name: _mode(server.data_dir / name) for name in files} == dict.fromkeys(
            files, 0o600
        )
    finally:
        server.stop()


def test_an_existing_readable_database_is_made_private(tmp_path: Path) -> None:
    db = tmp_path / "shared" / "returnfeed.db"
    db.parent.mkdir()
    db.touch()
    os.chmod(db, 0o644)
    out = subprocess.run(
        [str(CLI), "--data-dir", str(tmp_path / "d"), "--database-url", f"sqlite:///{db}",
         "--migrate-only"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert _mode(db) == 0o600
    assert _mode(tmp_path / "d") == 0o700
