#!/usr/bin/python3
"""WebSocket over HTTP/2 (RFC 8441 extended CONNECT) with hand-made frames:
python3-websockets has no HTTP/2 client. For tests/e2e/websocket.sh.

  ws_h2.py PORT PATH

Connects with h2c prior knowledge, checks the server's
SETTINGS_ENABLE_CONNECT_PROTOCOL, opens CONNECT :protocol websocket on
PATH, sends a text and a 100 kB binary WebSocket message, reads them back,
closes the WebSocket and the stream. Prints one JSON object.

HPACK: requests use literals without indexing (no Huffman); the client
advertises SETTINGS_HEADER_TABLE_SIZE 0, so the response's :status is an
indexed static entry or a literal (Huffman digits decoded here).
"""
import base64
import json
import os
import socket
import struct
import sys
import time

DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 6, 7, 8
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
HUFF = {"00000": "0", "00001": "1", "00010": "2", "011001": "3", "011010": "4", "011011": "5",
        "011100": "6", "011101": "7", "011110": "8", "011111": "9"}


def frame(t, flags, sid, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([t, flags]) + struct.pack(">I", sid) + payload


def hint(v, bits, first=0):
    lim = (1 << bits) - 1
    if v < lim:
        return bytes([first | v])
    out = [first | lim]
    v -= lim
    while v >= 128:
        out.append((v & 127) | 128)
        v >>= 7
    out.append(v)
    return bytes(out)


def hstr(s):
    b = s.encode()
    return hint(len(b), 7) + b


def lit(n, v):
    return b"\x00" + hstr(n) + hstr(v)


def dint(b, i, bits):
    lim = (1 << bits) - 1
    v = b[i] & lim
    i += 1
    if v < lim:
        return v, i
    m = 0
    while True:
        v += (b[i] & 127) << m
        m += 7
        i += 1
        if not b[i - 1] & 128:
            return v, i


def status_of(block):
    i = 0
    while i < len(block) and block[i] & 0xe0 == 0x20:  # dynamic table size updates (we asked for 0)
        _, i = dint(block, i, 5)
    block = block[i:]
    if block[0] & 0x80:
        idx, _ = dint(block, 0, 7)
        return STATIC_STATUS.get(idx)
    idx, i = dint(block, 0, 6 if block[0] & 0x40 else 4)
    if idx != 8:
        return None
    huff = block[i] & 0x80
    n, i = dint(block, i, 7)
    raw = block[i:i + n]
    if not huff:
        return int(raw.decode())
    bits, out, cur = "".join("{:08b}".format(x) for x in raw), "", ""
    for bit in bits:
        cur += bit
        if cur in HUFF:
            out += HUFF[cur]
            cur = ""
        if len(out) == 3:
            break
    return int(out)


def ws_frame(opcode, payload):
    n = len(payload)
    if n < 126:
        hdr = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        hdr = bytes([0x80 | opcode, 0x80 | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([0x80 | opcode, 0x80 | 127]) + struct.pack(">Q", n)
    key = os.urandom(4)
    return hdr + key + bytes(p ^ key[i % 4] for i, p in enumerate(payload))


def ws_parse(buf):
    """(opcode, payload, rest) of the first complete server frame, or None."""
    if len(buf) < 2:
        return None
    op, n, i = buf[0] & 15, buf[1] & 127, 2
    if n == 126:
        if len(buf) < 4:
            return None
        n, i = struct.unpack(">H", buf[2:4])[0], 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n, i = struct.unpack(">Q", buf[2:10])[0], 10
    if len(buf) < i + n:
        return None
    return op, buf[i:i + n], buf[i + n:]


class Conn:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.settings = {}
        self.status = None
        self.data = b""
        self.end = False
        self.rst = None
        self.goaway = None

    def send(self, b):
        self.s.sendall(b)

    def pump(self, until, timeout=10):
        end = time.time() + timeout
        while not until() and time.time() < end:
            while len(self.buf) >= 9:
                n = struct.unpack(">I", b"\0" + self.buf[:3])[0]
                if len(self.buf) < 9 + n:
                    break
                t, fl, sid = self.buf[3], self.buf[4], struct.unpack(">I", self.buf[5:9])[0] & 0x7fffffff
                p = self.buf[9:9 + n]
                self.buf = self.buf[9 + n:]
                self.on_frame(t, fl, sid, p)
            if until():
                break
            try:
                b = self.s.recv(65536)
            except socket.timeout:
                break
            if not b:
                break
            self.buf += b
        return until()

    def on_frame(self, t, fl, sid, p):
        if t == SETTINGS and not fl & ACK:
            for k in range(0, len(p), 6):
                ident, val = struct.unpack(">HI", p[k:k + 6])
                self.settings[ident] = val
            self.send(frame(SETTINGS, ACK, 0))
        elif t == PING and not fl & ACK:
            self.send(frame(PING, ACK, 0, p))
        elif t == HEADERS and sid == 1:
            if self.status is None:
                self.status = status_of(p)
            if fl & END_STREAM:
                self.end = True
        elif t == DATA and sid == 1:
            self.data += p
            if p:
                self.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(p))) +
                          frame(WINDOW_UPDATE, 0, 1, struct.pack(">I", len(p))))
            if fl & END_STREAM:
                self.end = True
        elif t == RST_STREAM and sid == 1:
            self.rst = struct.unpack(">I", p)[0]
        elif t == GOAWAY:
            self.goaway = struct.unpack(">I", p[4:8])[0]


def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    c = Conn(port)
    out = {}
    c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" +
           frame(SETTINGS, 0, 0, struct.pack(">HIHI", 1, 0, 2, 0)))
    c.pump(lambda: 8 in c.settings or 3 in c.settings, timeout=2)
    out["enable_connect_protocol"] = c.settings.get(8, 0)
    key = base64.b64encode(os.urandom(16)).decode()
    block = (lit(":method", "CONNECT") + lit(":protocol", "websocket") + lit(":scheme", "http") +
             lit(":path", path) + lit(":authority", "ws.test") + lit("sec-websocket-version", "13") +
             lit("sec-websocket-key", key))
    c.send(frame(HEADERS, END_HEADERS, 1, block))
    c.pump(lambda: c.status is not None or c.rst is not None or c.end)
    out["status"] = c.status
    if c.status != 200:
        out["rst"] = c.rst
        print(json.dumps(out, sort_keys=True))
        return

    def recv_msg():
        got = [None]

        def ready():
            r = ws_parse(c.data)
            if r:
                got[0] = r
            return r is not None or c.end or c.rst is not None
        c.pump(ready)
        if got[0]:
            c.data = got[0][2]
            return got[0][0], got[0][1]
        return None, None

    c.send(frame(DATA, 0, 1, ws_frame(1, b"hello-h2")))
    op, msg = recv_msg()
    out["text"] = msg.decode() if op == 1 else None
    big = os.urandom(100000)
    wire = ws_frame(2, big)
    for k in range(0, len(wire), 16384):
        c.send(frame(DATA, 0, 1, wire[k:k + 16384]))
    op, msg = recv_msg()
    out["binary_ok"] = op == 2 and msg == big
    c.send(frame(DATA, 0, 1, ws_frame(8, struct.pack(">H", 1000))))
    op, msg = recv_msg()
    out["close_code"] = struct.unpack(">H", msg[:2])[0] if op == 8 and msg else None
    c.send(frame(DATA, END_STREAM, 1))
    c.pump(lambda: c.end or c.rst is not None)
    out["stream_end"] = c.end
    out["rst"] = c.rst
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
