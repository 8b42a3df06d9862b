"""Our caller against our listener on loopback: media, credentials, errors, recovery, garbage."""

from __future__ import annotations

import gc
import hmac
import logging
import os
import random
import socket
import struct
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import av
import pytest

from media.srt import (
    LOW_LATENCY_DEMUX,
    AcceptDecision,
    Address,
    RejectReason,
    SrtClosed,
    SrtConnection,
    SrtConnectionLost,
    SrtListener,
    SrtOptions,
    SrtReader,
    SrtRejected,
    SrtTimeout,
    StreamId,
    StreamIdError,
    connect,
    format_streamid,
    listen,
    parse_streamid,
)
from tests.media.srt.support import (
    PASSPHRASE,
    Closer,
    connect_retrying,
    has_idr,
    make_ts,
    udp_port_bound,
    wait_for,
)
from tests.support.procs import free_udp_port

LATENCY = 20


@dataclass(frozen=True)
class Session:
    token: str
    passphrase: str


SESSIONS = {
    "sessA": Session("tokenA-0123456789abcdef", PASSPHRASE),
    "sessB": Session("tokenB-0123456789abcdef", "another-passphrase-for-b"),
}


def vet(streamid: str, peer: Address) -> AcceptDecision:
    """The backend's check, in miniature: parse, look up, compare in constant time."""
    try:
        sid = parse_streamid(streamid)
    except StreamIdError:
        return AcceptDecision.reject(RejectReason.BAD_REQUEST)
    session = SESSIONS.get(sid.session_id)
    if session is None or not hmac.compare_digest(session.token, sid.token):
        return AcceptDecision.reject(RejectReason.FORBIDDEN)
    return AcceptDecision.allow(passphrase=session.passphrase)


def caller_options(
    session: str = "sessA",
    layer: str = "hi",
    token: str | None = None,
    passphrase: str | None = PASSPHRASE,
) -> SrtOptions:
    sid = StreamId(session, layer, token or SESSIONS[session].token)
    return SrtOptions(
        latency_ms=LATENCY,
        passphrase=passphrase,
        streamid=format_streamid(sid),
        conn_timeout_ms=1000,
    )


@pytest.fixture
def listener(closing: Closer) -> SrtListener:
    return closing(listen("127.0.0.1", 0, SrtOptions(latency_ms=LATENCY), accept_filter=vet))


def pair(listener: SrtListener, closing: Closer, **kw: str) -> tuple[SrtConnection, SrtConnection]:
    caller = closing(connect(*listener.address, caller_options(**kw)))
    return caller, closing(listener.accept(timeout=2))


def send_paced(conn: SrtConnection, data: bytes, per_send: int = 1316 * 4) -> None:
    """Roughly like an encoder: a few packets at a time, not one burst."""
    for start in range(0, len(data), per_send):
        conn.send(data[start : start + per_send])
        time.sleep(0.002)


def test_bytes_arrive_intact_and_identified(listener: SrtListener, closing: Closer) -> None:
    ts = make_ts(1.0)
    caller, accepted = pair(listener, closing, layer="lo")
    assert parse_streamid(accepted.streamid) == StreamId("sessA", "lo", SESSIONS["sessA"].token)
    assert accepted.peer[0] == "127.0.0.1" and caller.peer == listener.address
    received = bytearray()
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(lambda: (send_paced(caller, ts), caller.drain(2), caller.close()))
        while chunk := accepted.recv(timeout=2):
            assert len(chunk) <= 1316
            received += chunk
        sending.result()
    assert bytes(received) == ts


def test_reader_feeds_pyav(listener: SrtListener, closing: Closer) -> None:
    ts = make_ts(1.0)
    caller, accepted = pair(listener, closing)
    packets = []
    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(lambda: (send_paced(caller, ts), caller.drain(2), caller.close()))
        reader = SrtReader(accepted, timeout=2)
        with av.open(reader, format="mpegts", options=LOW_LATENCY_DEMUX) as container:
            video = container.streams.video[0]
            assert video.codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "opus"
            packets = [bytes(p) for p in container.demux(video) if p.size]
        sending.result()
    assert len(packets) == 30
    assert has_idr(packets[0])
    assert reader.bytes_read == len(ts)


def test_stats_after_sending(listener: SrtListener, closing: Closer) -> None:
    caller, accepted = pair(listener, closing)
    for _ in range(40):
        caller.send(bytes(1316))
        time.sleep(0.005)
    wait_for(lambda: caller.stats().flight_size == 0, 2, "acknowledgements")
    sent, got = caller.stats(), accepted.stats()
    assert sent.bytes_sent >= 40 * 1316 and sent.pkt_sent >= 40
    assert 0 < sent.rtt_ms < 50 and 0 < got.rtt_ms < 50
    assert got.bytes_recv >= 40 * 1316
    assert sent.pkt_snd_loss == got.pkt_rcv_loss == got.pkt_rcv_undecrypt == 0
    assert sent.snd_latency_ms == got.rcv_latency_ms == LATENCY
    assert sent.send_rate_mbps > 0 and sent.bandwidth_mbps > 0
    caller.stats(clear=True)
    assert caller.stats().interval_pkt_sent == 0
    assert caller.stats().pkt_sent == sent.pkt_sent  # totals survive a clear


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"passphrase": "not-the-right-passphrase"}, RejectReason.BADSECRET),
        ({"token": "tokenA-forged-000000000"}, RejectReason.FORBIDDEN),
        ({"session": "sessB", "token": SESSIONS["sessA"].token}, RejectReason.FORBIDDEN),
        # sessB's own passphrase is not sessA's: per-session keys really are per session.
        ({"session": "sessB"}, RejectReason.BADSECRET),
        ({"passphrase": None}, RejectReason.UNSECURE),
    ],
    ids=["wrong-passphrase", "wrong-token", "other-sessions-token", "other-key", "no-key"],
)
def test_rejections_say_why(
    listener: SrtListener, closing: Closer, kw: dict[str, str], code: int
) -> None:
    with pytest.raises(SrtRejected) as info:
        connect(*listener.address, caller_options(**kw))
    assert info.value.reason_code == code
    assert info.value.reason_name == RejectReason(code).name
    # The listener is unharmed and still takes a good caller.
    pair(listener, closing)


def test_each_session_uses_its_own_passphrase(listener: SrtListener, closing: Closer) -> None:
    b_caller = closing(
        connect(*listener.address, caller_options("sessB", passphrase="another-passphrase-for-b"))
    )
    b = closing(listener.accept(timeout=2))
    b_caller.send(b"B" * 188)
    assert b.recv(timeout=2) == b"B" * 188
    assert parse_streamid(b.streamid).session_id == "sessB"


def test_malformed_streamid_is_bad_request(listener: SrtListener) -> None:
    options = SrtOptions(latency_ms=LATENCY, passphrase=PASSPHRASE, streamid="hello")
    with pytest.raises(SrtRejected) as info:
        connect(*listener.address, options)
    assert info.value.reason_code == RejectReason.BAD_REQUEST
    assert listener.rejected_count == 1


def test_a_failing_filter_refuses_and_logs(
    closing: Closer, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    def broken(streamid: str, peer: Address) -> AcceptDecision:
        calls.append(streamid)
        if len(calls) == 1:
            raise RuntimeError("database on fire")
        if len(calls) == 2:
            return "yes"  # type: ignore[return-value]
        return AcceptDecision.allow()

    lst = closing(listen("127.0.0.1", 0, SrtOptions(latency_ms=LATENCY), accept_filter=broken))
    options = SrtOptions(latency_ms=LATENCY, streamid="x", conn_timeout_ms=1000)
    with caplog.at_level(logging.ERROR, logger="media.srt.listener"):
        for _ in range(2):
            with pytest.raises(SrtRejected) as info:
                connect(*lst.address, options)
            assert info.value.reason_code == RejectReason.ISE
    assert "database on fire" in caplog.text
    closing(connect(*lst.address, options))
    closing(lst.accept(timeout=2))


def test_timeouts() -> None:
    options = SrtOptions(conn_timeout_ms=300)
    started = time.monotonic()
    with pytest.raises(SrtTimeout):
        connect("127.0.0.1", free_udp_port(), options)
    assert time.monotonic() - started < 2


def test_accept_and_recv_time_out(listener: SrtListener, closing: Closer) -> None:
    with pytest.raises(SrtTimeout):
        listener.accept(timeout=0.1)
    _caller, accepted = pair(listener, closing)
    started = time.monotonic()
    with pytest.raises(SrtTimeout):
        accepted.recv(timeout=0.1)
    assert time.monotonic() - started < 1


def test_close_from_another_thread_wakes_blocked_calls(
    listener: SrtListener, closing: Closer
) -> None:
    _caller, accepted = pair(listener, closing)
    with ThreadPoolExecutor(2) as pool:
        receiving = pool.submit(accepted.recv)
        accepting = pool.submit(listener.accept)
        time.sleep(0.1)
        accepted.close()
        listener.close()
        assert receiving.result(timeout=2) == b""
        with pytest.raises(SrtClosed):
            accepting.result(timeout=2)
    with pytest.raises(SrtClosed):
        accepted.send(b"x" * 188)
    with pytest.raises(SrtClosed):
        listener.accept(timeout=0.1)


def test_peer_closing_ends_the_stream(listener: SrtListener, closing: Closer) -> None:
    caller, accepted = pair(listener, closing)
    caller.send(b"x" * 188)
    assert accepted.recv(timeout=2) == b"x" * 188
    caller.close()
    assert accepted.recv(timeout=2) == b""
    with pytest.raises(SrtConnectionLost):
        accepted.send(b"y" * 188)


def test_caller_reconnects_to_a_restarted_listener(closing: Closer) -> None:
    first = listen("127.0.0.1", 0, SrtOptions(latency_ms=LATENCY), accept_filter=vet)
    port = first.address[1]
    caller = connect("127.0.0.1", port, caller_options())
    accepted = first.accept(timeout=2)
    caller.send(b"x" * 1316)
    assert accepted.recv(timeout=2) == b"x" * 1316
    # The backend goes away: its side closes, the sender notices on its next sends.
    accepted.close()
    first.close()
    with pytest.raises(SrtConnectionLost):  # within 2 s of sends
        for _ in range(200):
            caller.send(b"x" * 1316)
            time.sleep(0.01)
    caller.close()

    def restart_later() -> SrtListener:
        time.sleep(0.3)
        return listen("127.0.0.1", port, SrtOptions(latency_ms=LATENCY), accept_filter=vet)

    with ThreadPoolExecutor(1) as pool:
        restarting = pool.submit(restart_later)
        again = closing(connect_retrying("127.0.0.1", port, caller_options(), within=5))
        second = closing(restarting.result(timeout=5))
    served = closing(second.accept(timeout=2))
    again.send(b"z" * 188)
    assert served.recv(timeout=2) == b"z" * 188


def test_closed_ports_go_back_to_the_os(libsrt: str) -> None:
    lst = listen("127.0.0.1", 0, SrtOptions(latency_ms=LATENCY))
    port = lst.address[1]
    caller = connect("127.0.0.1", port, SrtOptions(latency_ms=LATENCY))
    accepted = lst.accept(timeout=2)
    assert udp_port_bound(port)
    for thing in (caller, accepted, lst):
        thing.close()
    # libsrt's garbage collector releases a multiplexer's UDP port about 5 s later.
    wait_for(lambda: not udp_port_bound(port), 9, "libsrt to release the UDP port")


def _spray(port: int, count: int) -> None:
    rng = random.Random(1234)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for i in range(count):
            body = rng.randbytes(rng.randint(0, 1500))
            if i % 3 == 0:
                # Looks like an SRT control packet (handshake / shutdown / keepalive).
                kind = rng.choice([0x8000, 0x8005, 0x8001, 0x8002])
                body = struct.pack("!HHIII", kind, 0, 0, 0, 0) + body[:64]
            s.sendto(body, ("127.0.0.1", port))


def test_udp_garbage_harms_nothing(listener: SrtListener, closing: Closer) -> None:
    caller, accepted = pair(listener, closing)
    _spray(listener.address[1], 3000)
    caller.send(b"still here" * 10)
    assert accepted.recv(timeout=2) == b"still here" * 10
    pair(listener, closing, session="sessB", passphrase="another-passphrase-for-b")


def test_random_payload_into_the_demuxer(listener: SrtListener, closing: Closer) -> None:
    caller, accepted = pair(listener, closing)

    def noise() -> None:
        for _ in range(60):
            caller.send(os.urandom(1316))
        caller.drain(2)
        caller.close()

    with ThreadPoolExecutor(1) as pool:
        sending = pool.submit(noise)
        try:
            with av.open(SrtReader(accepted, timeout=2), format="mpegts") as container:
                assert not [p for p in container.demux() if p.size]
        except av.FFmpegError:
            pass  # refusing noise is fine; crashing is not
        sending.result()
    pair(listener, closing)


def test_ipv6_loopback(closing: Closer) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python")
    try:
        lst = closing(listen("::1", 0, SrtOptions(latency_ms=LATENCY)))
    except Exception as exc:  # any failure here means "no ::1 on this host"
        pytest.skip(f"no IPv6 loopback: {exc}")
    caller = closing(connect("::1", lst.address[1], SrtOptions(latency_ms=LATENCY)))
    accepted = closing(lst.accept(timeout=2))
    assert accepted.peer[0] == "::1"
    caller.send(b"six" * 60)
    assert accepted.recv(timeout=2) == b"six" * 60


def test_threads_send_and_receive_both_ways(listener: SrtListener, closing: Closer) -> None:
    caller, accepted = pair(listener, closing)
    # The caller speaks first, as our director does: libsrt 1.5.1 can lose the listener
    # side's first packet if it races the caller's last handshake step (Haivision/srt#518).
    caller.send(b"hello" * 10)
    assert accepted.recv(timeout=2) == b"hello" * 10
    got: dict[str, int] = {"caller": 0, "accepted": 0}
    stop = threading.Event()

    def pump(name: str, conn: SrtConnection) -> None:
        while not stop.is_set():
            try:
                got[name] += len(conn.recv(timeout=0.05))
            except SrtTimeout:
                continue

    with ThreadPoolExecutor(2) as pool:
        pool.submit(pump, "caller", caller)
        pool.submit(pump, "accepted", accepted)
        for _ in range(20):
            caller.send(b"c" * 1316)
            accepted.send(b"a" * 1316)
        wait_for(lambda: got["caller"] == got["accepted"] == 20 * 1316, 3, "both directions")
        stop.set()


def test_reader_timeout_surfaces_from_pyav(listener: SrtListener, closing: Closer) -> None:
    _caller, accepted = pair(listener, closing)
    started = time.monotonic()
    with pytest.raises(SrtTimeout):
        av.open(SrtReader(accepted, timeout=0.2), format="mpegts", options=LOW_LATENCY_DEMUX)
    assert time.monotonic() - started < 0.4  # one timeout, not one per FFmpeg retry


def test_forgotten_connection_is_closed_with_a_warning(
    listener: SrtListener, closing: Closer
) -> None:
    caller = connect(*listener.address, caller_options())
    closing(listener.accept(timeout=2))
    with pytest.warns(ResourceWarning, match="unclosed"):
        del caller
        gc.collect()
