"""Numbers from libsrt's public header (srt.h and access_control.h, libsrt 1.5).

Only the ones this binding uses. They are part of libsrt's ABI and stable across 1.5.x.
"""

from __future__ import annotations

from enum import IntEnum

# Socket options (enum SRT_SOCKOPT).
SRTO_SNDSYN = 1
SRTO_RCVSYN = 2
SRTO_SNDTIMEO = 13
SRTO_RCVTIMEO = 14
SRTO_LATENCY = 23
SRTO_PASSPHRASE = 26
SRTO_PBKEYLEN = 27
SRTO_CONNTIMEO = 36
SRTO_RCVLATENCY = 43
SRTO_PEERLATENCY = 44
SRTO_STREAMID = 46
SRTO_PAYLOADSIZE = 49
SRTO_TRANSTYPE = 50
SRTO_ENFORCEDENCRYPTION = 53
SRTO_IPV6ONLY = 54
SRTO_PEERIDLETIMEO = 55
SRTO_PACKETFILTER = 60  # e.g. "fec,cols:10,rows:1"; negotiated in the handshake

SRTT_LIVE = 0  # enum SRT_TRANSTYPE

SRT_LIVE_DEF_PLSIZE = 1316  # 7 x 188-byte MPEG-TS packets
SRT_LIVE_MAX_PLSIZE = 1456  # MTU 1500 - UDP header 28 - SRT header 16
SRT_STREAMID_MAX = 512  # libsrt refuses a longer SRTO_STREAMID
SRT_PASSPHRASE_MIN = 10
SRT_PASSPHRASE_MAX = 79
PACKET_FILTER_MAX = 512  # our limit on the SRTO_PACKETFILTER string (libsrt takes short ones)

SRT_INVALID_SOCK = -1
SRT_ERROR = -1

# Error codes (enum SRT_ERRNO): 1000 * major + minor.
SRT_ENOSERVER = 1001
SRT_ECONNREJ = 1002
SRT_ESCLOSED = 1005
SRT_ECONNFAIL = 2000
SRT_ECONNLOST = 2001
SRT_ENOCONN = 2002
SRT_EINVSOCK = 5004
SRT_ENOLISTEN = 5006
SRT_EASYNCSND = 6001
SRT_EASYNCRCV = 6002
SRT_ETIMEOUT = 6003

# epoll event flags (enum SRT_EPOLL_OPT).
SRT_EPOLL_IN = 0x1
SRT_EPOLL_OUT = 0x4
SRT_EPOLL_ERR = 0x8

# Socket states (enum SRT_SOCKSTATUS).
SRTS_CONNECTED = 5
SRTS_BROKEN = 6
SRTS_CLOSING = 7
SRTS_CLOSED = 8
SRTS_NONEXIST = 9

SRT_REJC_PREDEFINED = 1000  # 1000 + an HTTP status code
SRT_REJC_USERDEFINED = 2000  # 2000 + anything the application likes


class RejectReason(IntEnum):
    """Why a connection was refused: libsrt's own reasons (< 1000) and the
    predefined application codes (1000 + HTTP status) from access_control.h."""

    UNKNOWN = 0
    SYSTEM = 1
    PEER = 2
    RESOURCE = 3
    ROGUE = 4
    BACKLOG = 5
    IPE = 6
    CLOSE = 7
    VERSION = 8
    RDVCOOKIE = 9
    BADSECRET = 10  # wrong passphrase
    UNSECURE = 11  # one side encrypts and the other does not
    MESSAGEAPI = 12
    CONGESTION = 13
    FILTER = 14
    GROUP = 15
    TIMEOUT = 16
    FALLBACK = 1000
    KEY_NOTSUP = 1001
    FILEPATH = 1002
    HOSTNOTFOUND = 1003
    BAD_REQUEST = 1400  # the streamid does not parse
    UNAUTHORIZED = 1401
    OVERLOAD = 1402
    FORBIDDEN = 1403  # the streamid's credential is not accepted
    NOTFOUND = 1404
    BAD_MODE = 1405
    UNACCEPTABLE = 1406
    CONFLICT = 1409  # the resource already has a publisher
    NOTSUP_MEDIA = 1415
    LOCKED = 1423
    FAILED_DEPEND = 1424
    ISE = 1500  # the listener failed inside its accept filter
    UNIMPLEMENTED = 1501
    GW = 1502
    DOWN = 1503
    VERSION_APP = 1505
    NOROOM = 1507


def reject_reason_name(code: int) -> str:
    """A stable name for a reject code: the enum name, or PREDEFINED_n / USERDEFINED_n."""
    try:
        return RejectReason(code).name
    except ValueError:
        if code >= SRT_REJC_USERDEFINED:
            return f"USERDEFINED_{code - SRT_REJC_USERDEFINED}"
        if code >= SRT_REJC_PREDEFINED:
            return f"PREDEFINED_{code - SRT_REJC_PREDEFINED}"
        return f"INTERNAL_{code}"
