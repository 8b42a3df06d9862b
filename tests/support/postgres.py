"""A throwaway PostgreSQL cluster from Debian's binaries, private to one test run."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.procs import Proc, ProcessFailed, free_port, wait_until


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise ProcessFailed("PostgreSQL server binaries are missing: apt-get install postgresql")
    return Path(found[-1]).parent


class PostgresServer:
    def __init__(self, workdir: Path) -> None:
        self._bin = _bindir()
        self.port = free_port()
        # Outside pytest's tmp tree, which is private to root: initdb refuses to run as
        # root, so the cluster belongs to the postgres user that Debian's package provides.
        self._dir = Path(tempfile.mkdtemp(prefix="returnfeed-pg-"))
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            shutil.chown(self._dir, self._user)
        data = self._dir / "data"
        self._run(
            [
                str(self._bin / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ]
        )
        self.proc = Proc(
            [
                str(self._bin / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self._dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
            ],
            workdir / "postgres.log",
            user=self._user,
        )
        wait_until(self._ready, 30, "PostgreSQL to accept connections")

    def _run(self, argv: list[str]) -> None:
        cmd = ["runuser", "-u", self._user, "--", *argv] if self._user else argv
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise ProcessFailed(f"{argv[0]} failed: {done.stderr or done.stdout}")

    def _ready(self) -> bool:
        if not self.proc.alive():
            raise ProcessFailed(f"postgres exited:\n{self.proc.tail()}")
        done = subprocess.run(
            [str(self._bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def create_database(self, name: str) -> str:
        self._run(
            [
                str(self._bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ]
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        self.proc.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
