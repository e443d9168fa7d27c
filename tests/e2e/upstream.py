#!/usr/bin/env python3
"""A real HTTP/1.1 upstream for end-to-end tests and the demo.

Endpoints:
  /echo            JSON with method, path, headers, body length and sha256
  /bytes/N         N bytes of a repeating pattern (?chunked=1 for chunked framing)
  /upload          reads the body (content-length or chunked) streaming, answers length + sha256
  /slow?ms=N       waits N ms before answering
  /status/N        answers status N
  /conns           number of TCP connections accepted so far
  /close           answers with Connection: close
  anything else    200 with a short text naming this upstream (--name)
Every request head received is appended to --log (one JSON line each) so tests can
check what reached the upstream.
"""
import argparse
import hashlib
import json
import socket
import socketserver
import sys
import threading
import time
from urllib.parse import urlsplit, parse_qs

conns = 0
conns_lock = threading.Lock()
PATTERN = (b"0123456789abcdefghijklmnopqrstuvwxyz" * 1820)[:65536]


class Handler(socketserver.StreamRequestHandler):
    rbufsize = 65536
    wbufsize = 0
    disable_nagle_algorithm = True

    def setup(self):
        global conns
        super().setup()
        with conns_lock:
            conns += 1

    def read_head(self):
        line = self.rfile.readline(65537)
        if not line:
            return None
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3:
            raise ValueError("bad request line %r" % line)
        headers = []
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            headers.append((k.strip().lower(), v.strip()))
        return parts, headers

    def read_body(self, headers, sink):
        hd = dict(headers)
        if hd.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    chunk = self.rfile.read(min(left, 65536))
                    if not chunk:
                        raise ValueError("eof in chunk")
                    sink(chunk)
                    left -= len(chunk)
                self.rfile.readline()
        else:
            left = int(hd.get("content-length", "0"))
            while left:
                chunk = self.rfile.read(min(left, 65536))
                if not chunk:
                    raise ValueError("eof in body")
                sink(chunk)
                left -= len(chunk)

    def send(self, status, body=b"", ctype="text/plain", extra=(), close=False):
        head = ["HTTP/1.1 %d X" % status, "content-type: " + ctype,
                "content-length: %d" % len(body), "x-upstream: " + self.server.name]
        head += ["%s: %s" % kv for kv in extra]
        if close:
            head.append("connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)

    def handle(self):
        while True:
            try:
                got = self.read_head()
            except (ValueError, ConnectionError):
                return
            if got is None:
                return
            (method, target, version), headers = got
            if self.server.log:
                with self.server.log_lock:
                    self.server.log.write(json.dumps({"method": method, "target": target,
                                                      "version": version, "headers": headers}) + "\n")
                    self.server.log.flush()
            u = urlsplit(target)
            q = parse_qs(u.query)
            h = hashlib.sha256()
            n = [0]

            def sink(b):
                h.update(b)
                n[0] += len(b)
            try:
                self.read_body(headers, sink)
            except (ValueError, ConnectionError):
                return
            path = u.path
            close = version == "HTTP/1.0" and dict(headers).get("connection", "").lower() != "keep-alive"
            if path == "/echo" or path.startswith("/echo/"):
                body = json.dumps({"method": method, "path": target, "version": version,
                                   "headers": headers, "body_length": n[0],
                                   "body_sha256": h.hexdigest()}).encode()
                self.send(200, body, "application/json", close=close)
            elif path.startswith("/bytes/"):
                total = int(path.split("/")[2])
                chunked = q.get("chunked", ["0"])[0] == "1"
                head = ["HTTP/1.1 200 OK", "content-type: application/octet-stream"]
                head.append("transfer-encoding: chunked" if chunked else "content-length: %d" % total)
                self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
                left = total
                while left:
                    piece = PATTERN[:min(left, len(PATTERN))]
                    if chunked:
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    else:
                        self.wfile.write(piece)
                    left -= len(piece)
                if chunked:
                    self.wfile.write(b"0\r\n\r\n")
            elif path == "/upload":
                self.send(200, json.dumps({"length": n[0], "sha256": h.hexdigest()}).encode(),
                          "application/json")
            elif path == "/slow":
                time.sleep(int(q.get("ms", ["1000"])[0]) / 1000.0)
                self.send(200, b"slow\n")
            elif path.startswith("/status/"):
                self.send(int(path.split("/")[2]), b"status\n")
            elif path == "/conns":
                self.send(200, str(conns).encode())
            elif path == "/close":
                self.send(200, b"bye\n", close=True)
                return
            else:
                self.send(200, ("hello from %s\n" % self.server.name).encode(), close=close)
            if close:
                return


class Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--name", default="upstream")
    ap.add_argument("--log")
    a = ap.parse_args()
    if ":" in a.host:
        Server.address_family = socket.AF_INET6
    srv = Server((a.host, a.port), Handler)
    srv.name = a.name
    srv.log = open(a.log, "a") if a.log else None
    srv.log_lock = threading.Lock()
    print("upstream %s listening on %s:%d" % (a.name, a.host, a.port), flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
