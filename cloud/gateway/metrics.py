"""The gateway's Prometheus metrics, in the backend's registry (served on /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from cloud.gateway.seedmetrics import ViewerMetrics


class GatewayMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.viewers = ViewerMetrics(registry)  # the seed's simulcast_* and network_packet_loss
        self.ingest_refused = Counter(
            "gateway_srt_refused",
            "SRT callers refused during the handshake, by reason",
            ["reason"],
            registry=registry,
        )
        self.ingest_errors = Counter(
            "gateway_srt_stream_errors",
            "SRT publisher streams that ended in an error (garbage, truncated, idle), by reason",
            ["reason"],
            registry=registry,
        )
        self.publishers = Gauge(
            "gateway_srt_publishers", "Connected SRT publishers", registry=registry
        )
        self.units = Counter(
            "gateway_units", "Media units demuxed from SRT", ["kind"], registry=registry
        )
        self.viewer_drops = Counter(
            "gateway_viewer_dropped_units",
            "Units dropped because a viewer fell behind",
            registry=registry,
        )
        self.viewers_refused = Counter(
            "gateway_viewers_refused",
            "WHEP offers refused before answering, by reason (no_udp_port: the range is full)",
            ["reason"],
            registry=registry,
        )
        # The shared WebRTC port (--webrtc-udp-port, udpmux.py): what no viewer claims is
        # dropped, by reason (unknown_ufrag, unknown_address, error); viewers in its tables.
        self.webrtc_udp_dropped = Counter(
            "gateway_webrtc_udp_dropped",
            "Datagrams to the shared WebRTC UDP port that no viewer claimed, by reason",
            ["reason"],
            registry=registry,
        )
        self.webrtc_udp_mux_viewers = Gauge(
            "gateway_webrtc_udp_mux_viewers",
            "Viewers the shared WebRTC UDP port routes to (their ICE ufrag is known)",
            registry=registry,
        )
        self.keyframe_requests = Counter(
            "gateway_keyframe_requests",
            "Keyframe requests sent to the director, by reason",
            ["reason"],
            registry=registry,
        )
        # What SRT could not repair, per layer (cloud/gateway/linkhealth.py). Unrecovered
        # packets are holes in the stream: a broken picture until the next IDR.
        self.srt_packets_lost = Counter(
            "gateway_srt_packets_lost",
            "SRT packets missing on arrival at the ingest, before retransmission or FEC",
            ["layer"],
            registry=registry,
        )
        self.srt_packets_fec_rebuilt = Counter(
            "gateway_srt_packets_fec_rebuilt",
            "SRT packets the ingest's FEC filter rebuilt without a retransmission",
            ["layer"],
            registry=registry,
        )
        self.srt_packets_unrecovered = Counter(
            "gateway_srt_packets_unrecovered",
            "SRT packets the ingest never got in time (too late to play, or undecryptable)",
            ["layer"],
            registry=registry,
        )
        self.ts_continuity_errors = Counter(
            "gateway_ts_continuity_errors",
            "MPEG-TS continuity-counter gaps the demuxer was handed, by layer and stream",
            ["layer", "stream"],
            registry=registry,
        )
        self.video_holes = Counter(
            "gateway_video_holes",
            "Holes in a publisher's video held back to the next IDR after them (repair.py)",
            ["layer"],
            registry=registry,
        )
        self.video_held_units = Counter(
            "gateway_video_held_units",
            "Video frames held back because they might hold or follow a hole",
            ["layer"],
            registry=registry,
        )
