#!/usr/bin/python3
"""A gRPC server (h2c) for the end-to-end tests, with generic handlers (no
generated code; messages are raw bytes). Service test.Echo:

  Unary         the request bytes back; trailing metadata x-echo-trailer: <len>
  ServerStream  request "N:text": N responses "text-i"
  ClientStream  the concatenation of the requests, joined by "|"
  Bidi          each request back as "echo:<request>", as it arrives
  Fail          aborts with NOT_FOUND "no such thing" and trailing metadata x-why: missing

  grpc_server.py PORT
"""
import sys
import time
from concurrent import futures

import grpc


def unary(req, ctx):
    ctx.set_trailing_metadata((("x-echo-trailer", str(len(req))),))
    return req


def server_stream(req, ctx):
    n, _, text = req.decode().partition(":")
    for i in range(int(n)):
        yield ("%s-%d" % (text, i)).encode()


def client_stream(it, ctx):
    return b"|".join(it)


def bidi(it, ctx):
    for m in it:
        yield b"echo:" + m


def fail(req, ctx):
    ctx.set_trailing_metadata((("x-why", "missing"),))
    ctx.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def ident(b):
    return b


def main():
    port = int(sys.argv[1])
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, ident, ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
    }
    srv = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    srv.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    srv.add_insecure_port("127.0.0.1:%d" % port)
    srv.start()
    print("grpc server on %d" % port, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.stop(0)


if __name__ == "__main__":
    main()
