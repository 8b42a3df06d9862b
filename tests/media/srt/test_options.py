"""Options and decisions refuse what libsrt would refuse; a missing libsrt says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from media.srt import AcceptDecision, RejectReason, SrtOptions, reject_reason_name

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    "bad",
    [
        {"passphrase": "short"},
        {"passphrase": "x" * 80},
        {"pbkeylen": 20},
        {"latency_ms": -1},
        {"payload_size": 1500},
        {"payload_size": 100},
        {"streamid": "x" * 513},
        {"conn_timeout_ms": 0},
        {"recv_timeout_ms": -2},
    ],
)
def test_options_refuse_what_libsrt_would(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SrtOptions(**bad)  # type: ignore[arg-type]


def test_secrets_stay_out_of_repr() -> None:
    text = repr(SrtOptions(passphrase="p" * 20, streamid="#!::s=secret-token"))
    assert "p" * 20 not in text and "secret-token" not in text
    assert "p" * 20 not in repr(AcceptDecision.allow("p" * 20))


def test_decisions() -> None:
    assert AcceptDecision.reject() == AcceptDecision(False, 1403)
    assert AcceptDecision.allow().accept
    with pytest.raises(ValueError, match=">= 1000"):
        AcceptDecision.reject(RejectReason.BADSECRET)  # libsrt's own code: not ours to send
    with pytest.raises(ValueError):
        AcceptDecision.allow("short")


def test_reject_names() -> None:
    assert reject_reason_name(10) == "BADSECRET"
    assert reject_reason_name(1403) == "FORBIDDEN"
    assert reject_reason_name(1499) == "PREDEFINED_499"
    assert reject_reason_name(2007) == "USERDEFINED_7"


def test_missing_library_names_the_package() -> None:
    # A fresh interpreter: the library handle is per process and this one has it loaded.
    code = (
        "from media.srt import version, SrtLibraryMissing\n"
        "try:\n    version()\nexcept SrtLibraryMissing as e:\n    print(e)\n"
    )
    env = {**os.environ, "RETURNFEED_LIBSRT": "/nonexistent/libsrt.so.1.5"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    assert "apt-get install libsrt1.5-openssl" in out.stdout
    assert "RETURNFEED_LIBSRT" in out.stdout


def test_import_does_not_need_libsrt() -> None:
    # The cloud parses streamids without ever opening a socket; importing must not load libsrt.
    code = "import media.srt, media.srt.lib as l; assert l._lib is None; print('ok')"
    env = {**os.environ, "RETURNFEED_LIBSRT": "/nonexistent/libsrt.so.1.5"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == "ok", out.stderr
