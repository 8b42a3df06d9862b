"""The candidate policy, case by case (the WHEP test shows it applied to a real offer)."""

from __future__ import annotations

import pytest

from cloud.gateway.candidates import refusal


@pytest.mark.parametrize(
    ("transport", "host", "port", "loopback_ok", "expected"),
    [
        ("udp", "192.168.1.20", 50000, False, None),  # a LAN browser
        ("udp", "203.0.113.9", 61000, False, None),  # server-reflexive
        ("UDP", "2001:db8::7", 50000, False, None),
        ("udp", "4c5e0f1a-1b2c.local", 50000, False, None),  # mDNS, as browsers hide hosts
        ("udp", "127.0.0.1", 50000, True, None),  # a backend on loopback: same machine
        ("udp", "127.0.0.1", 50000, False, "loopback"),
        ("udp", "::1", 50000, False, "loopback"),
        ("udp", "::ffff:127.0.0.1", 50000, False, "loopback"),
        ("udp", "224.0.0.251", 50000, True, "address"),
        ("udp", "ff02::1", 50000, True, "address"),
        ("udp", "0.0.0.0", 50000, True, "address"),
        ("udp", "::", 50000, True, "address"),
        ("udp", "255.255.255.255", 50000, True, "address"),
        ("udp", "fe80::1", 50000, True, "address"),
        ("udp", "192.168.1.20", 53, False, "port"),
        ("udp", "192.168.1.20", 0, False, "port"),
        ("udp", "192.168.1.20", 70000, False, "port"),
        ("tcp", "192.168.1.20", 50000, False, "transport"),
        ("udp", "internal.example.com", 50000, False, "hostname"),
    ],
)
def test_refusal(transport: str, host: str, port: int, loopback_ok: bool, expected: str) -> None:
    assert refusal(transport, host, port, loopback_ok) == expected
