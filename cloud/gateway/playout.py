"""The playout-delay RTP header extension: the sender tells the browser how long it may hold
video before showing it (http://www.webrtc.org/experiments/rtp-hdrext/playout-delay).

Why: left to itself, Chromium's receiver schedules every frame for a render time of its own
making (jitter estimate + decode + a 10 ms render delay) and holds it until then, even with
the page's `jitterBufferTarget = 0`. A minimum of 0 with a maximum of at most 500 ms puts
libwebrtc on its low-latency path: a frame is decoded as soon as it is complete and shown
at the next vsync. That is what game streaming does, and what a return feed wants.

Chromium offers the extension in its video section; aiortc does not know it and leaves it
out of the answer. `negotiate` puts it back (same id as offered), and the send path adds
the element to every video packet (`element`). An offer without it gets an unchanged
answer and no element.
"""

from __future__ import annotations

import re

URI = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
MIN_MS = 0
# Under libwebrtc's 500 ms low-latency threshold; what a jittery link may still be smoothed
# by before frames show as they come.
MAX_MS = 100
_UNIT_MS = 10  # the extension counts in 10 ms steps, 12 bits each
_SECTIONS = re.compile(r"\r\n(?=m=)")
_EXTMAP = re.compile(r"^a=extmap:(\d+)(?:/\w+)? " + re.escape(URI) + r"\s*$", re.MULTILINE)


def element(min_ms: int = MIN_MS, max_ms: int = MAX_MS) -> bytes:
    """The extension's 3 bytes: min and max playout delay, 12 bits each."""
    low, high = min_ms // _UNIT_MS, max_ms // _UNIT_MS
    if not 0 <= low <= high < 1 << 12:
        raise ValueError(f"playout delay {min_ms}..{max_ms} ms does not fit the extension")
    return ((low << 12) | high).to_bytes(3, "big")


def offered_id(offer_sdp: str) -> int | None:
    """The id the offer's first video section gives the extension, if it offers it."""
    for section in _SECTIONS.split(offer_sdp):
        if section.startswith("m=video"):
            found = _EXTMAP.search(section)
            return int(found.group(1)) if found else None
    return None


def negotiate(answer_sdp: str, ext_id: int) -> str:
    """`answer_sdp` with the extension, under `ext_id`, in its first video section."""
    sections = _SECTIONS.split(answer_sdp)
    for i, section in enumerate(sections):
        if section.startswith("m=video"):
            lines = section.split("\r\n")
            # After the section's other extmaps, or after its m= and c= lines.
            at = max(
                (n for n, line in enumerate(lines) if line.startswith("a=extmap:")),
                default=1,
            )
            lines.insert(at + 1, f"a=extmap:{ext_id} {URI}")
            sections[i] = "\r\n".join(lines)
            break
    return "\r\n".join(sections)
