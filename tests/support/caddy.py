"""Real Caddy (Debian's /usr/bin/caddy) in front of a backend, serving the shipped
deploy/Caddyfile unchanged with its own CA (`local_certs`, the same as `tls internal`) on
free loopback ports. Nothing is installed into any system trust store."""

from __future__ import annotations

import os
import socket
import ssl
from pathlib import Path

from tests.support.procs import Proc, ProcessFailed, free_port, require_binary, wait_until

DEPLOY_CADDYFILE = Path(__file__).resolve().parents[2] / "deploy" / "Caddyfile"


class Caddy:
    def __init__(self, workdir: Path, site: str, backend: str) -> None:
        self.workdir = workdir
        self.site = site
        self.https_port = free_port()
        self.http_port = free_port()
        storage = workdir / "caddy-data"
        config = workdir / "Caddyfile"
        config.write_text(
            "{\n"
            "\tadmin off\n"
            "\tskip_install_trust\n"
            "\tlocal_certs\n"
            f"\thttp_port {self.http_port}\n"
            f"\thttps_port {self.https_port}\n"
            f"\tstorage file_system {storage}\n"
            "}\n"
            f"import {DEPLOY_CADDYFILE}\n"
        )
        self.root_ca = storage / "pki" / "authorities" / "local" / "root.crt"
        env = {
            **os.environ,
            "HOME": str(workdir),
            "XDG_CONFIG_HOME": str(workdir / "config"),
            "XDG_DATA_HOME": str(workdir / "data"),
            "RETURNFEED_DOMAIN": site,
            "RETURNFEED_BACKEND": backend,
        }
        caddy = require_binary("/usr/bin/caddy", "caddy")
        self.proc = Proc(
            [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
            workdir / "caddy.log",
            env=env,
        )
        wait_until(self._serving, 30, f"caddy for {site} on {self.https_port}")

    def _serving(self) -> bool:
        if not self.proc.alive():
            raise ProcessFailed(f"caddy exited:\n{self.proc.tail()}")
        if not self.root_ca.exists():
            return False
        ctx = ssl.create_default_context(cafile=str(self.root_ca))
        try:  # a full handshake for the site's name: its certificate is issued
            with (
                socket.create_connection(("127.0.0.1", self.https_port), timeout=2) as raw,
                ctx.wrap_socket(raw, server_hostname=self.site),
            ):
                return True
        except (OSError, ssl.SSLError):
            return False

    @property
    def url(self) -> str:
        return f"https://{self.site}:{self.https_port}"

    def stop(self) -> None:
        self.proc.stop()
