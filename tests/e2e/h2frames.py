#!/usr/bin/env python3
"""Raw HTTP/2 frames crafted by hand (no third-party module) for the h2c
end-to-end tests: well-formed requests that curl cannot make (request
trailers, extended CONNECT) and hostile ones (floods, rapid reset, HPACK
bomb, CONTINUATION flood).

  h2frames.py PORT SCENARIO [N]

prints one JSON object: the server's SETTINGS, each stream's :status / body
length / RST_STREAM code, the GOAWAY error code (null if none), whether the
server closed the connection, and scenario-specific fields.

HPACK: requests use literal fields without indexing (new names, no
Huffman); the client advertises SETTINGS_HEADER_TABLE_SIZE 0 so the
server's responses never reference its dynamic table, and :status is
decoded from the static table or a literal (Huffman digits only).
"""
import json
import socket
import struct
import sys
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
SETTING_NAMES = {1: "header_table_size", 2: "enable_push", 3: "max_concurrent_streams",
                 4: "initial_window_size", 5: "max_frame_size", 6: "max_header_list_size",
                 8: "enable_connect_protocol"}
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
# RFC 7541 Appendix B codes of the ten digits (the only characters a :status holds)
HUFF_DIGITS = {(0b00000, 5): "0", (0b00001, 5): "1", (0b00010, 5): "2", (0b011001, 6): "3",
               (0b011010, 6): "4", (0b011011, 6): "5", (0b011100, 6): "6", (0b011101, 6): "7",
               (0b011110, 6): "8", (0b011111, 6): "9"}


def frame(ftype, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def hpack_int(v, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if v < limit:
        return bytes([first | v])
    out = [first | limit]
    v -= limit
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def hpack_str(s):
    if isinstance(s, str):
        s = s.encode()
    return hpack_int(len(s), 7) + s


def literal(name, value, indexing=False):
    """Literal field with a new name: without indexing, or with incremental indexing."""
    return (b"\x40" if indexing else b"\x00") + hpack_str(name) + hpack_str(value)


def request_block(method="GET", path="/", authority="h2.test", extra=(), scheme="http"):
    b = literal(":method", method) + literal(":scheme", scheme) + literal(":path", path)
    if authority is not None:
        b += literal(":authority", authority)
    for k, v in extra:
        b += literal(k, v)
    return b


def settings(**kw):
    ids = {v: k for k, v in SETTING_NAMES.items()}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in kw.items()))


def decode_int(b, i, prefix_bits):
    limit = (1 << prefix_bits) - 1
    v = b[i] & limit
    i += 1
    if v < limit:
        return v, i
    m = 0
    while True:
        c = b[i]
        i += 1
        v += (c & 127) << m
        m += 7
        if not c & 128:
            return v, i


def huffman_digits(data):
    bits = "".join(format(c, "08b") for c in data)
    out, i = "", 0
    while i < len(bits):
        for ln in (5, 6):
            code = bits[i:i + ln]
            if len(code) == ln and (int(code, 2), ln) in HUFF_DIGITS:
                out += HUFF_DIGITS[(int(code, 2), ln)]
                i += ln
                break
        else:
            break  # EOS padding (all ones) or not a digit
    return out


def decode_status(block):
    """:status from a response header block (the first field nghttp2 writes)."""
    i = 0
    while i < len(block) and block[i] & 0xE0 == 0x20:  # dynamic table size update
        _, i = decode_int(block, i, 5)
    if i >= len(block):
        return None
    c = block[i]
    if c & 0x80:
        idx, _ = decode_int(block, i, 7)
        return STATIC_STATUS.get(idx)
    idx, i = decode_int(block, i, 6 if c & 0x40 else 4)
    if idx not in STATIC_STATUS:
        return None
    huff = block[i] & 0x80
    ln, i = decode_int(block, i, 7)
    raw = block[i:i + ln]
    s = huffman_digits(raw) if huff else raw.decode("latin-1")
    return int(s) if s.isdigit() else None


class Conn:
    def __init__(self, port, window=1 << 30, rcvbuf=None):
        self.s = socket.socket()
        if rcvbuf:
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.settings = {}
        self.streams = {}
        self.goaway = None
        self.goaways = []  # [last_stream_id, error_code] of each GOAWAY
        self.closed = False
        self.send_error = None
        self.pending_block = None
        self.send(PREFACE + settings(header_table_size=0, initial_window_size=min(window, 2**31 - 1)))
        self.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", window - 65535)))

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except OSError as e:
            self.send_error = e.__class__.__name__
            return False

    def stream(self, sid):
        return self.streams.setdefault(sid, {"status": None, "body": b"", "rst": None, "end": False,
                                             "headers_frames": 0})

    def on_frame(self, ftype, flags, sid, p):
        if ftype == SETTINGS and not flags & ACK:
            for k in range(0, len(p), 6):
                i, v = struct.unpack(">HI", p[k:k + 6])
                self.settings[SETTING_NAMES.get(i, str(i))] = v
            self.send(frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.send(frame(PING, ACK, 0, p))
        elif ftype == GOAWAY:
            self.goaway = struct.unpack(">I", p[4:8])[0]
            self.goaways.append([struct.unpack(">I", p[0:4])[0] & 0x7fffffff, self.goaway])
        elif ftype in (HEADERS, CONTINUATION):
            st = self.stream(sid)
            if ftype == HEADERS:
                pad = p[0] if flags & 0x8 else 0
                off = (1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)
                self.pending_block = p[off:len(p) - pad]
                self.pending_end = flags & END_STREAM
            else:
                self.pending_block += p
            if flags & END_HEADERS:
                status = decode_status(self.pending_block)
                st["headers_frames"] += 1
                if status is not None and (st["status"] is None or st["status"] < 200):
                    st["status"] = status
                if self.pending_end:
                    st["end"] = True
        elif ftype == DATA:
            st = self.stream(sid)
            pad = p[0] if flags & 0x8 else 0
            st["body"] += p[(1 if flags & 0x8 else 0):len(p) - pad]
            if flags & END_STREAM:
                st["end"] = True
            if p:  # give the window back
                self.send(frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", len(p))))
        elif ftype == RST_STREAM:
            self.stream(sid)["rst"] = struct.unpack(">I", p[:4])[0]

    def pump(self, until=lambda c: False, timeout=5.0):
        """Reads frames until until(self), the peer closes, or the timeout."""
        deadline = time.time() + timeout
        while not until(self) and not self.closed:
            left = deadline - time.time()
            if left <= 0:
                break
            self.s.settimeout(left)
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                b = b""
            if not b:
                self.closed = True
                break
            self.buf += b
            while len(self.buf) >= 9:
                ln = int.from_bytes(self.buf[:3], "big")
                if len(self.buf) < 9 + ln:
                    break
                ftype, flags = self.buf[3], self.buf[4]
                sid = int.from_bytes(self.buf[5:9], "big") & 0x7fffffff
                p = self.buf[9:9 + ln]
                self.buf = self.buf[9 + ln:]
                self.on_frame(ftype, flags, sid, p)
        return self

    def done(self, sid):
        st = self.streams.get(sid)
        return st is not None and (st["end"] or st["rst"] is not None)

    def summary(self, **extra):
        out = {"settings": self.settings, "goaway": self.goaway, "goaways": self.goaways, "closed": self.closed,
               "send_error": self.send_error,
               "streams": {str(k): {"status": v["status"], "body_len": len(v["body"]), "rst": v["rst"],
                                    "end": v["end"], "body": v["body"][:300].decode("latin-1")}
                           for k, v in sorted(self.streams.items())}}
        out.update(extra)
        return out


def get(c, sid, path="/", **kw):
    c.send(frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block("GET", path, **kw)))


def scenario(port, name, n, size):
    if name == "settings":
        return Conn(port).pump(lambda c: bool(c.settings), 3).summary()

    if name == "get":
        c = Conn(port)
        get(c, 1, "/echo")
        return c.pump(lambda c: c.done(1)).summary()

    if name == "idle":
        # one request, then wait up to n seconds for the server to end the connection
        c = Conn(port)
        get(c, 1, "/echo")
        c.pump(lambda c: c.done(1))
        t0 = time.time()
        c.pump(lambda c: c.closed, timeout=n)
        return c.summary(idle_ms=int((time.time() - t0) * 1000))

    if name == "slow_headers":
        # a header block that never ends (slowloris): request_headers_timeout
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)  # its ACK must not split the block
        c.send(frame(HEADERS, 0, 1, request_block("GET", "/echo")))
        t0 = time.time()
        c.pump(lambda c: c.closed, timeout=n)
        return c.summary(ms=int((time.time() - t0) * 1000))

    if name in ("concurrency", "concurrency_acked"):
        # n streams at once on one connection, more than SETTINGS_MAX_CONCURRENT_STREAMS:
        # before the client acknowledged that SETTINGS (refused streams), or after
        # (a protocol error)
        c = Conn(port)
        if name == "concurrency_acked":
            c.pump(lambda c: bool(c.settings), 3)
            time.sleep(0.2)
        c.send(b"".join(frame(HEADERS, END_HEADERS | END_STREAM, 1 + 2 * i, request_block("GET", "/slow?ms=300"))
                        for i in range(n)))
        c.pump(lambda c: all(c.done(1 + 2 * i) for i in range(n)), timeout=20)
        ok = sum(1 for v in c.streams.values() if v["status"] == 200 and v["end"])
        refused = sum(1 for v in c.streams.values() if v["rst"] == 7)
        return {"ok": ok, "refused": refused, "goaway": c.goaway, "closed": c.closed}

    if name == "trailers":
        # POST with a body and request trailers: the upstream gets the body
        # (HTTP/1.1 upstreams get no trailers), the client its response
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS, 1, request_block("POST", "/echo", extra=[("content-type", "text/plain")])))
        c.send(frame(DATA, 0, 1, b"hello trailers"))
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, literal("x-checksum", "abc") + literal("grpc-status", "0")))
        c.pump(lambda c: c.done(1))
        get(c, 3, "/echo")  # and the connection goes on
        return c.pump(lambda c: c.done(3)).summary()

    if name == "no_authority":
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block("GET", "/echo", authority=None,
                                                                         extra=[("host", "from-host.test")])))
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 3, request_block("GET", "/echo", authority=None)))
        return c.pump(lambda c: c.done(1) and c.done(3)).summary()

    if name == "cookies":
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(
            "GET", "/echo", extra=[("cookie", "a=1"), ("x-other", "y"), ("cookie", "b=2"), ("cookie", "c=3")])))
        return c.pump(lambda c: c.done(1)).summary()

    if name == "connect":
        # plain CONNECT (no :protocol): not supported, 403
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS, 1, literal(":method", "CONNECT") + literal(":authority", "example.com:443")))
        return c.pump(lambda c: c.done(1)).summary()

    if name == "extended_connect":
        # RFC 8441: :protocol websocket (the HCM refuses an upgrade its upgrade_configs do not enable)
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)
        c.send(frame(HEADERS, END_HEADERS, 1, request_block("CONNECT", "/chat", extra=[
            (":protocol", "WebSocket"), ("sec-websocket-version", "13")])))
        c.pump(lambda c: c.done(1))
        get(c, 3, "/echo")
        return c.pump(lambda c: c.done(3)).summary()

    if name == "big_headers":
        # a header list over max_request_headers_kb (60 KiB) in HEADERS + CONTINUATION: 431
        c = Conn(port)
        block = request_block("GET", "/echo", extra=[("x-big-%d" % i, "v" * 8000) for i in range(9)])
        chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
        c.send(frame(HEADERS, END_STREAM | (END_HEADERS if len(chunks) == 1 else 0), 1, chunks[0]))
        for k, ch in enumerate(chunks[1:]):
            c.send(frame(CONTINUATION, END_HEADERS if k == len(chunks) - 2 else 0, 1, ch))
        c.pump(lambda c: c.done(1))
        get(c, 3, "/echo")
        return c.pump(lambda c: c.done(3)).summary()

    if name == "split_headers":
        # a legitimate 40 KB header block cut into many small frames (HEADERS + CONTINUATION)
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)
        block = request_block("GET", "/echo", extra=[("x-big", "v" * 40000)])
        chunks = [block[i:i + n] for i in range(0, len(block), n)]
        c.send(frame(HEADERS, END_STREAM, 1, chunks[0]))
        for k, ch in enumerate(chunks[1:]):
            c.send(frame(CONTINUATION, END_HEADERS if k == len(chunks) - 2 else 0, 1, ch))
        return c.pump(lambda c: c.done(1)).summary(frames=len(chunks))

    if name == "big_trailers":
        # request trailers over max_request_headers_kb: that stream is reset,
        # the connection lives on (past request_headers_timeout: n seconds)
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)
        c.send(frame(HEADERS, END_HEADERS, 1, request_block("POST", "/echo")))
        c.send(frame(DATA, 0, 1, b"body"))
        block = b"".join(literal("x-t-%d" % i, "t" * 8000) for i in range(9))
        chunks = [block[i:i + 16000] for i in range(0, len(block), 16000)]
        c.send(frame(HEADERS, END_STREAM, 1, chunks[0]))
        for k, ch in enumerate(chunks[1:]):
            c.send(frame(CONTINUATION, END_HEADERS if k == len(chunks) - 2 else 0, 1, ch))
        c.pump(lambda c: c.done(1))
        c.pump(timeout=n)
        get(c, 3, "/echo")
        return c.pump(lambda c: c.done(3)).summary()

    if name == "many_headers":
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, request_block(
            "GET", "/echo", extra=[("x-h-%d" % i, "v") for i in range(150)])))
        return c.pump(lambda c: c.done(1)).summary()

    if name == "hpack_bomb":
        # one 4000-byte field in the decoder's table, then n one-byte references
        # to it: a small block decoding to n * 4 KB. Bounded by max_request_headers_kb:
        # 431, and the connection serves the next request
        c = Conn(port)
        block = request_block("GET", "/echo") + literal("x-bomb", "b" * 4000, indexing=True) + b"\xbe" * n
        chunks = [block[i:i + 16384] for i in range(0, len(block), 16384)]
        c.send(frame(HEADERS, END_STREAM | (END_HEADERS if len(chunks) == 1 else 0), 1, chunks[0]))
        for k, ch in enumerate(chunks[1:]):
            c.send(frame(CONTINUATION, END_HEADERS if k == len(chunks) - 2 else 0, 1, ch))
        c.pump(lambda c: c.done(1))
        get(c, 3, "/echo")
        return c.pump(lambda c: c.done(3)).summary(decoded_bytes=4006 * n, block_bytes=len(block))

    if name == "continuation_flood":
        # HEADERS without END_HEADERS, then CONTINUATION frames that never end
        # the block (each carrying one field of `size` bytes, argv[4])
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)
        c.send(frame(HEADERS, 0, 1, request_block("GET", "/echo")))
        piece = frame(CONTINUATION, 0, 1, literal("x-c", "c" * size) if size else b"")
        sent = 0
        for i in range(n):
            if not c.send(piece):
                break
            sent += 1
        return c.pump(timeout=5).summary(sent=sent)

    if name == "rapid_reset":
        # HEADERS then RST_STREAM(CANCEL) at once, n times (CVE-2023-44487)
        c = Conn(port)
        batch = b""
        for i in range(n):
            sid = 1 + 2 * i
            batch += frame(HEADERS, END_HEADERS | END_STREAM, sid, request_block("GET", "/slow?ms=500"))
            batch += frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
        c.send(batch)
        return c.pump(lambda c: c.closed, timeout=5).summary(sent=n)

    if name == "upload_stall":
        # a request body pushed as fast as possible to an upstream that
        # never reads: how much does the server take before it stops reading?
        c = Conn(port)
        c.pump(lambda c: bool(c.settings), 3)  # the 256 MiB stream window
        c.send(frame(HEADERS, END_HEADERS, 1, request_block("POST", "/hole")))
        chunk = frame(DATA, 0, 1, b"u" * 16384)
        c.s.settimeout(1)  # a stall this long: the server stopped reading
        sent = 0
        try:
            while sent < n:
                c.s.sendall(chunk)
                sent += 16384
        except OSError as e:
            c.send_error = e.__class__.__name__
        return c.summary(sent=sent)

    if name == "empty_data":
        c = Conn(port)
        c.send(frame(HEADERS, END_HEADERS, 1, request_block("POST", "/upload")))
        for i in range(n):
            c.send(frame(DATA, 0, 1))
        return c.pump(lambda c: c.closed, timeout=5).summary()

    if name == "empty_headers":
        c = Conn(port)
        c.send(b"".join(frame(HEADERS, END_HEADERS, 1 + 2 * i) for i in range(n)))
        return c.pump(lambda c: c.closed, timeout=5).summary()

    if name == "priority_flood":
        c = Conn(port)
        c.send(b"".join(frame(PRIORITY, 0, 1 + 2 * (i % 50), struct.pack(">IB", 0, 15)) for i in range(n)))
        return c.pump(lambda c: c.closed, timeout=5).summary()

    if name == "window_update_flood":
        c = Conn(port)
        c.send(b"".join(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1)) for i in range(n)))
        return c.pump(lambda c: c.closed, timeout=5).summary()

    if name in ("ping_flood", "settings_flood"):
        # control frames whose ACKs queue up at a client that never reads
        c = Conn(port, rcvbuf=4096)
        one = frame(PING, 0, 0, b"12345678") if name == "ping_flood" else frame(SETTINGS, 0, 0)
        chunk = one * (65536 // len(one))
        sent = 0
        t0 = time.time()
        while sent < n and time.time() - t0 < 20:
            if not c.send(chunk):
                break
            sent += 65536 // len(one)
        return c.pump(lambda c: c.closed, timeout=5).summary(sent=sent)

    raise SystemExit("unknown scenario " + name)


def main():
    port, name = int(sys.argv[1]), sys.argv[2]
    n = float(sys.argv[3]) if len(sys.argv) > 3 and "." in sys.argv[3] else int(sys.argv[3]) if len(sys.argv) > 3 else 0
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    print(json.dumps(scenario(port, name, n, size)))


if __name__ == "__main__":
    main()
