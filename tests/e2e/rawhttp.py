#!/usr/bin/env python3
"""Sends raw bytes to HOST:PORT and prints what comes back until the peer
closes or --timeout passes. For pipelining and malformed-request tests.
The payload is a Python bytes literal body, e.g. 'GET / HTTP/1.1\\r\\nHost: a\\r\\n\\r\\n'."""
import argparse
import ast
import socket
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("payload")
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("--drip", type=float, default=0, help="seconds between single bytes (slow client)")
a = ap.parse_args()
data = ast.literal_eval("b'''" + a.payload.replace("'''", "\\'\\'\\'") + "'''")
s = socket.create_connection((a.host, a.port))
try:
    if a.drip:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            time.sleep(a.drip)
    else:
        s.sendall(data)
except OSError:
    pass
s.settimeout(a.timeout)
out = b""
deadline = time.time() + a.timeout
while time.time() < deadline:
    try:
        b = s.recv(65536)
    except socket.timeout:
        break
    except OSError:
        break
    if not b:
        break
    out += b
sys.stdout.buffer.write(out)
