"""C structures from libsrt's srt.h and the socket headers, laid out for ctypes.

tests/media/srt/test_layout.py compiles offsetof/sizeof against the installed headers, so
these cannot drift silently. Field names are the C names, on purpose: grep finds both.
"""

from __future__ import annotations

import ctypes

SRTSOCKET = ctypes.c_int32


class SrtMsgCtrl(ctypes.Structure):
    """SRT_MSGCTRL: per-message parameters for srt_sendmsg2 / srt_recvmsg2 (48 bytes)."""

    _fields_ = [
        ("flags", ctypes.c_int),
        ("msgttl", ctypes.c_int),
        ("inorder", ctypes.c_int),
        ("boundary", ctypes.c_int),
        ("srctime", ctypes.c_int64),
        ("pktseq", ctypes.c_int32),
        ("msgno", ctypes.c_int32),
        ("grpdata", ctypes.c_void_p),
        ("grpdata_size", ctypes.c_size_t),
    ]


class SrtEpollEvent(ctypes.Structure):
    """SRT_EPOLL_EVENT: one ready socket from srt_epoll_uwait."""

    _fields_ = [("fd", SRTSOCKET), ("events", ctypes.c_int)]


class CBytePerfMon(ctypes.Structure):
    """struct CBytePerfMon (SRT_TRACEBSTATS), filled by srt_bistats.

    Generated once from srt.h 1.5.1 (every field, in order); libsrt only ever appends fields,
    which is why callers hand libsrt a larger buffer than this (see stats.py).
    """

    _fields_ = [
        ("msTimeStamp", ctypes.c_int64),
        ("pktSentTotal", ctypes.c_int64),
        ("pktRecvTotal", ctypes.c_int64),
        ("pktSndLossTotal", ctypes.c_int),
        ("pktRcvLossTotal", ctypes.c_int),
        ("pktRetransTotal", ctypes.c_int),
        ("pktSentACKTotal", ctypes.c_int),
        ("pktRecvACKTotal", ctypes.c_int),
        ("pktSentNAKTotal", ctypes.c_int),
        ("pktRecvNAKTotal", ctypes.c_int),
        ("usSndDurationTotal", ctypes.c_int64),
        ("pktSndDropTotal", ctypes.c_int),
        ("pktRcvDropTotal", ctypes.c_int),
        ("pktRcvUndecryptTotal", ctypes.c_int),
        ("byteSentTotal", ctypes.c_uint64),
        ("byteRecvTotal", ctypes.c_uint64),
        ("byteRcvLossTotal", ctypes.c_uint64),
        ("byteRetransTotal", ctypes.c_uint64),
        ("byteSndDropTotal", ctypes.c_uint64),
        ("byteRcvDropTotal", ctypes.c_uint64),
        ("byteRcvUndecryptTotal", ctypes.c_uint64),
        ("pktSent", ctypes.c_int64),
        ("pktRecv", ctypes.c_int64),
        ("pktSndLoss", ctypes.c_int),
        ("pktRcvLoss", ctypes.c_int),
        ("pktRetrans", ctypes.c_int),
        ("pktRcvRetrans", ctypes.c_int),
        ("pktSentACK", ctypes.c_int),
        ("pktRecvACK", ctypes.c_int),
        ("pktSentNAK", ctypes.c_int),
        ("pktRecvNAK", ctypes.c_int),
        ("mbpsSendRate", ctypes.c_double),
        ("mbpsRecvRate", ctypes.c_double),
        ("usSndDuration", ctypes.c_int64),
        ("pktReorderDistance", ctypes.c_int),
        ("pktRcvAvgBelatedTime", ctypes.c_double),
        ("pktRcvBelated", ctypes.c_int64),
        ("pktSndDrop", ctypes.c_int),
        ("pktRcvDrop", ctypes.c_int),
        ("pktRcvUndecrypt", ctypes.c_int),
        ("byteSent", ctypes.c_uint64),
        ("byteRecv", ctypes.c_uint64),
        ("byteRcvLoss", ctypes.c_uint64),
        ("byteRetrans", ctypes.c_uint64),
        ("byteSndDrop", ctypes.c_uint64),
        ("byteRcvDrop", ctypes.c_uint64),
        ("byteRcvUndecrypt", ctypes.c_uint64),
        ("usPktSndPeriod", ctypes.c_double),
        ("pktFlowWindow", ctypes.c_int),
        ("pktCongestionWindow", ctypes.c_int),
        ("pktFlightSize", ctypes.c_int),
        ("msRTT", ctypes.c_double),
        ("mbpsBandwidth", ctypes.c_double),
        ("byteAvailSndBuf", ctypes.c_int),
        ("byteAvailRcvBuf", ctypes.c_int),
        ("mbpsMaxBW", ctypes.c_double),
        ("byteMSS", ctypes.c_int),
        ("pktSndBuf", ctypes.c_int),
        ("byteSndBuf", ctypes.c_int),
        ("msSndBuf", ctypes.c_int),
        ("msSndTsbPdDelay", ctypes.c_int),
        ("pktRcvBuf", ctypes.c_int),
        ("byteRcvBuf", ctypes.c_int),
        ("msRcvBuf", ctypes.c_int),
        ("msRcvTsbPdDelay", ctypes.c_int),
        ("pktSndFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterExtraTotal", ctypes.c_int),
        ("pktRcvFilterSupplyTotal", ctypes.c_int),
        ("pktRcvFilterLossTotal", ctypes.c_int),
        ("pktSndFilterExtra", ctypes.c_int),
        ("pktRcvFilterExtra", ctypes.c_int),
        ("pktRcvFilterSupply", ctypes.c_int),
        ("pktRcvFilterLoss", ctypes.c_int),
        ("pktReorderTolerance", ctypes.c_int),
        ("pktSentUniqueTotal", ctypes.c_int64),
        ("pktRecvUniqueTotal", ctypes.c_int64),
        ("byteSentUniqueTotal", ctypes.c_uint64),
        ("byteRecvUniqueTotal", ctypes.c_uint64),
        ("pktSentUnique", ctypes.c_int64),
        ("pktRecvUnique", ctypes.c_int64),
        ("byteSentUnique", ctypes.c_uint64),
        ("byteRecvUnique", ctypes.c_uint64),
    ]


class SockaddrIn(ctypes.Structure):
    """struct sockaddr_in (Linux layout)."""

    _fields_ = [
        ("sin_family", ctypes.c_ushort),
        ("sin_port", ctypes.c_uint16),  # network byte order
        ("sin_addr", ctypes.c_ubyte * 4),
        ("sin_zero", ctypes.c_ubyte * 8),
    ]


class SockaddrIn6(ctypes.Structure):
    """struct sockaddr_in6 (Linux layout)."""

    _fields_ = [
        ("sin6_family", ctypes.c_ushort),
        ("sin6_port", ctypes.c_uint16),  # network byte order
        ("sin6_flowinfo", ctypes.c_uint32),
        ("sin6_addr", ctypes.c_ubyte * 16),
        ("sin6_scope_id", ctypes.c_uint32),
    ]


class SockaddrStorage(ctypes.Structure):
    """struct sockaddr_storage: room for any address libsrt hands back."""

    # 128 bytes, 8-aligned like glibc's (whose tail is an unsigned long __ss_align).
    _fields_ = [
        ("ss_family", ctypes.c_ushort),
        ("_ss_padding", ctypes.c_ubyte * 6),
        ("_ss_align", ctypes.c_uint64 * 15),
    ]
