"""What a viewer's offer must hold before aiortc is given it.

aiortc's own refusals are Python errors about its internals ("'NoneType' object has no
attribute 'role'" for an offer without a=setup); a viewer, or whoever wrote the client,
needs to know what is missing instead. Each check here names the SDP line at fault.
"""

from __future__ import annotations

import logging

from aiortc.sdp import SessionDescription

from cloud.gateway import playout

log = logging.getLogger(__name__)

# One-byte RTP header extensions (RFC 8285) carry ids 1..14; the send path packs the
# playout-delay element beside aiortc's own in that form (packetize.extension_block).
EXTENSION_IDS = range(1, 15)


class BadOffer(ValueError):
    """The offer cannot be answered (malformed, or no H.264 to agree on). The message is
    for the client; `reason` is a short word for the error's details."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def parse_offer(sdp: str) -> SessionDescription:
    """The offer as aiortc reads it, or BadOffer saying what is wrong with it."""
    try:
        parsed = SessionDescription.parse(sdp)
    except Exception as exc:  # aiortc's parser raises whatever the bad line causes
        log.info("unreadable WHEP offer: %s: %s", type(exc).__name__, exc)
        raise BadOffer(
            "the offer is not an SDP this server can read (a malformed m=, a=rtpmap, "
            "a=candidate or other line)",
            "unreadable",
        ) from None
    for media in parsed.media:
        if media.kind not in ("audio", "video"):
            continue
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise BadOffer(f"the offer's {media.kind} has no a=ice-ufrag / a=ice-pwd", "ice")
        if media.dtls is None:
            raise BadOffer(
                f"the offer's {media.kind} has no a=setup (actpass, active or passive)", "dtls"
            )
        if not media.dtls.fingerprints:
            raise BadOffer(f"the offer's {media.kind} has no a=fingerprint", "dtls")
    playout_id = playout.offered_id(sdp)
    if playout_id is not None and playout_id not in EXTENSION_IDS:
        raise BadOffer(
            f"the offer gives the playout-delay extension id {playout_id}; this server "
            f"sends one-byte header extensions, ids {EXTENSION_IDS.start}.."
            f"{EXTENSION_IDS.stop - 1}",
            "extension_id",
        )
    video = next((m for m in parsed.media if m.kind == "video"), None)
    if video is None or not any(c.mimeType.lower() == "video/h264" for c in video.rtp.codecs):
        raise BadOffer("the offer's video has no H.264 to receive (a=rtpmap:N H264/90000)", "codec")
    taken = [x.id for x in video.rtp.headerExtensions if x.uri != playout.URI] if video else []
    if playout_id is not None and playout_id in taken:
        raise BadOffer(
            f"the offer gives the playout-delay extension id {playout_id}, which another "
            "a=extmap of its video already uses",
            "extension_id",
        )
    return parsed
