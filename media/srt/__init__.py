"""SRT over libsrt through ctypes: caller, listener with a handshake-time accept filter,
connections with stats, a PyAV-ready reader, and the ReturnFeed streamid.

    conn = connect("ingest.example", 9000, SrtOptions(passphrase=..., streamid=...))
    conn.send(ts_bytes)

    with listen("0.0.0.0", 9000, SrtOptions(latency_ms=40), accept_filter=vet) as lst:
        conn = lst.accept()
        av.open(SrtReader(conn), format="mpegts", options=LOW_LATENCY_DEMUX)

See README.md beside this file for the streamid form and the reject codes.
"""

from .address import Address
from .connection import SrtConnection, connect
from .consts import RejectReason, reject_reason_name
from .errors import (
    SrtClosed,
    SrtConnectionLost,
    SrtError,
    SrtLibraryMissing,
    SrtRejected,
    SrtTimeout,
)
from .lib import version
from .listener import AcceptDecision, AcceptFilter, SrtListener, listen
from .options import SrtOptions
from .reader import LOW_LATENCY_DEMUX, SrtReader
from .stats import SrtStats
from .streamid import StreamId, StreamIdError, format_streamid, parse_streamid

__all__ = [
    "LOW_LATENCY_DEMUX",
    "AcceptDecision",
    "AcceptFilter",
    "Address",
    "RejectReason",
    "SrtClosed",
    "SrtConnection",
    "SrtConnectionLost",
    "SrtError",
    "SrtLibraryMissing",
    "SrtListener",
    "SrtOptions",
    "SrtReader",
    "SrtRejected",
    "SrtStats",
    "SrtTimeout",
    "StreamId",
    "StreamIdError",
    "connect",
    "format_streamid",
    "listen",
    "parse_streamid",
    "reject_reason_name",
    "version",
]
