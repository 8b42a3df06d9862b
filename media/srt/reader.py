"""SrtReader: a read-only file object over an SrtConnection, for PyAV's demuxer.

    container = av.open(SrtReader(conn), format="mpegts", options=LOW_LATENCY_DEMUX)

`read` blocks until a message arrives and returns b"" at end of stream, which is exactly
what PyAV's custom-I/O read callback expects.
"""

from __future__ import annotations

from .connection import SrtConnection

LOW_LATENCY_DEMUX = {"probesize": "32768", "analyzeduration": "0", "fflags": "noparse+nofillin"}
"""Demuxer options measured to hand out packets 0.2-0.3 ms after their bytes arrive.
Not `fflags=nobuffer`: it drops the probed packets, the first IDR among them."""


class SrtReader:
    """`read(n)` over an SRT connection. Owns nothing: close the connection yourself."""

    def __init__(self, conn: SrtConnection, timeout: float | None = None) -> None:
        self._conn = conn
        self._timeout = timeout
        self._pending = b""  # the rest of a message larger than the last read asked for
        self._failed = False
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        """Up to `n` bytes (one SRT message's worth at most); b"" once the stream has ended.

        Never more than `n`: PyAV copies the result into a buffer of exactly `n` bytes.
        Raises SrtTimeout if `timeout` passes with nothing received.
        """
        if n == 0 or self._failed:
            return b""
        try:
            data = self._pending or self._conn.recv(timeout=self._timeout)
        except BaseException:
            # PyAV stashes the first exception and re-raises it from open()/demux(), but
            # FFmpeg may read again first; ending the stream makes it stop at once instead
            # of waiting out another timeout whose exception PyAV would drop.
            self._failed = True
            raise
        if 0 <= n < len(data):
            data, self._pending = data[:n], data[n:]
        else:
            self._pending = b""
        self.bytes_read += len(data)
        return data
