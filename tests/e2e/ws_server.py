#!/usr/bin/python3
"""A WebSocket upstream (python3-websockets) for tests/e2e/websocket.sh.

  /echo    every message back as it is (text or binary)
  /chat    a shared session: every message goes to every client connected
           to /chat ("<n>:<message>", n = the sender's connection number)
  /count   one text message: how many WebSocket connections were accepted

  ws_server.py PORT
"""
import asyncio
import sys

import websockets

chat = set()
accepted = 0


async def handler(ws, path):
    global accepted
    accepted += 1
    me = accepted
    if path == "/echo":
        async for m in ws:
            await ws.send(m)
    elif path == "/chat":
        chat.add(ws)
        try:
            async for m in ws:
                for peer in list(chat):
                    try:
                        await peer.send("%d:%s" % (me, m))
                    except websockets.ConnectionClosed:
                        pass
        finally:
            chat.discard(ws)
    elif path == "/count":
        await ws.send(str(accepted))
    else:
        await ws.close(code=4004, reason="unknown path")


async def main():
    port = int(sys.argv[1])
    async with websockets.serve(handler, "127.0.0.1", port, max_size=None):
        print("ws server on %d" % port, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
