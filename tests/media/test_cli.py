"""`returnfeed sources` (app/cli.py), here because it only reports what media finds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from app.cli import main
from tests.media.support import LoopbackSender, wait_for


def test_sources_json_has_three_lists_and_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "--json", "--timeout", "0.2"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"ndi", "cameras", "audio", "notes"}
    for key in ("ndi", "cameras", "audio", "notes"):
        assert isinstance(report[key], list)
    if not report["cameras"]:
        assert "no cameras found" in report["notes"]


def test_sources_finds_ndi_by_extra_ip(capsys: pytest.CaptureFixture[str]) -> None:
    sender = LoopbackSender(f"rf-cli-{uuid.uuid4().hex[:8]}")
    sender.start()

    def listed() -> dict[str, Any] | None:
        assert main(["sources", "--json", "--ndi-extra-ips", "127.0.0.1", "--timeout", "0.3"]) == 0
        report: dict[str, Any] = json.loads(capsys.readouterr().out)
        found = any(s["name"].endswith(f"({sender.name})") for s in report["ndi"])
        return report if found else None

    try:
        report = wait_for(listed, 10.0, "the sender in `returnfeed sources --json`")
    finally:
        sender.stop()
    assert all({"name", "url"} <= set(s) for s in report["ndi"])


def test_sources_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sources", "--timeout", "0"]) == 0
    out = capsys.readouterr().out
    assert "NDI sources" in out and "Cameras" in out and "Audio inputs" in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "sources" in capsys.readouterr().out
