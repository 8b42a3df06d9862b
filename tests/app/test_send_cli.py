"""`returnfeed send` end to end: test sources, a real SRT listener, stats, exit codes."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from app import send
from app.cli import main
from app.director_token import DirectorToken
from app.session_link.cloud_api import CloudError, CloudUnreachable, SrtCredentials
from app.srt_renewal import CredentialRenewal
from media.srt import (
    AcceptDecision,
    Address,
    RejectReason,
    SrtConnection,
    SrtLibraryMissing,
    SrtListener,
    SrtOptions,
    SrtTimeout,
    listen,
    version,
)
from media.srt.handle import open_sockets
from tests.media.encode.support import PASSPHRASE, demux_bytes

ROOT = Path(__file__).resolve().parents[2]
STREAMIDS = {"rf-hi": "hi", "rf-lo": "lo"}  # raw ids, as a plain (non-ReturnFeed) peer uses


def vet(streamid: str, peer: Address) -> AcceptDecision:
    if streamid not in STREAMIDS:
        return AcceptDecision.reject(RejectReason.FORBIDDEN)
    return AcceptDecision.allow(passphrase=PASSPHRASE)


class Recorder:
    """Accepts callers and keeps everything each one sends, by streamid."""

    def __init__(self, listener: SrtListener) -> None:
        self.data: dict[str, bytearray] = {}
        self._listener = listener
        self._threads: list[threading.Thread] = []
        self._conns: list[SrtConnection] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while True:
            try:
                conn = self._listener.accept()
            except Exception:
                return  # closed
            self._conns.append(conn)
            buffer = self.data.setdefault(conn.streamid, bytearray())
            thread = threading.Thread(target=self._read, args=(conn, buffer), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _read(self, conn: SrtConnection, buffer: bytearray) -> None:
        while True:
            try:
                message = conn.recv(timeout=10)
            except SrtTimeout:
                return
            if not message:
                return
            buffer += message

    @property
    def port(self) -> int:
        return self._listener.address[1]

    def close(self) -> None:
        self._listener.close()
        self._accepting.join(5)
        for conn in self._conns:
            conn.close()
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    try:
        version()
    except SrtLibraryMissing as exc:
        pytest.skip(str(exc))
    recorder = Recorder(listen("127.0.0.1", 0, SrtOptions(latency_ms=20), accept_filter=vet))
    yield recorder
    recorder.close()
    assert not open_sockets()


def url(recorder: Recorder) -> str:
    return f"srt://127.0.0.1:{recorder.port}"


def dominant_hz(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.argmax(spectrum) * 48000 / len(samples))


def tones_heard(ts: bytes) -> list[float]:
    """The main frequency of each 0.5 s of the program audio in a TS."""
    left = []
    with av.open(io.BytesIO(ts), format="mpegts") as container:
        for frame in container.decode(audio=0):
            left.append(frame.to_ndarray()[0])
    audio = np.concatenate(left)
    return [dominant_hz(audio[i : i + 24000]) for i in range(0, len(audio) - 23999, 24000)]


def test_send_cycles_two_sources_and_prints_stats(
    recorder: Recorder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNFEED_SRT_PASSPHRASE", PASSPHRASE)
    argv = ["send", "--source", "test:Cam1", "--source", "test:Cam2", "--cycle", "1"]
    argv += ["--duration", "4", "--srt-url", url(recorder)]
    argv += ["--streamid-hi", "rf-hi", "--streamid-lo", "rf-lo", "--encoder", "libx264"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    for layer, size in (("hi", "640x360"), ("lo", "320x180")):
        mine = [line for line in lines if f"] {layer} " in line]
        assert len(mine) >= 3, out
        assert size in mine[-1] and mine[-1].endswith("| connected"), mine[-1]
        assert " fps " in mine[-1] and " kbps " in mine[-1] and " rtt " in mine[-1]
    time.sleep(0.2)  # the last messages, drained by the sender, reach the recorder
    hi, lo = demux_bytes(bytes(recorder.data["rf-hi"])), demux_bytes(bytes(recorder.data["rf-lo"]))
    # 4 s is 240 hi / 120 lo frames; half proves a steady stream even on a loaded machine.
    assert len(hi.video) >= 120 and len(lo.video) >= 60
    assert hi.size == (640, 360) and lo.size == (320, 180)
    # Each test source has its own tone following its picture: the cuts are audible.
    heard = {round(hz / 10) * 10 for hz in tones_heard(bytes(recorder.data["rf-hi"]))}
    assert {440, 880} <= heard


def test_sigterm_stops_cleanly_with_a_json_summary(recorder: Recorder, tmp_path: Path) -> None:
    env = {**os.environ, "RETURNFEED_SRT_PASSPHRASE": PASSPHRASE, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "app.cli", "send", "--source", "test:Cam1", "--json"]
    argv += ["--srt-url", url(recorder), "--streamid-hi", "rf-hi", "--layers", "hi"]
    err = tmp_path / "stderr.txt"
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err.open("wb"))
    try:
        deadline = time.monotonic() + 20
        while "| connected" not in err.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, err.read_text()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        stdout, _ = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.read_text()
    summary = json.loads(stdout)
    hi = summary["layers"]["hi"]
    assert summary["encoder"] and hi["frames_sent"] > 0 and hi["phase"] == "connected"
    assert {"fps", "kbps", "encode_ms_p99", "queue_drops", "rtt_ms", "retransmits"} <= set(hi)
    assert summary["genlock"]["reference"] == "Cam1"  # the first source, by default
    assert PASSPHRASE not in stdout.decode() + err.read_text()


def test_a_refused_layer_exits_1_and_says_why(
    recorder: Recorder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RETURNFEED_SRT_PASSPHRASE", "a-passphrase-that-is-wrong")
    argv = ["send", "--duration", "1.2", "--srt-url", url(recorder), "--layers", "hi"]
    argv += ["--streamid-hi", "rf-hi", "--encoder", "libx264"]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "rejected: wrong passphrase" in out
    assert "layer hi never got through: rejected: wrong passphrase" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--srt-url", "srt://127.0.0.1:9000"], "--session and a publish token"),
        (
            ["--srt-url", "udp://127.0.0.1:9000", "--streamid-hi", "x", "--streamid-lo", "y"],
            "srt://",
        ),
        (
            ["--srt-url", "srt://h:1?passphrase=x", "--streamid-hi", "x", "--streamid-lo", "y"],
            "own options",
        ),
        (["--srt-url", "srt://h:1", "--layers", "mid", "--streamid-hi", "x"], "--layers"),
        (["--srt-url", "srt://h:1", "--session", "s1", "--publish-token", "bad token"], "token"),
        (
            [
                "--srt-url",
                "srt://h:1",
                "--streamid-hi",
                "x",
                "--streamid-lo",
                "y",
                "--passphrase",
                "short",
            ],
            "passphrase",
        ),
        (
            [
                "--srt-url",
                "srt://h:1",
                "--streamid-hi",
                "x",
                "--streamid-lo",
                "y",
                "--source",
                "tv:1",
            ],
            "unknown kind",
        ),
        (
            ["--srt-url", "srt://h:1", "--session", "s1", "--publish-token", "t", "--cloud", "x"],
            "RETURNFEED_DIRECTOR_TOKEN",
        ),
        (
            [
                "--srt-url",
                "srt://h:1",
                "--streamid-hi",
                "x",
                "--streamid-lo",
                "y",
                "--cloud",
                "http://h",
            ],
            "--cloud: give --session",
        ),
        (
            [
                "--srt-url",
                "srt://h:1",
                "--session",
                "s1",
                "--publish-token",
                "t",
                "--cloud",
                "ws://h",
            ],
            "--cloud: expected http(s)://",
        ),
        (
            [
                "--srt-url",
                "srt://h:1",
                "--streamid-hi",
                "x",
                "--layers",
                "hi",
                "--idr-interval",
                "0",
            ],
            "--idr-interval",
        ),
        (
            ["--srt-url", "srt://h:1", "--streamid-hi", "x", "--layers", "hi", "--genlock", "B"],
            "--genlock: a source's name (Test) or off, not 'B'",
        ),
    ],
)
def test_bad_settings_are_refused_before_anything_starts(
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RETURNFEED_PUBLISH_TOKEN", raising=False)
    monkeypatch.delenv("RETURNFEED_SRT_PASSPHRASE", raising=False)
    # A director token only where the case is not about its absence.
    if "RETURNFEED_DIRECTOR_TOKEN" in message:
        for name in ("RETURNFEED_DIRECTOR_TOKEN", "RETURNFEED_EMAIL", "RETURNFEED_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
    else:
        monkeypatch.setenv("RETURNFEED_DIRECTOR_TOKEN", "a-token")
    assert main(["send", *extra]) == 2
    assert message in capsys.readouterr().err


def test_an_encoder_that_is_not_here_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["send", "--srt-url", "srt://127.0.0.1:9", "--streamid-hi", "x", "--layers", "hi"]
    assert main([*argv, "--encoder", "h264_nonexistent", "--duration", "1"]) == 2
    assert "h264_nonexistent cannot be used here" in capsys.readouterr().out


def test_send_cloud_fetches_again_soon_after_a_failed_fetch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--cloud` shares Go Live's renewal: a fetch that fails because the backend does not
    answer yet is tried again on a short backoff, not at the layer's next refusal (5-60 s
    away); a refusal that retrying cannot cure (404) waits for the next refusal."""
    answers: list[Exception | SrtCredentials] = [
        CloudUnreachable("cannot reach the backend", "unreachable"),
        SrtCredentials("s1", "new-passphrase-0123", 32, "new-token"),
        CloudError("no such session", "not_found", 404),
    ]

    async def fetch(cloud_url: str, access: str, session_id: str) -> SrtCredentials:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    class Output:
        def __init__(self) -> None:
            self.retargeted: list[dict[str, str]] = []

        def retarget(self, targets: dict[str, str]) -> None:
            self.retargeted.append(targets)

    monkeypatch.setattr(send, "fetch_credentials", fetch)
    token = DirectorToken("http://cloud", access="director-token")
    plan = send.Renewal("http://cloud", "s1", token, lambda t, p, _url: {"hi": f"{t}/{p}"})
    when, output, log = CredentialRenewal(), Output(), io.StringIO()

    send._renew(plan, when, output, log)
    assert when.retry_in is not None and when.retry_in <= 0.6, log.getvalue()
    assert "again in" in log.getvalue() and output.retargeted == []

    send._renew(plan, when, output, log)
    assert output.retargeted == [{"hi": "new-token/new-passphrase-0123"}]
    assert when.retry_in is None

    send._renew(plan, when, output, log)
    assert when.retry_in is None, "a 404 is not retried on a timer"
