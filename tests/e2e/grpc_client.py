#!/usr/bin/python3
"""gRPC calls through the proxy (h2c with prior knowledge, as grpcio does
on an insecure channel), for tests/e2e/grpc.sh. Prints one JSON object per
scenario.

  grpc_client.py ADDR SCENARIO [ARG]

Scenarios: unary, server_stream, client_stream, fail, unknown_route,
unknown_cluster, bidi_long SECONDS (a bidirectional stream kept open that
long, one message every 3 s).
"""
import json
import queue
import sys
import threading
import time

import grpc


def ident(b):
    return b


def status_of(e):
    return {"code": e.code().name, "details": e.details(),
            "trailers": dict((k, v) for k, v in (e.trailing_metadata() or ()))}


def main():
    addr, scen = sys.argv[1], sys.argv[2]
    ch = grpc.insecure_channel(addr)
    out = {"scenario": scen}
    try:
        if scen == "unary":
            call = ch.unary_unary("/test.Echo/Unary", ident, ident)
            resp, c = call.with_call(b"hello" * 1000, timeout=10)
            out.update(ok=True, len=len(resp), same=resp == b"hello" * 1000, code=c.code().name,
                       trailers=dict(c.trailing_metadata()))
        elif scen == "server_stream":
            call = ch.unary_stream("/test.Echo/ServerStream", ident, ident)
            it = call(b"50:m", timeout=10)
            msgs = [m.decode() for m in it]
            out.update(ok=True, n=len(msgs), first=msgs[0], last=msgs[-1], code=it.code().name)
        elif scen == "client_stream":
            call = ch.stream_unary("/test.Echo/ClientStream", ident, ident)
            resp = call(iter([b"a", b"bb", b"ccc" * 10000]), timeout=10)
            out.update(ok=True, resp_len=len(resp), head=resp[:5].decode())
        elif scen == "fail":
            call = ch.unary_unary("/test.Echo/Fail", ident, ident)
            try:
                call(b"x", timeout=10)
                out.update(ok=True)
            except grpc.RpcError as e:
                out.update(ok=False, **status_of(e))
        elif scen in ("unknown_route", "unknown_cluster"):
            method = "/nowhere.Svc/Call" if scen == "unknown_route" else "/nocluster.Svc/Call"
            call = ch.unary_unary(method, ident, ident)
            try:
                call(b"x", timeout=10)
                out.update(ok=True)
            except grpc.RpcError as e:
                out.update(ok=False, **status_of(e))
        elif scen == "bidi_long":
            secs = float(sys.argv[3])
            q = queue.Queue()

            def gen():
                while True:
                    m = q.get()
                    if m is None:
                        return
                    yield m
            call = ch.stream_stream("/test.Echo/Bidi", ident, ident)
            it = call(gen())
            got = []
            start = time.time()
            i = 0
            while time.time() - start < secs:
                q.put(b"m%d" % i)
                got.append(next(it).decode())
                i += 1
                time.sleep(3)
            q.put(b"last")
            got.append(next(it).decode())
            q.put(None)
            rest = list(it)
            out.update(ok=True, n=len(got), first=got[0], last=got[-1], rest=len(rest),
                       all_echoed=all(g.startswith("echo:") for g in got),
                       seconds=round(time.time() - start, 1), code=it.code().name)
    except grpc.RpcError as e:
        out.update(ok=False, **status_of(e))
    print(json.dumps(out, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
