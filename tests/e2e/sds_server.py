#!/usr/bin/python3
"""A minimal ADS server that serves SDS Secrets only (SotW), for
tests/e2e/tls_sds.sh (control-stub does not serve Secrets yet).

    sds_server.py PORT CONTROL_FILE LOG_FILE

CONTROL_FILE holds "VERSION NAME CERT_FILE KEY_FILE"; whenever its content
changes, every open stream subscribed to Secrets gets a response with that
secret (PEM inline), version_info VERSION. Each request is logged as one
line: "type=URL version=V nonce=N names=a,b error=MESSAGE".

Protobuf is encoded by hand (no Envoy protos for Python here): only the
fields used are written and read."""
import os
import queue
import sys
import threading
import time
from concurrent import futures

import grpc

SECRET_URL = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field(num, payload):
    """A length-delimited field."""
    if isinstance(payload, str):
        payload = payload.encode()
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def parse(buf):
    """{field number: [values]} of one message (varints as ints, the rest bytes)."""
    out, i = {}, 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = read_varint(buf, i)
        elif wt == 2:
            n, i = read_varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(val)
    return out


def read_varint(buf, i):
    n, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def secret(name, cert_pem, key_pem):
    # Secret{name=1, tls_certificate=2{certificate_chain=1{inline_string=3}, private_key=2{inline_string=3}}}
    tls = field(1, field(3, cert_pem)) + field(2, field(3, key_pem))
    return field(1, name) + field(2, tls)


def response(version, nonce, resources):
    # DiscoveryResponse{version_info=1, resources=2 (Any{type_url=1, value=2}), type_url=4, nonce=5}
    body = field(1, version)
    for r in resources:
        body += field(2, field(1, SECRET_URL) + field(2, r))
    return body + field(4, SECRET_URL) + field(5, nonce)


class State:
    def __init__(self, control, log):
        self.control, self.log = control, log
        self.lock = threading.Lock()
        self.streams = []  # queues of streams subscribed to Secrets
        self.current = None  # (version, name, cert, key)
        self.nonce = 0

    def read_control(self):
        try:
            text = open(self.control).read().split()
        except OSError:
            return None
        if len(text) != 4:
            return None
        version, name, cert, key = text
        return version, name, open(cert).read(), open(key).read()

    def next_nonce(self):
        with self.lock:
            self.nonce += 1
            return str(self.nonce)

    def poll(self):
        last = None
        while True:
            try:
                raw = open(self.control).read()
            except OSError:
                raw = None
            if raw != last:
                last = raw
                cur = self.read_control()
                if cur:
                    with self.lock:
                        self.current = cur
                        streams = list(self.streams)
                    for q in streams:
                        q.put("push")
            time.sleep(0.05)

    def logline(self, text):
        with self.lock, open(self.log, "a") as f:
            f.write(text + "\n")


STATE = None


def stream(requests, context):
    q = queue.Queue()
    subscribed = []

    def reader():
        try:
            for raw in requests:
                req = parse(raw)
                url = req.get(4, [b""])[0].decode()
                names = [n.decode() for n in req.get(3, [])]
                err = ""
                if 6 in req:
                    err = parse(req[6][0]).get(2, [b""])[0].decode()
                STATE.logline("type=%s version=%s nonce=%s names=%s error=%s" % (
                    url, req.get(1, [b""])[0].decode(), req.get(5, [b""])[0].decode(), ",".join(names), err))
                if url == SECRET_URL:
                    first = not subscribed
                    subscribed[:] = names
                    if first and names:
                        q.put("push")
        finally:
            q.put(None)

    threading.Thread(target=reader, daemon=True).start()
    with STATE.lock:
        STATE.streams.append(q)
    try:
        while True:
            ev = q.get()
            if ev is None:
                return
            with STATE.lock:
                cur = STATE.current
            if cur is None or not subscribed:
                continue
            version, name, cert, key = cur
            res = [secret(name, cert, key)] if name in subscribed else []
            yield response(version, STATE.next_nonce(), res)
    finally:
        with STATE.lock:
            STATE.streams.remove(q)


def main():
    global STATE
    port, control, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    STATE = State(control, log)
    threading.Thread(target=STATE.poll, daemon=True).start()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    handler = grpc.method_handlers_generic_handler(
        "envoy.service.discovery.v3.AggregatedDiscoveryService",
        {"StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(stream)})
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("sds server on", port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
