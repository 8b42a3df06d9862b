"""The shipped monitoring works against the real thing (issue #16, seed §9.1/§9.2): Debian's
Prometheus, run from deploy/prometheus/prometheus.yml with its token file, scrapes a backend
with a live show and a viewer; the seed's metrics arrive with exactly the seed's labels; and
every query in deploy/grafana/returnfeed.json is valid PromQL over metric names the backend
really exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.cloud.gateway.helpers import Show, on_air, watch
from tests.support.cloud import METRICS_TOKEN, CloudServer
from tests.support.procs import wait_until
from tests.support.prometheus import Prometheus, prometheus, scrape_config

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana" / "returnfeed.json"
SEED_LABELS = {
    "simulcast_quality_switches_total": {"session_id", "from_quality", "to_quality"},
    "simulcast_active_viewers": {"session_id", "quality"},
    "network_packet_loss_bucket": {"session_id", "user_id", "le"},
}
SCRAPE_LABELS = {"__name__", "instance", "job"}
_OURS = re.compile(r"\b((?:returnfeed|gateway|simulcast|network)_[a-z0-9_]+)")


def dashboard_queries() -> list[str]:
    board = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    queries += [v["definition"] for v in board["templating"]["list"] if "definition" in v]
    return queries


def exported_names(cloud: CloudServer) -> set[str]:
    """Every series name the backend's registry can produce, samples or not yet."""
    names: set[str] = set()
    for line in cloud.metrics_text().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            name = name.removesuffix("_total")  # the text format names counters with it
            suffixes = {
                "counter": ("_total", "_created"),
                "histogram": ("_bucket", "_sum", "_count", "_created"),
            }.get(kind, ("",))
            names |= {name + suffix for suffix in suffixes}
    return names


def _labels_of(prom: Prometheus, name: str) -> list[set[str]]:
    return [set(series["metric"]) - SCRAPE_LABELS for series in prom.query(name)]


def test_prometheus_scrapes_the_seed_metrics_with_the_token_and_the_dashboard_queries_are_valid(
    gw_cloud: CloudServer, api: httpx.Client, show: Show, srt_port: int, tmp_path: Path
) -> None:
    config = scrape_config(f"127.0.0.1:{gw_cloud.port}", METRICS_TOKEN, tmp_path)
    with prometheus(config, tmp_path) as prom:
        with on_air(api, show, srt_port, tmp_path):
            got = watch(gw_cloud, show, 6.0, mode_after=(2.0, "low"))
        assert got.status == 201, got

        def scraped() -> bool:
            return all(
                prom.query(f'{name}{{session_id="{show.session_id}"}}') for name in SEED_LABELS
            )

        wait_until(scraped, 20, "the seed's series in Prometheus")
        up = prom.query('up{job="returnfeed-api"}')
        assert [s["value"][1] for s in up] == ["1"], up  # the token file did it
        for name, labels in SEED_LABELS.items():
            assert all(found == labels for found in _labels_of(prom, name)), (name, labels)
        switched = prom.query(
            "simulcast_quality_switches_total"
            f'{{session_id="{show.session_id}",from_quality="hi",to_quality="lo"}}'
        )
        assert [s["value"][1] for s in switched] == ["1"], switched

        names = exported_names(gw_cloud)
        for expr in dashboard_queries():
            used = set(_OURS.findall(expr))
            assert used, f"a dashboard query that reads none of our metrics: {expr}"
            assert used <= names, f"{expr} reads {sorted(used - names)}, which nothing exports"
            if not expr.startswith("label_values("):  # Grafana's, not PromQL
                prom.query(expr.replace("$session", ".*"))  # raises on invalid PromQL
