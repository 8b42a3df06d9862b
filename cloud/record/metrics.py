"""Recording and HLS metrics, in the backend's registry (docs/monitoring.md)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge

DVR_VIEWER_S = 10.0  # a reader that fetched a playlist this recently is watching


class RecordMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.bytes_written = Counter(
            "record_bytes_written", "Bytes of recording segments written", registry=registry
        )
        self.segments = Counter(
            "record_segments", "Recording files written (init and segments)", registry=registry
        )
        self.errors = Counter(
            "record_errors",
            "Recordings ended by an error, by reason (disk_full, write_error, error) and layer",
            ["reason", "layer"],
            registry=registry,
        )
        self.dropped = Counter(
            "record_dropped_units",
            "Units a recording dropped because its disk fell behind",
            registry=registry,
        )
        self.active = Gauge("record_active", "Recordings being written", registry=registry)
        self.hls_requests = Counter(
            "hls_requests",
            "HLS and recording requests, by kind (playlist, init, segment, download)",
            ["kind"],
            registry=registry,
        )
        self._readers: dict[str, float] = {}  # a reader's key -> its last playlist fetch
        self.dvr_viewers = Gauge(
            "dvr_viewers",
            f"Readers that fetched an HLS playlist in the last {DVR_VIEWER_S:.0f} s",
            registry=registry,
        )
        self.dvr_viewers.set_function(self._count_readers)

    def playlist_read(self, reader: str) -> None:
        self.hls_requests.labels("playlist").inc()
        self._readers[reader] = time.monotonic()

    def _count_readers(self) -> float:
        since = time.monotonic() - DVR_VIEWER_S
        for key in [k for k, at in self._readers.items() if at < since]:
            del self._readers[key]
        return float(len(self._readers))
