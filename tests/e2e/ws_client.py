#!/usr/bin/python3
"""WebSocket clients through the proxy (python3-websockets, HTTP/1.1
upgrade) for tests/e2e/websocket.sh. Prints one JSON object.

  ws_client.py URL echo        text, binary and a 1 MiB message echoed; clean close
  ws_client.py URL chat        two clients on one URL: each sees both messages
  ws_client.py URL count       the upstream's count of accepted connections
  ws_client.py URL refused     the handshake's HTTP status when refused
  ws_client.py URL idle SECS   one echo, SECS of silence, one more echo
"""
import asyncio
import json
import os
import sys

import websockets


async def run(url, scen, arg):
    out = {"scenario": scen}
    if scen == "echo":
        async with websockets.connect(url, max_size=None) as ws:
            await ws.send("hello")
            out["text"] = await ws.recv()
            data = bytes(range(256)) * 8
            await ws.send(data)
            out["binary_ok"] = (await ws.recv()) == data
            big = os.urandom(1 << 20)
            await ws.send(big)
            out["big_ok"] = (await ws.recv()) == big
            out["upgrade_header"] = ws.response_headers.get("Upgrade")
        out["close_code"] = ws.close_code
    elif scen == "chat":
        async with websockets.connect(url) as a, websockets.connect(url) as b:
            await a.send("from-a")
            got_a = [await a.recv()]
            got_b = [await b.recv()]
            await b.send("from-b")
            got_a.append(await a.recv())
            got_b.append(await b.recv())
            out["a"] = [m.split(":", 1)[1] for m in got_a]
            out["b"] = [m.split(":", 1)[1] for m in got_b]
            out["senders_differ"] = got_a[0].split(":")[0] != got_a[1].split(":")[0]
    elif scen == "count":
        async with websockets.connect(url) as ws:
            out["count"] = int(await ws.recv())
    elif scen == "refused":
        try:
            async with websockets.connect(url):
                out["status"] = 101
        except websockets.InvalidStatusCode as e:
            out["status"] = e.status_code
    elif scen == "idle":
        async with websockets.connect(url, ping_interval=None) as ws:
            await ws.send("before")
            out["before"] = await ws.recv()
            await asyncio.sleep(float(arg))
            await ws.send("after")
            out["after"] = await ws.recv()
    print(json.dumps(out, sort_keys=True), flush=True)


if __name__ == "__main__":
    asyncio.run(run(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None))
