"""The HLS media playlist (RFC 8216) of a recording: fMP4 segments behind one init.

Live, it lists the last `window_s` of segments (the DVR window) and grows; once the
recording ended it says so (EXT-X-ENDLIST) and a player plays it as video on demand.
"""

from __future__ import annotations

from cloud.record.store import INIT, Segment

DVR_WINDOW_S = 600.0


def media_playlist(
    segments: list[Segment], ended: bool, prefix: str = "", window_s: float = DVR_WINDOW_S
) -> str:
    """The playlist; each URI is `prefix` + a file name of the recording's folder."""
    shown: list[Segment] = []
    total = 0.0
    for segment in reversed(segments):
        if shown and total + segment.duration_s > window_s and not ended:
            break
        shown.append(segment)
        total += segment.duration_s
    shown.reverse()
    # RFC 8216 4.3.3.1: each EXTINF, rounded to the nearest integer, is at most this.
    target = max((round(s.duration_s) for s in shown), default=2)
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        f"#EXT-X-MEDIA-SEQUENCE:{shown[0].seq if shown else 1}",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{prefix}{INIT}"',
    ]
    if ended:
        lines.append("#EXT-X-PLAYLIST-TYPE:VOD" if len(shown) == len(segments) else "")
    for segment in shown:
        lines += [f"#EXTINF:{segment.duration_s:.3f},", prefix + segment.path.name]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return "\n".join(line for line in lines if line) + "\n"
