/* One viewer's RTP stream and its send path, in C: the part of the gateway that runs for
 * every packet of every viewer.
 *
 * Why C: in Python, writing the header, protecting with libsrtp and handing the packet to
 * the kernel cost ~10 us of interpreter per packet and viewer, about as much as the rest of
 * the gateway together (bench/sendpath.py, bench/viewers.py). Here `Stream.send` does all
 * of one unit for one viewer in one call: numbering and NACK history, the header and header
 * extensions (abs-send-time stamped now), SRTP in place with pylibsrtp's own libsrtp and
 * session, and UDP GSO runs straight to the socket's file descriptor.
 *
 * libsrtp is not linked here: srtpwrite.py passes the address of the `srtp_protect` that
 * pylibsrtp's extension carries (`set_protect`) and, per call, its session's context, so the
 * packets and the session's state are exactly those `Session.protect` would make.
 *
 * The packet buffer is one static buffer: every call runs holding the GIL and sends (or
 * spills) all it wrote before it returns.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* Linux 4.18+ */
#endif

#define HISTORY 128 /* aiortc's RTP_HISTORY_SIZE */
#define BUFFER_BYTES 1500 /* room for one packet and its SRTP trailer */
#define MAX_PACKET (BUFFER_BYTES - (16 + 128)) /* pylibsrtp's own limit: tag and MKI room */
/* One GSO send: at most 64 datagrams (older kernels' UDP_MAX_SEGMENTS), well under 64 KiB. */
#define BATCH_BYTES (60 * 1024)
#define MAX_SEGMENTS 64
#define UNIT_CLOCK 90000 /* Unit.pts is on the publisher's 90 kHz timeline */
#define NTP_UNIX_S 2208988800ULL /* 1900-01-01 to 1970-01-01 */
#define MAX_EXTENSION 256

typedef int (*protect_fn)(void *ctx, void *rtp, int *length);

static protect_fn protect = NULL;
static int gso = 1; /* off for good once the kernel refuses it */
static int gso_refused_errno = 0;
static unsigned long long gso_sends = 0, datagrams = 0, spilled = 0;
static unsigned char buffer[BATCH_BYTES];
static PyObject *PacketTooLong, *SrtpFailed;

typedef struct {
    int32_t seq; /* -1: empty */
    uint32_t timestamp;
    uint8_t marker;
    PyObject *payload;
} Sent;

typedef struct {
    PyObject_HEAD
    int payload_type;
    unsigned long ssrc;
    unsigned long clock_rate;
    int rtx_payload_type; /* -1: none negotiated */
    unsigned long rtx_ssrc;
    int sequence_number;
    unsigned long timestamp_origin;
    int rtx_sequence_number;
    unsigned long long packets;
    unsigned long long octets; /* payload bytes, as RTCP sender reports count them */
    unsigned long last_timestamp;
    Sent history[HISTORY];
} Stream;

/* --- numbering ---------------------------------------------------------------------------- */

static uint32_t
timestamp_at(Stream *self, long long pts)
{
    unsigned __int128 scaled = (unsigned __int128)pts * self->clock_rate / UNIT_CLOCK;
    return (uint32_t)(self->timestamp_origin + (uint64_t)scaled);
}

static int
pts_of(PyObject *pts_obj, long long *out)
{
    long long pts = PyLong_AsLongLong(pts_obj);
    if (pts == -1 && PyErr_Occurred())
        return -1;
    if (pts < 0) {
        PyErr_SetString(PyExc_ValueError, "a PTS is never negative here");
        return -1;
    }
    *out = pts;
    return 0;
}

static int
timestamp_of(Stream *self, PyObject *pts_obj, uint32_t *out)
{
    long long pts;
    if (pts_of(pts_obj, &pts) < 0)
        return -1;
    *out = timestamp_at(self, pts);
    return 0;
}

static int
protect_ready(void)
{
    if (protect != NULL)
        return 0;
    PyErr_SetString(SrtpFailed, "no srtp_protect: call set_protect first");
    return -1;
}

/* Number `n` payloads from the stream's next sequence number on: history and counters. */
static void
stamp(Stream *self, PyObject *payloads, Py_ssize_t n, uint32_t timestamp)
{
    int seq = self->sequence_number;
    unsigned long long octets = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *payload = PyTuple_GET_ITEM(payloads, i);
        Sent *slot = &self->history[seq % HISTORY];
        Py_INCREF(payload);
        Py_XSETREF(slot->payload, payload);
        slot->seq = seq;
        slot->timestamp = timestamp;
        slot->marker = i == n - 1 ? 0x80 : 0;
        octets += (unsigned long long)PyBytes_GET_SIZE(payload);
        seq = (seq + 1) & 0xFFFF;
    }
    self->sequence_number = seq;
    self->packets += (unsigned long long)n;
    self->octets += octets;
    self->last_timestamp = timestamp;
}

/* A tuple of bytes; `longest`: its longest payload's length. */
static int
check_payloads(PyObject *payloads, Py_ssize_t *longest)
{
    if (!PyTuple_Check(payloads)) {
        PyErr_SetString(PyExc_TypeError, "payloads must be a tuple of bytes");
        return -1;
    }
    *longest = 0;
    Py_ssize_t n = PyTuple_GET_SIZE(payloads);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *payload = PyTuple_GET_ITEM(payloads, i);
        if (!PyBytes_Check(payload)) {
            PyErr_SetString(PyExc_TypeError, "payloads must be a tuple of bytes");
            return -1;
        }
        if (PyBytes_GET_SIZE(payload) > *longest)
            *longest = PyBytes_GET_SIZE(payload);
    }
    return 0;
}

/* Whether a packet of `head` bytes before its payload fits the buffer with the SRTP
 * trailer, for the longest payload. */
static int
fits(Py_ssize_t head, Py_ssize_t longest)
{
    if (head + longest <= MAX_PACKET)
        return 0;
    PyErr_Format(PacketTooLong, "an RTP packet of %zd bytes is too long for SRTP here",
                 head + longest);
    return -1;
}

/* --- sending ------------------------------------------------------------------------------ */

typedef struct {
    int fd; /* -1: nothing goes to the socket directly */
    struct sockaddr_storage address;
    socklen_t address_length;
    PyObject *peer; /* the address as Python has it, for the spill */
    PyObject *spill; /* the transport's sendto: takes what the socket does not */
} Route;

static int
route_address(Route *route, PyObject *address)
{
    PyObject *host_obj, *port_obj;
    if (!PyTuple_Check(address) || PyTuple_GET_SIZE(address) < 2) {
        PyErr_SetString(PyExc_TypeError, "the address is a (host, port, ...) tuple");
        return -1;
    }
    host_obj = PyTuple_GET_ITEM(address, 0);
    port_obj = PyTuple_GET_ITEM(address, 1);
    const char *host = PyUnicode_AsUTF8(host_obj);
    if (host == NULL)
        return -1;
    long port = PyLong_AsLong(port_obj);
    if (port == -1 && PyErr_Occurred())
        return -1;
    memset(&route->address, 0, sizeof route->address);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&route->address;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&route->address;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        route->address_length = sizeof *v4;
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        if (PyTuple_GET_SIZE(address) >= 4) {
            v6->sin6_flowinfo = htonl((uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(address, 2)));
            v6->sin6_scope_id = (uint32_t)PyLong_AsUnsignedLong(PyTuple_GET_ITEM(address, 3));
            if (PyErr_Occurred())
                return -1;
        }
        route->address_length = sizeof *v6;
    } else {
        /* Not a numeric address: only the transport can send there. */
        route->fd = -1;
    }
    return 0;
}

static int
spill(Route *route, const unsigned char *data, Py_ssize_t size)
{
    PyObject *datagram = PyBytes_FromStringAndSize((const char *)data, size);
    if (datagram == NULL)
        return -1;
    PyObject *done = PyObject_CallFunctionObjArgs(route->spill, datagram, route->peer, NULL);
    Py_DECREF(datagram);
    if (done == NULL)
        return -1;
    Py_DECREF(done);
    spilled++;
    return 0;
}

static int
no_gso(int error)
{
    return error == EIO || error == EINVAL || error == ENOPROTOOPT || error == EOPNOTSUPP;
}

/* Send `count` datagrams of `segment` bytes (the last may be shorter) lying in the buffer
 * from `start` to `stop`. The first the socket does not take, and every one after it, goes
 * to the spill (the transport, which queues it behind what it holds, or reports the error
 * to its protocol as it would have). */
static int
flush(Route *route, size_t start, size_t stop, size_t segment, int count)
{
    if (route->fd >= 0) {
        const struct sockaddr *to = (const struct sockaddr *)&route->address;
        if (count == 1) {
            if (sendto(route->fd, buffer + start, stop - start, 0, to, route->address_length) >= 0) {
                datagrams++;
                return 0;
            }
            route->fd = -1;
        } else if (gso) {
            struct iovec io = {buffer + start, stop - start};
            union {
                char bytes[CMSG_SPACE(sizeof(uint16_t))];
                struct cmsghdr align;
            } control;
            struct msghdr msg = {0};
            msg.msg_name = (void *)to;
            msg.msg_namelen = route->address_length;
            msg.msg_iov = &io;
            msg.msg_iovlen = 1;
            msg.msg_control = control.bytes;
            msg.msg_controllen = sizeof control.bytes;
            struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t size = (uint16_t)segment;
            memcpy(CMSG_DATA(cm), &size, sizeof size);
            if (sendmsg(route->fd, &msg, 0) >= 0) {
                gso_sends++;
                datagrams += (unsigned long long)count;
                return 0;
            }
            if (no_gso(errno)) {
                gso = 0; /* the kernel or the device cannot: one at a time from now on */
                gso_refused_errno = errno;
            } else {
                route->fd = -1;
            }
        }
    }
    for (size_t at = start; at < stop; at += segment) {
        size_t size = stop - at < segment ? stop - at : segment;
        if (route->fd >= 0) {
            if (sendto(route->fd, buffer + at, size, 0, (const struct sockaddr *)&route->address,
                       route->address_length) >= 0) {
                datagrams++;
                continue;
            }
            route->fd = -1;
        }
        if (spill(route, buffer + at, (Py_ssize_t)size) < 0)
            return -1;
    }
    return 0;
}

static uint32_t
abs_send_time_now(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ntp = ((uint64_t)now.tv_sec + NTP_UNIX_S) << 32;
    ntp += ((uint64_t)now.tv_nsec << 32) / 1000000000ULL;
    return (uint32_t)(ntp >> 14) & 0xFFFFFF;
}

/* Number, write, protect and send one unit's packets through `route`; the SRTP bytes sent
 * (or spilled), -1 with an exception set. The payloads were checked (check_payloads, fits). */
static long long
send_unit(Stream *self, void *context, Route *route, const char *extension,
          Py_ssize_t extension_length, long abs_at, uint32_t timestamp, PyObject *payloads)
{
    size_t head = 12 + (size_t)extension_length;
    Py_ssize_t n = PyTuple_GET_SIZE(payloads);
    int seq = self->sequence_number;
    stamp(self, payloads, n, timestamp);

    unsigned char first_byte = extension_length ? 0x90 : 0x80;
    uint32_t abs_send_time = abs_at >= 0 ? abs_send_time_now() : 0;
    uint32_t ssrc = htonl((uint32_t)self->ssrc), stamp_be = htonl(timestamp);
    size_t offset = 0, start = 0, segment = 0;
    int count = 0, closed = 0; /* closed: the run has its one shorter (last) datagram */
    long long sent = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *payload = PyTuple_GET_ITEM(payloads, i);
        size_t plain = head + (size_t)PyBytes_GET_SIZE(payload);
        if (offset + BUFFER_BYTES > BATCH_BYTES || count == MAX_SEGMENTS) {
            if (flush(route, start, offset, segment, count) < 0)
                return -1;
            offset = start = 0;
            count = 0;
        }
        unsigned char *packet = buffer + offset;
        uint16_t seq_be = htons((uint16_t)seq);
        packet[0] = first_byte;
        packet[1] = (unsigned char)(self->payload_type | (i == n - 1 ? 0x80 : 0));
        memcpy(packet + 2, &seq_be, 2);
        memcpy(packet + 4, &stamp_be, 4);
        memcpy(packet + 8, &ssrc, 4);
        memcpy(packet + 12, extension, (size_t)extension_length);
        if (abs_at >= 0) {
            packet[12 + abs_at] = (unsigned char)(abs_send_time >> 16);
            packet[13 + abs_at] = (unsigned char)(abs_send_time >> 8);
            packet[14 + abs_at] = (unsigned char)abs_send_time;
        }
        memcpy(packet + head, PyBytes_AS_STRING(payload), plain - head);
        int length = (int)plain;
        int status = protect(context, packet, &length);
        if (status) {
            PyErr_Format(SrtpFailed, "srtp_protect failed with status %d", status);
            return -1;
        }
        size_t size = (size_t)length;
        if (count && (closed || size > segment)) {
            if (flush(route, start, offset, segment, count) < 0)
                return -1;
            start = offset;
            count = 0;
        }
        if (!count) {
            segment = size;
            closed = 0;
        } else if (size < segment) {
            closed = 1;
        }
        count++;
        offset += size;
        sent += (long long)size;
        seq = (seq + 1) & 0xFFFF;
    }
    if (count && flush(route, start, offset, segment, count) < 0)
        return -1;
    return sent;
}

static int
check_extension(PyObject *extension, char **bytes, Py_ssize_t *length, long abs_at)
{
    if (PyBytes_AsStringAndSize(extension, bytes, length) < 0)
        return -1;
    if (*length > MAX_EXTENSION) {
        PyErr_SetString(PyExc_ValueError, "the header-extension block is too long");
        return -1;
    }
    if (abs_at < -1 || (abs_at >= 0 && abs_at + 3 > *length)) {
        PyErr_SetString(PyExc_ValueError, "abs-send-time lies outside the extension block");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(send_doc,
"send(context, fd, address, spill, extension, abs_at, pts, payloads) -> int\n\n"
"Number, write, SRTP-protect and send one unit's packets (the marker bit on the last);\n"
"returns the SRTP bytes sent. `context`: the libsrtp session context's address; `fd`: the\n"
"socket to send on directly, -1 for none; `spill(datagram, address)`: what the socket does\n"
"not take, from the first it refuses on, in order; `extension`: the header-extension block,\n"
"with abs-send-time written now at `abs_at` (-1: none). Runs of equal sizes go to the kernel\n"
"in one UDP GSO send.");

static PyObject *
Stream_send(Stream *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError, "send takes 8 arguments");
        return NULL;
    }
    if (protect_ready() < 0)
        return NULL;
    void *context = PyLong_AsVoidPtr(args[0]);
    if (context == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "no SRTP context");
        return NULL;
    }
    Route route = {0};
    route.fd = PyLong_AsLong(args[1]);
    if (route.fd == -1 && PyErr_Occurred())
        return NULL;
    route.peer = args[2];
    route.spill = args[3];
    if (route.fd >= 0 && route_address(&route, args[2]) < 0)
        return NULL;
    char *extension;
    Py_ssize_t extension_length;
    long abs_at = PyLong_AsLong(args[5]);
    if (abs_at == -1 && PyErr_Occurred())
        return NULL;
    if (check_extension(args[4], &extension, &extension_length, abs_at) < 0)
        return NULL;
    uint32_t timestamp;
    Py_ssize_t longest;
    if (timestamp_of(self, args[6], &timestamp) < 0 || check_payloads(args[7], &longest) < 0 ||
        fits(12 + extension_length, longest) < 0)
        return NULL;
    long long sent = send_unit(self, context, &route, extension, extension_length, abs_at,
                               timestamp, args[7]);
    return sent < 0 ? NULL : PyLong_FromLongLong(sent);
}

/* --- the Python type ---------------------------------------------------------------------- */

static int
Stream_init(Stream *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"payload_type", "ssrc", "clock_rate", "rtx_payload_type",
                            "rtx_ssrc", "sequence_number", "timestamp_origin",
                            "rtx_sequence_number", NULL};
    PyObject *rtx = Py_None;
    unsigned long ssrc, clock_rate, rtx_ssrc = 0, origin = 0;
    int payload_type, seq = 0, rtx_seq = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "ikk|Okiki", names, &payload_type, &ssrc,
                                     &clock_rate, &rtx, &rtx_ssrc, &seq, &origin, &rtx_seq))
        return -1;
    if (payload_type < 0 || payload_type > 127 || clock_rate == 0) {
        PyErr_SetString(PyExc_ValueError, "a payload type is 0-127 and a clock rate above 0");
        return -1;
    }
    int rtx_payload_type = -1;
    if (rtx != Py_None) {
        rtx_payload_type = (int)PyLong_AsLong(rtx);
        if (rtx_payload_type == -1 && PyErr_Occurred())
            return -1;
    }
    self->payload_type = payload_type;
    self->ssrc = ssrc & 0xFFFFFFFFUL;
    self->clock_rate = clock_rate;
    self->rtx_payload_type = rtx_payload_type;
    self->rtx_ssrc = rtx_ssrc & 0xFFFFFFFFUL;
    self->sequence_number = seq & 0xFFFF;
    self->timestamp_origin = origin & 0xFFFFFFFFUL;
    self->rtx_sequence_number = rtx_seq & 0xFFFF;
    return 0;
}

static PyObject *
Stream_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Stream *self = (Stream *)type->tp_alloc(type, 0);
    if (self != NULL) {
        for (int i = 0; i < HISTORY; i++)
            self->history[i].seq = -1;
    }
    return (PyObject *)self;
}

static void
Stream_dealloc(Stream *self)
{
    for (int i = 0; i < HISTORY; i++)
        Py_CLEAR(self->history[i].payload);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

PyDoc_STRVAR(stamp_doc,
"stamp(pts, payloads) -> (first sequence number, timestamp)\n\n"
"Number one unit's packets for a caller that writes them itself: history and counters.");

static PyObject *
Stream_stamp(Stream *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "stamp takes 2 arguments");
        return NULL;
    }
    uint32_t timestamp;
    Py_ssize_t longest;
    if (timestamp_of(self, args[0], &timestamp) < 0 || check_payloads(args[1], &longest) < 0 ||
        fits(0, longest) < 0)
        return NULL;
    int first = self->sequence_number;
    stamp(self, args[1], PyTuple_GET_SIZE(args[1]), timestamp);
    return Py_BuildValue("(ik)", first, (unsigned long)timestamp);
}

PyDoc_STRVAR(sent_doc,
"sent(sequence_number) -> (sequence_number, timestamp, marker, payload) or None\n\n"
"A packet still in the NACK history.");

static PyObject *
Stream_sent(Stream *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    if (seq < 0 || seq > 0xFFFF)
        Py_RETURN_NONE;
    Sent *slot = &self->history[seq % HISTORY];
    if (slot->seq != seq || slot->payload == NULL)
        Py_RETURN_NONE;
    return Py_BuildValue("(ikiO)", slot->seq, (unsigned long)slot->timestamp, slot->marker,
                         slot->payload);
}

static PyObject *
Stream_get_rtx_payload_type(Stream *self, void *closure)
{
    if (self->rtx_payload_type < 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(self->rtx_payload_type);
}

static PyObject *
Stream_get_sequence_number(Stream *self, void *closure)
{
    return PyLong_FromLong(self->sequence_number);
}

static PyObject *
Stream_get_rtx_sequence_number(Stream *self, void *closure)
{
    return PyLong_FromLong(self->rtx_sequence_number);
}

static int
Stream_set_rtx_sequence_number(Stream *self, PyObject *value, void *closure)
{
    long seq = value ? PyLong_AsLong(value) : -1;
    if (seq == -1 && (value == NULL || PyErr_Occurred())) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "rtx_sequence_number cannot be deleted");
        return -1;
    }
    self->rtx_sequence_number = (int)(seq & 0xFFFF);
    return 0;
}

#define READONLY_ULONG(name)                                                                   \
    static PyObject *Stream_get_##name(Stream *self, void *closure)                            \
    {                                                                                          \
        return PyLong_FromUnsignedLongLong((unsigned long long)self->name);                    \
    }
READONLY_ULONG(ssrc)
READONLY_ULONG(clock_rate)
READONLY_ULONG(rtx_ssrc)
READONLY_ULONG(timestamp_origin)
READONLY_ULONG(packets)
READONLY_ULONG(octets)
READONLY_ULONG(last_timestamp)

static PyObject *
Stream_get_payload_type(Stream *self, void *closure)
{
    return PyLong_FromLong(self->payload_type);
}

static PyGetSetDef Stream_getset[] = {
    {"payload_type", (getter)Stream_get_payload_type, NULL, NULL, NULL},
    {"ssrc", (getter)Stream_get_ssrc, NULL, NULL, NULL},
    {"clock_rate", (getter)Stream_get_clock_rate, NULL, NULL, NULL},
    {"rtx_payload_type", (getter)Stream_get_rtx_payload_type, NULL, NULL, NULL},
    {"rtx_ssrc", (getter)Stream_get_rtx_ssrc, NULL, NULL, NULL},
    {"sequence_number", (getter)Stream_get_sequence_number, NULL, NULL, NULL},
    {"timestamp_origin", (getter)Stream_get_timestamp_origin, NULL, NULL, NULL},
    {"rtx_sequence_number", (getter)Stream_get_rtx_sequence_number,
     (setter)Stream_set_rtx_sequence_number, NULL, NULL},
    {"packets", (getter)Stream_get_packets, NULL, NULL, NULL},
    {"octets", (getter)Stream_get_octets, NULL, NULL, NULL},
    {"last_timestamp", (getter)Stream_get_last_timestamp, NULL, NULL, NULL},
    {NULL},
};

static PyMethodDef Stream_methods[] = {
    {"send", (PyCFunction)(void (*)(void))Stream_send, METH_FASTCALL, send_doc},
    {"stamp", (PyCFunction)(void (*)(void))Stream_stamp, METH_FASTCALL, stamp_doc},
    {"sent", (PyCFunction)Stream_sent, METH_O, sent_doc},
    {NULL},
};

static PyTypeObject StreamType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cloud.gateway._rtpout.Stream",
    .tp_doc = PyDoc_STR("One viewer's RTP stream for one track: numbering, timestamps, NACK "
                        "history, and its send path."),
    .tp_basicsize = sizeof(Stream),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_new = Stream_new,
    .tp_init = (initproc)Stream_init,
    .tp_dealloc = (destructor)Stream_dealloc,
    .tp_methods = Stream_methods,
    .tp_getset = Stream_getset,
};

/* --- seats and lanes: one unit to every steady viewer in one call ------------------------ */

/* A viewer's track while its tap is steady (feed.py): where its packets go, the checks that
 * it may still go there, its place on the tap's PTS line, and what aiortc's sender reports
 * and getStats read (written by `sync`, not per unit). */
typedef struct {
    PyObject_HEAD
    Stream *stream;
    PyObject *session; /* holds the SRTP context alive */
    void *context;
    Route route;
    PyObject *extension; /* bytes, held for the two below */
    const char *extension_bytes;
    Py_ssize_t extension_length;
    long abs_at;
    int audio;
    /* Still sendable: dtls._state is `connected`, nominated[1] is `pair`, and the carrier
     * transport is open and holds nothing back. */
    PyObject *dtls, *connected, *nominated, *pair, *carrier;
    PyObject *sender_state, *dtls_state; /* the sender's and DTLS transport's __dict__ */
    long long anchor_pts, offset, last_pts, last_src, sent_pts;
    unsigned long long anchor_ntp, pending_packets, pending_bytes;
    int took; /* the unit that made it leave went out through it */
    PyObject *owner, *error;
} Seat;

static PyObject *STATE, *ONE, *IS_CLOSING, *BUFFER_SIZE;
static PyObject *PACKET_COUNT, *OCTET_COUNT, *NTP_TIMESTAMP, *RTP_TIMESTAMP, *TX_PACKETS,
    *TX_BYTES;

static int
Seat_init(Seat *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"owner", "stream", "session", "context", "fd", "address", "spill",
                            "extension", "abs_at", "audio", "dtls", "connected", "nominated",
                            "pair", "carrier", "sender_state", "dtls_state", "anchor_pts",
                            "anchor_ntp", "offset", "last_pts", "last_src", NULL};
    PyObject *owner, *stream, *session, *context, *address, *spill, *extension, *dtls,
        *connected, *nominated, *pair, *carrier, *sender_state, *dtls_state;
    int fd, audio;
    long abs_at;
    long long anchor_pts, offset, last_pts, last_src;
    unsigned long long anchor_ntp;
    if (!PyArg_ParseTupleAndKeywords(
            args, kwargs, "$OO!OOiOOSlpOOO!OOO!O!LKLLL", names, &owner, &StreamType, &stream,
            &session, &context, &fd, &address, &spill, &extension, &abs_at, &audio, &dtls,
            &connected, &PyDict_Type, &nominated, &pair, &carrier, &PyDict_Type, &sender_state,
            &PyDict_Type, &dtls_state, &anchor_pts, &anchor_ntp, &offset, &last_pts, &last_src))
        return -1;
    if (self->stream != NULL) {
        PyErr_SetString(PyExc_TypeError, "a seat is made once");
        return -1;
    }
    char *bytes;
    Py_ssize_t length;
    if (check_extension(extension, &bytes, &length, abs_at) < 0)
        return -1;
    self->context = PyLong_AsVoidPtr(context);
    if (self->context == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "no SRTP context");
        return -1;
    }
    self->route.fd = fd;
    if (fd < 0) {
        PyErr_SetString(PyExc_ValueError, "a seat sends on a socket");
        return -1;
    }
    if (route_address(&self->route, address) < 0)
        return -1;
    if (self->route.fd < 0) {
        PyErr_SetString(PyExc_ValueError, "a seat sends to a numeric address");
        return -1;
    }
    self->route.peer = Py_NewRef(address);
    self->route.spill = Py_NewRef(spill);
    self->stream = (Stream *)Py_NewRef(stream);
    self->session = Py_NewRef(session);
    self->extension = Py_NewRef(extension);
    self->extension_bytes = bytes;
    self->extension_length = length;
    self->abs_at = abs_at;
    self->audio = audio;
    self->dtls = Py_NewRef(dtls);
    self->connected = Py_NewRef(connected);
    self->nominated = Py_NewRef(nominated);
    self->pair = Py_NewRef(pair);
    self->carrier = Py_NewRef(carrier);
    self->sender_state = Py_NewRef(sender_state);
    self->dtls_state = Py_NewRef(dtls_state);
    self->owner = Py_NewRef(owner);
    self->anchor_pts = anchor_pts;
    self->anchor_ntp = anchor_ntp;
    self->offset = offset;
    self->last_pts = last_pts;
    self->last_src = last_src;
    self->sent_pts = -1;
    return 0;
}

/* A seat refers to its tap, whose viewer may lead back to the seat's lane: the cycle
 * collector must see through it. */
static int
Seat_traverse(Seat *self, visitproc visit, void *arg)
{
    Py_VISIT(self->route.peer);
    Py_VISIT(self->route.spill);
    Py_VISIT(self->stream);
    Py_VISIT(self->session);
    Py_VISIT(self->extension);
    Py_VISIT(self->dtls);
    Py_VISIT(self->connected);
    Py_VISIT(self->nominated);
    Py_VISIT(self->pair);
    Py_VISIT(self->carrier);
    Py_VISIT(self->sender_state);
    Py_VISIT(self->dtls_state);
    Py_VISIT(self->owner);
    Py_VISIT(self->error);
    return 0;
}

static int
Seat_clear(Seat *self)
{
    /* A cleared seat never sends again: `stream` marks it, so it goes first. */
    Py_CLEAR(self->stream);
    self->extension_bytes = NULL;
    self->extension_length = 0;
    Py_CLEAR(self->route.peer);
    Py_CLEAR(self->route.spill);
    Py_CLEAR(self->session);
    Py_CLEAR(self->extension);
    Py_CLEAR(self->dtls);
    Py_CLEAR(self->connected);
    Py_CLEAR(self->nominated);
    Py_CLEAR(self->pair);
    Py_CLEAR(self->carrier);
    Py_CLEAR(self->sender_state);
    Py_CLEAR(self->dtls_state);
    Py_CLEAR(self->owner);
    Py_CLEAR(self->error);
    return 0;
}

static void
Seat_dealloc(Seat *self)
{
    PyObject_GC_UnTrack(self);
    Seat_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int
set_number(PyObject *dict, PyObject *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int done = PyDict_SetItem(dict, key, value);
    Py_DECREF(value);
    return done;
}

static int
add_number(PyObject *dict, PyObject *key, unsigned long long amount)
{
    if (!amount)
        return 0;
    PyObject *had = PyDict_GetItemWithError(dict, key);
    if (had == NULL && PyErr_Occurred())
        return -1;
    unsigned long long base = had != NULL ? PyLong_AsUnsignedLongLong(had) : 0;
    if (PyErr_Occurred())
        return -1;
    return set_number(dict, key, PyLong_FromUnsignedLongLong(base + amount));
}

/* What rtpsend's `_sent` writes per unit, written now: the last unit's RTP timestamp and
 * its NTP time on the viewer's report line, the sender's counts, the DTLS transport's. */
static int
seat_sync(Seat *self)
{
    Stream *stream = self->stream;
    if (stream == NULL)
        return 0; /* never made, or cleared */
    if (self->sent_pts >= 0) {
        long long d = self->sent_pts - self->anchor_pts;
        /* floor((d << 32) / 90000), as Python's // (d may be negative: audio before the
         * picture that anchored the line) */
        __int128 scaled = (__int128)d * ((__int128)1 << 32);
        __int128 q = scaled / UNIT_CLOCK;
        if (scaled % UNIT_CLOCK != 0 && scaled < 0)
            q -= 1;
        unsigned long long ntp = (unsigned long long)((__int128)self->anchor_ntp + q);
        if (set_number(self->sender_state, NTP_TIMESTAMP, PyLong_FromUnsignedLongLong(ntp)) < 0 ||
            set_number(self->sender_state, RTP_TIMESTAMP,
                       PyLong_FromUnsignedLong(stream->last_timestamp)) < 0 ||
            set_number(self->sender_state, PACKET_COUNT,
                       PyLong_FromUnsignedLongLong(stream->packets)) < 0 ||
            set_number(self->sender_state, OCTET_COUNT,
                       PyLong_FromUnsignedLongLong(stream->octets)) < 0)
            return -1;
    }
    if (add_number(self->dtls_state, TX_PACKETS, self->pending_packets) < 0 ||
        add_number(self->dtls_state, TX_BYTES, self->pending_bytes) < 0)
        return -1;
    self->pending_packets = self->pending_bytes = 0;
    return 0;
}

/* 1: the seat may still send; 0: not (it leaves before the unit); -1: error. */
static int
seat_usable(Seat *self)
{
    PyObject *state = PyObject_GetAttr(self->dtls, STATE);
    if (state == NULL)
        return -1;
    Py_DECREF(state);
    if (state != self->connected)
        return 0;
    PyObject *pair = PyDict_GetItemWithError(self->nominated, ONE);
    if (pair != self->pair)
        return PyErr_Occurred() ? -1 : 0;
    PyObject *closing = PyObject_CallMethodNoArgs(self->carrier, IS_CLOSING);
    if (closing == NULL)
        return -1;
    int is_closing = PyObject_IsTrue(closing);
    Py_DECREF(closing);
    if (is_closing)
        return is_closing < 0 ? -1 : 0;
    PyObject *held = PyObject_CallMethodNoArgs(self->carrier, BUFFER_SIZE);
    if (held == NULL)
        return -1;
    int holds = PyObject_IsTrue(held);
    Py_DECREF(held);
    return holds < 0 ? -1 : !holds;
}

static PyObject *
Seat_sync(Seat *self, PyObject *unused)
{
    if (seat_sync(self) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Seat_get(Seat *self, void *closure)
{
    const char *name = closure;
    if (!strcmp(name, "owner"))
        return Py_NewRef(self->owner ? self->owner : Py_None);
    if (!strcmp(name, "error"))
        return Py_NewRef(self->error ? self->error : Py_None);
    if (!strcmp(name, "took"))
        return PyBool_FromLong(self->took);
    if (!strcmp(name, "audio"))
        return PyBool_FromLong(self->audio);
    if (!strcmp(name, "last_pts"))
        return PyLong_FromLongLong(self->last_pts);
    return PyLong_FromLongLong(self->last_src);
}

static PyGetSetDef Seat_getset[] = {
    {"owner", (getter)Seat_get, NULL, "whose seat it is (the tap)", "owner"},
    {"error", (getter)Seat_get, NULL, "the exception that made it leave, or None", "error"},
    {"took", (getter)Seat_get, NULL, "the unit that made it leave went out through it", "took"},
    {"audio", (getter)Seat_get, NULL, "an audio track's seat", "audio"},
    {"last_pts", (getter)Seat_get, NULL, "the last PTS sent, on the tap's line", "last_pts"},
    {"last_src", (getter)Seat_get, NULL, "the publisher's PTS of the last unit sent",
     "last_src"},
    {NULL},
};

static PyMethodDef Seat_methods[] = {
    {"sync", (PyCFunction)Seat_sync, METH_NOARGS,
     "sync(): write the sender's counters and last timestamps where aiortc reads them."},
    {NULL},
};

static PyTypeObject SeatType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cloud.gateway._rtpout.Seat",
    .tp_doc = PyDoc_STR("A viewer's track in a Lane: where its packets go, the checks that "
                        "they still may, and its place on the tap's PTS line."),
    .tp_basicsize = sizeof(Seat),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Seat_init,
    .tp_dealloc = (destructor)Seat_dealloc,
    .tp_traverse = (traverseproc)Seat_traverse,
    .tp_clear = (inquiry)Seat_clear,
    .tp_methods = Seat_methods,
    .tp_getset = Seat_getset,
};

/* One seat and one unit: 1 sent (or skipped: not past what it sent), 0 it leaves. */
static int
seat_send(Seat *self, long long pts, PyObject *payloads, Py_ssize_t packets, Py_ssize_t longest)
{
    if (self->stream == NULL) {
        self->took = 0;
        return 0;
    }
    if (self->audio && pts <= self->last_src)
        return 1; /* that instant went out already, from the other layer */
    long long shifted = pts + self->offset;
    if (shifted <= self->last_pts)
        return 1;
    int usable = seat_usable(self);
    if (usable <= 0) {
        self->took = 0;
        return usable;
    }
    if (fits(12 + self->extension_length, longest) < 0)
        return -1;
    self->took = 1;
    self->last_src = pts;
    self->last_pts = shifted;
    Route route = self->route;
    long long sent = send_unit(self->stream, self->context, &route, self->extension_bytes,
                               self->extension_length, self->abs_at,
                               timestamp_at(self->stream, shifted), payloads);
    if (sent < 0)
        return -1;
    self->sent_pts = shifted;
    self->pending_packets += (unsigned long long)packets;
    self->pending_bytes += (unsigned long long)sent;
    return route.fd >= 0; /* the socket refused some: the tap's own path goes on */
}

typedef struct {
    PyObject_HEAD
    PyObject *seats; /* list */
} Lane;

static int
Lane_init(Lane *self, PyObject *args, PyObject *kwargs)
{
    if (!PyArg_ParseTuple(args, ":Lane"))
        return -1;
    Py_XSETREF(self->seats, PyList_New(0));
    return self->seats == NULL ? -1 : 0;
}

static int
Lane_traverse(Lane *self, visitproc visit, void *arg)
{
    Py_VISIT(self->seats);
    return 0;
}

static int
Lane_clear(Lane *self)
{
    Py_CLEAR(self->seats);
    return 0;
}

static void
Lane_dealloc(Lane *self)
{
    PyObject_GC_UnTrack(self);
    Lane_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The seats; a lane made without __init__ or cleared by the cycle collector has none. */
static PyObject *
lane_seats(Lane *self)
{
    if (self->seats == NULL)
        self->seats = PyList_New(0);
    return self->seats;
}

static PyObject *
Lane_add(Lane *self, PyObject *seat)
{
    if (!PyObject_TypeCheck(seat, &SeatType) || ((Seat *)seat)->stream == NULL) {
        PyErr_SetString(PyExc_TypeError, "a lane seats Seats");
        return NULL;
    }
    PyObject *seats = lane_seats(self);
    if (seats == NULL || PyList_Append(seats, seat) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *
Lane_remove(Lane *self, PyObject *seat)
{
    if (lane_seats(self) == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(self->seats);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (PyList_GET_ITEM(self->seats, i) == seat) {
            if (PySequence_DelItem(self->seats, i) < 0)
                return NULL;
            Py_RETURN_TRUE;
        }
    }
    Py_RETURN_FALSE;
}

static Py_ssize_t
Lane_length(Lane *self)
{
    return self->seats == NULL ? 0 : PyList_GET_SIZE(self->seats);
}

PyDoc_STRVAR(lane_send_doc,
"send(pts, payloads) -> list of the seats that left\n\n"
"One unit (on the publisher's PTS line) to every seat: each shifts it onto its tap's line,\n"
"skips it if it is not past what it sent, and sends it. A seat that can no longer send\n"
"(DTLS not connected, another ICE pair, its socket held back or closed) leaves before the\n"
"unit (took False); one whose socket refused part of it leaves after it (took True), with\n"
"the rest spilled to its transport; one whose send failed leaves with `error` set. The\n"
"seats that left are out of the lane, their counters synced.");

static PyObject *
Lane_send(Lane *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "send takes 2 arguments");
        return NULL;
    }
    long long pts;
    Py_ssize_t longest;
    PyObject *payloads = args[1];
    if (protect_ready() < 0 || pts_of(args[0], &pts) < 0 ||
        check_payloads(payloads, &longest) < 0)
        return NULL;
    Py_ssize_t packets = PyTuple_GET_SIZE(payloads);
    if (lane_seats(self) == NULL)
        return NULL;
    /* A snapshot: a spill runs Python (the transport's sendto), which must not be able to
     * move the seats under this loop. */
    PyObject *seats = PyList_AsTuple(self->seats);
    PyObject *left = seats != NULL ? PyList_New(0) : NULL;
    if (left == NULL) {
        Py_XDECREF(seats);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(seats); i++) {
        Seat *seat = (Seat *)PyTuple_GET_ITEM(seats, i);
        int stays = seat_send(seat, pts, payloads, packets, longest);
        if (stays < 0) { /* this viewer's error, never the others' */
            PyObject *type, *value, *traceback;
            PyErr_Fetch(&type, &value, &traceback);
            PyErr_NormalizeException(&type, &value, &traceback);
            if (traceback != NULL && value != NULL)
                PyException_SetTraceback(value, traceback);
            Py_XSETREF(seat->error, value != NULL ? value : Py_NewRef(Py_None));
            Py_XDECREF(type);
            Py_XDECREF(traceback);
            stays = 0;
        }
        if (!stays && PyList_Append(left, (PyObject *)seat) < 0)
            goto failed;
    }
    Py_CLEAR(seats);
    Py_ssize_t gone = PyList_GET_SIZE(left);
    if (gone) {
        PyObject *kept = PyList_New(0);
        if (kept == NULL)
            goto failed;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(self->seats); i++) {
            PyObject *seat = PyList_GET_ITEM(self->seats, i);
            int leaves = PySequence_Contains(left, seat);
            if (leaves < 0 || (!leaves && PyList_Append(kept, seat) < 0)) {
                Py_DECREF(kept);
                goto failed;
            }
        }
        Py_SETREF(self->seats, kept);
        for (Py_ssize_t i = 0; i < gone; i++) {
            if (seat_sync((Seat *)PyList_GET_ITEM(left, i)) < 0)
                goto failed;
        }
    }
    return left;
failed:
    Py_XDECREF(seats);
    Py_DECREF(left);
    return NULL;
}

static PyObject *
Lane_sync(Lane *self, PyObject *unused)
{
    if (lane_seats(self) == NULL)
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(self->seats);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (seat_sync((Seat *)PyList_GET_ITEM(self->seats, i)) < 0)
            return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
Lane_get_seats(Lane *self, void *closure)
{
    if (lane_seats(self) == NULL)
        return NULL;
    return PyList_GetSlice(self->seats, 0, PyList_GET_SIZE(self->seats));
}

static PyMethodDef Lane_methods[] = {
    {"send", (PyCFunction)(void (*)(void))Lane_send, METH_FASTCALL, lane_send_doc},
    {"add", (PyCFunction)Lane_add, METH_O, "add(seat)"},
    {"remove", (PyCFunction)Lane_remove, METH_O, "remove(seat) -> whether it was there"},
    {"sync", (PyCFunction)Lane_sync, METH_NOARGS, "sync(): every seat's Seat.sync()"},
    {NULL},
};

static PyGetSetDef Lane_getset[] = {
    {"seats", (getter)Lane_get_seats, NULL, "the seats, in order (a copy)", NULL},
    {NULL},
};

static PySequenceMethods Lane_sequence = {
    .sq_length = (lenfunc)Lane_length,
};

static PyTypeObject LaneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "cloud.gateway._rtpout.Lane",
    .tp_doc = PyDoc_STR("The seats of one layer's video or audio: a unit goes to all of them "
                        "in one call."),
    .tp_basicsize = sizeof(Lane),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lane_init,
    .tp_dealloc = (destructor)Lane_dealloc,
    .tp_traverse = (traverseproc)Lane_traverse,
    .tp_clear = (inquiry)Lane_clear,
    .tp_methods = Lane_methods,
    .tp_getset = Lane_getset,
    .tp_as_sequence = &Lane_sequence,
};

/* --- the module --------------------------------------------------------------------------- */

static PyObject *
set_protect(PyObject *module, PyObject *arg)
{
    void *address = PyLong_AsVoidPtr(arg);
    if (address == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "no srtp_protect address");
        return NULL;
    }
    protect = (protect_fn)address;
    Py_RETURN_NONE;
}

static PyObject *
counters(PyObject *module, PyObject *unused)
{
    return Py_BuildValue("{s:O,s:i,s:K,s:K,s:K}", "gso", gso ? Py_True : Py_False,
                         "gso_refused_errno", gso_refused_errno, "gso_sends", gso_sends,
                         "datagrams", datagrams, "spilled", spilled);
}

static PyObject *
set_gso(PyObject *module, PyObject *arg)
{
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    gso = on;
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"set_protect", set_protect, METH_O,
     "set_protect(address): the `srtp_protect` every send calls (pylibsrtp's)."},
    {"counters", counters, METH_NOARGS,
     "counters() -> dict: GSO on or off (and the errno that turned it off), GSO sends, "
     "datagrams sent to sockets directly and datagrams spilled to transports."},
    {"set_gso", set_gso, METH_O, "set_gso(on): allow UDP GSO (tests turn it off)."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "cloud.gateway._rtpout",
    "One viewer's RTP stream and its send path, in C (see _rtpout.c).", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__rtpout(void)
{
    if (PyType_Ready(&StreamType) < 0 || PyType_Ready(&SeatType) < 0 ||
        PyType_Ready(&LaneType) < 0)
        return NULL;
    STATE = PyUnicode_InternFromString("_state");
    ONE = PyLong_FromLong(1);
    IS_CLOSING = PyUnicode_InternFromString("is_closing");
    BUFFER_SIZE = PyUnicode_InternFromString("get_write_buffer_size");
    PACKET_COUNT = PyUnicode_InternFromString("_RTCRtpSender__packet_count");
    OCTET_COUNT = PyUnicode_InternFromString("_RTCRtpSender__octet_count");
    NTP_TIMESTAMP = PyUnicode_InternFromString("_RTCRtpSender__ntp_timestamp");
    RTP_TIMESTAMP = PyUnicode_InternFromString("_RTCRtpSender__rtp_timestamp");
    TX_PACKETS = PyUnicode_InternFromString("_RTCDtlsTransport__tx_packets");
    TX_BYTES = PyUnicode_InternFromString("_RTCDtlsTransport__tx_bytes");
    if (!STATE || !ONE || !IS_CLOSING || !BUFFER_SIZE || !PACKET_COUNT || !OCTET_COUNT ||
        !NTP_TIMESTAMP || !RTP_TIMESTAMP || !TX_PACKETS || !TX_BYTES)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    PacketTooLong = PyErr_NewExceptionWithDoc(
        "cloud.gateway._rtpout.PacketTooLong",
        "An RTP packet longer than the buffer leaves room for with the SRTP trailer.",
        PyExc_ValueError, NULL);
    SrtpFailed = PyErr_NewExceptionWithDoc(
        "cloud.gateway._rtpout.SrtpFailed",
        "libsrtp refused to protect a packet (its error status is in the message).",
        PyExc_RuntimeError, NULL);
    if (PacketTooLong == NULL || SrtpFailed == NULL ||
        PyModule_AddObjectRef(module, "PacketTooLong", PacketTooLong) < 0 ||
        PyModule_AddObjectRef(module, "SrtpFailed", SrtpFailed) < 0 ||
        PyModule_AddObjectRef(module, "Stream", (PyObject *)&StreamType) < 0 ||
        PyModule_AddObjectRef(module, "Seat", (PyObject *)&SeatType) < 0 ||
        PyModule_AddObjectRef(module, "Lane", (PyObject *)&LaneType) < 0 ||
        PyModule_AddIntConstant(module, "HISTORY", HISTORY) < 0 ||
        PyModule_AddIntConstant(module, "MAX_PACKET", MAX_PACKET) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
