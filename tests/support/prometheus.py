"""A real Prometheus (Debian's) on loopback, run from the shipped deploy/prometheus.yml with
its API job pointed at a test backend and its token file holding the test's token."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.procs import Proc, ProcessFailed, free_port, wait_until

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
REFERENCE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "prometheus.yml"


def scrape_config(target: str, token: str, workdir: Path) -> Path:
    """The reference config, with the API job on `target` over plain HTTP (tests have no
    certificate), scraped every second, and the scrape-port job left out."""
    config = yaml.safe_load(REFERENCE.read_text())
    config["global"]["scrape_interval"] = "1s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    api = jobs["returnfeed-api"]
    token_file = workdir / "metrics-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    api["scheme"] = "http"
    api["authorization"]["credentials_file"] = str(token_file)
    api["static_configs"] = [{"targets": [target]}]
    config["scrape_configs"] = [api]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run(
        [PROMTOOL, "check", "config", str(path)], capture_output=True, text=True, timeout=60
    )
    if checked.returncode != 0:
        raise ProcessFailed(f"promtool refused the config:\n{checked.stdout}{checked.stderr}")
    return path


class Prometheus:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result; a query Prometheus refuses raises with its error."""
        r = httpx.get(f"{self.base_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr}: {body.get('errorType')}: {body.get('error')}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result


@contextmanager
def prometheus(config: Path, workdir: Path) -> Iterator[Prometheus]:
    port = free_port()
    argv = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    proc = Proc(argv, workdir / "prometheus.log")
    base = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if not proc.alive():
            raise ProcessFailed(f"prometheus exited:\n{proc.tail()}")
        try:
            return httpx.get(f"{base}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 60, "prometheus ready")
        yield Prometheus(base)
    finally:
        proc.stop()
