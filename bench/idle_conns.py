#!/usr/bin/env python3
"""Opens N keep-alive connections to HOST:PORT, sends one request on each
and reads its response, then holds them idle until stdin closes.
Prints "ready <opened>" once all are idle. Optional --tls wraps each
connection in TLS (no verification: a benchmark, not a test)."""
import argparse, socket, ssl, sys

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("n", type=int)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--tls", action="store_true")
ap.add_argument("--sni", default="bench.test")
a = ap.parse_args()

ctx = None
if a.tls:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])

req = b"GET / HTTP/1.1\r\nHost: bench.test\r\n\r\n"
conns = []
for i in range(a.n):
    s = socket.create_connection((a.host, a.port))
    if ctx:
        s = ctx.wrap_socket(s, server_hostname=a.sni)
    s.sendall(req)
    buf = b""
    # read the head, then the body by content-length
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    cl = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v)
    while len(body) < cl:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    conns.append(s)
print("ready", len(conns), flush=True)
sys.stdin.read()
