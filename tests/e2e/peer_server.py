#!/usr/bin/env python3
"""An upstream that tells who connected: for tests/e2e/transparent.sh.

Every HTTP/1.1 request is answered with JSON: the TCP peer address the
kernel gives (getpeername), X-Forwarded-For, X-Real-IP, and, with
--proxy-protocol, the source the PROXY protocol header (v1 or v2) named.
A WebSocket upgrade gets a 101 and one text frame with the same JSON.

  peer_server.py --bind ADDR --port N [--proxy-protocol]
"""
import argparse
import base64
import hashlib
import ipaddress
import json
import socket
import socketserver
import struct

PP2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def plain(ip):
    a = ipaddress.ip_address(ip.split("%")[0])
    if a.version == 6 and a.ipv4_mapped:
        return str(a.ipv4_mapped)
    return str(a)


class Handler(socketserver.StreamRequestHandler):
    def read_proxy_header(self):
        first = self.rfile.peek(16)[:16] if hasattr(self.rfile, "peek") else b""
        if first.startswith(PP2_SIG):
            head = self.rfile.read(16)
            ver_cmd, fam, length = head[12], head[13], struct.unpack("!H", head[14:16])[0]
            body = self.rfile.read(length)
            if ver_cmd != 0x21:
                return {"pp_version": 2, "pp_command": "LOCAL"}
            if fam == 0x11:
                src = socket.inet_ntop(socket.AF_INET, body[0:4])
                port = struct.unpack("!H", body[8:10])[0]
            elif fam == 0x21:
                src = socket.inet_ntop(socket.AF_INET6, body[0:16])
                port = struct.unpack("!H", body[32:34])[0]
            else:
                return {"pp_version": 2, "pp_family": fam}
            return {"pp_version": 2, "pp_src": src, "pp_src_port": port}
        line = self.rfile.readline(108).decode("latin-1").rstrip("\r\n")
        parts = line.split(" ")
        if parts[0] != "PROXY":
            raise ValueError("no PROXY header: %r" % line)
        if parts[1] == "UNKNOWN":
            return {"pp_version": 1, "pp_src": None}
        return {"pp_version": 1, "pp_src": parts[2], "pp_src_port": int(parts[4])}

    def handle(self):
        info = {"peer": plain(self.client_address[0])}
        if self.server.proxy_protocol:
            info.update(self.read_proxy_header())
        while True:
            line = self.rfile.readline(8192)
            if not line:
                return
            headers = {}
            while True:
                h = self.rfile.readline(8192).decode("latin-1").rstrip("\r\n")
                if not h:
                    break
                k, _, v = h.partition(":")
                headers[k.strip().lower()] = v.strip()
            out = dict(info)
            out["xff"] = headers.get("x-forwarded-for")
            out["x_real_ip"] = headers.get("x-real-ip")
            body = json.dumps(out).encode()
            if headers.get("upgrade", "").lower() == "websocket":
                key = headers.get("sec-websocket-key", "")
                acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
                self.wfile.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
                self.wfile.write(bytes([0x81, 126]) + struct.pack("!H", len(body)) + body if len(body) > 125
                                 else bytes([0x81, len(body)]) + body)
                self.wfile.flush()
                self.rfile.read(2)  # the client's close frame (or EOF)
                return
            n = int(headers.get("content-length", "0") or 0)
            if n:
                self.rfile.read(n)
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                             % len(body) + body)
            self.wfile.flush()


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, proxy_protocol):
        self.address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        self.proxy_protocol = proxy_protocol
        super().__init__(addr, Handler)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--proxy-protocol", action="store_true")
    a = ap.parse_args()
    Server((a.bind, a.port), a.proxy_protocol).serve_forever()


if __name__ == "__main__":
    main()
