"""bench/report's page: numbers come from the results, a missing one shows as a dash, a failed
benchmark says so, and the peers' figures keep their sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report import main
from bench.report_page import Outcome, write_page

G2G = {
    "runs": [
        {"srt_latency_ms": 5, "hi": {"p50_ms": 31.0, "p95_ms": 44.0}, "lo": {"p50_ms": 47.0}},
        {"srt_latency_ms": 20, "hi": {"p50_ms": 38.0, "p95_ms": 52.0}},
    ],
    "first_frame": {"joins": 20, "p50_ms": 180.0, "p95_ms": 240.0},
}
VIEWERS = {
    "rows": [
        {"viewers": 100, "drop_pct": 0.1, "server_cpu_pct": 40.0, "server_rss_mb": 200.0},
        {"viewers": 200, "drop_pct": 0.4, "server_cpu_pct": 70.0, "server_rss_mb": 260.0},
        {"viewers": 300, "drop_pct": 4.0, "server_cpu_pct": 99.0, "server_rss_mb": 300.0},
    ]
}


def test_page_reads_numbers_from_results(tmp_path: Path) -> None:
    page = tmp_path / "docs" / "BENCHMARKS.md"
    outcomes = [
        Outcome("glass_to_glass", G2G, 60.0, None),
        Outcome("viewers", VIEWERS, 120.0, None),
        Outcome("tally_latency", None, 3.0, "exit 1\nTraceback: boom"),
        Outcome("encode", None, None, None),
        Outcome("program_clock", {"cases": []}, None, None),
        Outcome("ui_pacing", {"cut_to_program_on_screen_frames_p99": 1.5}, 10.0, None),
    ]
    write_page(page, outcomes, tmp_path / "results")
    text = page.read_text()
    assert "| Glass to glass, hi layer, SRT latency 5 ms | p50 31 ms, p95 44 ms |" in text
    assert "| Glass to glass, lo layer, SRT latency 5 ms | p50 47 ms, p95 — |" in text
    assert "p50 180 ms, p95 240 ms | p95 ≤ 300 ms" in text
    # The most viewers with < 1 % drops, not the most viewers tried.
    assert "| 200 viewers, 0.40 % drops, 70 % of a core, 260 MB |" in text
    assert "**This run failed:**" in text and "Traceback: boom" in text
    assert "mediamtx/issues/4063" in text and "TallyArbiter/issues/98" in text
    assert "p99 1.50 frames" in text


def test_from_results_rewrites_the_page_without_running(tmp_path: Path) -> None:
    page = tmp_path / "B.md"
    assert main(["--from-results", "--page", str(page)]) == 0
    assert page.read_text().startswith("# Benchmarks")


def test_unknown_benchmark_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--only", "nope", "--page", str(tmp_path / "B.md")])
    assert exc.value.code == 2
    assert not (tmp_path / "B.md").exists()
