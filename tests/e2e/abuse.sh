#!/usr/bin/env bash
# Hostile clients against the real binary: request smuggling vectors
# (table-driven: each is answered with a JSON local reply, the connection
# is closed, and nothing reaches the upstream), slowloris against
# request_headers_timeout, and oversize heads (431).
. "$(dirname "$0")/lib.sh"

LISTEN_PORT=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"
touch "$WORK/app.requests"

hcm_bootstrap "$(catchall_vhost app)" "$(cluster_yaml app "$APP_PORT")" "          request_headers_timeout: 2s" \
    >"$WORK/bootstrap.yaml"

# probe.py PORT PAYLOAD [--drip S] [--timeout S]: sends the bytes (a Python
# bytes-literal body), reads until the peer closes or the timeout, and
# prints one summary line "status=N closed=0|1 json=0|1 ms=N" where ms is
# when the first response byte or the close arrived (since the first byte
# sent), followed by the raw response.
cat >"$WORK/probe.py" <<'PY'
import argparse, ast, json, select, socket, sys, time
ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("payload")
ap.add_argument("--drip", type=float, default=0)
ap.add_argument("--timeout", type=float, default=3.0)
ap.add_argument("--drip-for", type=float, default=0, help="stop dripping after this many seconds")
a = ap.parse_args()
if a.payload.startswith("@"):
    data = open(a.payload[1:], "rb").read()
else:
    data = ast.literal_eval("b'''" + a.payload.replace("'''", "\\'\\'\\'") + "'''")
s = socket.create_connection(("127.0.0.1", a.port))
t0 = time.time()
first = None
out = b""
closed = False
try:
    if a.drip:
        for i in range(len(data)):
            s.sendall(data[i:i + 1])
            r, _, _ = select.select([s], [], [], a.drip)
            if r or (a.drip_for and time.time() - t0 > a.drip_for):
                break
    else:
        s.sendall(data)
except OSError:
    pass
deadline = time.time() + a.timeout
while True:
    left = deadline - time.time()
    if left <= 0:
        break
    r, _, _ = select.select([s], [], [], left)
    if not r:
        break
    try:
        b = s.recv(65536)
    except OSError:
        b = b""
    if first is None:
        first = time.time()
    if not b:
        closed = True
        break
    out += b
status = 0
is_json = 0
if out.startswith(b"HTTP/"):
    head, _, body = out.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ")[1])
    except (IndexError, ValueError):
        pass
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            body = body[:int(v.strip())]
    try:
        is_json = int(isinstance(json.loads(body), dict))
    except ValueError:
        pass
ms = int(((first or time.time()) - t0) * 1000)
print("status=%d closed=%d json=%d ms=%d" % (status, int(closed), is_json, ms))
sys.stdout.buffer.write(out)
PY
probe() { python3 "$WORK/probe.py" "$LISTEN_PORT" "$@"; }
probe_sum() { probe "$@" >"$WORK/probe.out"; head -1 "$WORK/probe.out"; }
lines() { wc -l <"$WORK/app.requests"; }

start_dataplane "$WORK/bootstrap.yaml" || { fail "start"; finish; }

# Control: the well-formed versions are served, so the upstream log counts.
n0=$(lines)
r=$(probe 'POST /echo HTTP/1.1\r\nHost: app.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
expect_contains "control: valid chunked POST served" "$(echo "$r" | head -1)" "status=200"
expect_contains "control: chunked body of 5 bytes forwarded" "$r" '"body_length": 5'
expect_eq "control: the upstream logged it" "$(lines)" "$((n0 + 1))"

# One vector per line: expected status(es) | description | raw bytes.
# Transfer codings that are recognisably unknown may be 501 (Envoy) or 400.
SMUGGLED='GET /admin HTTP/1.1\r\nHost: app.test\r\n\r\n'
H='Host: app.test\r\n'
VECTORS=$(cat <<EOF
400|CL.TE with a smuggled GET /admin|POST /echo HTTP/1.1\r\n${H}Content-Length: 44\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}
400|TE.CL with a smuggled GET /admin|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2c\r\n${SMUGGLED}\r\n0\r\n\r\n
400 501|TE: xchunked|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${SMUGGLED}
400|TE with a space before the colon|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n${SMUGGLED}
400 501|TE: chunked + TE: x|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${SMUGGLED}
400 501|TE with a vertical tab before chunked|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding:\x0bchunked\r\n\r\n0\r\n\r\n${SMUGGLED}
400 501|TE: chunked, identity|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}
400 501|TE: identity, chunked + CL|POST /echo HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n
400|two differing Content-Length|POST /echo HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 44\r\n\r\nhello${SMUGGLED}
400|Content-Length: +5|POST /echo HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello
400|Content-Length: -1|POST /echo HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\nhello
400|Content-Length: 0x5|POST /echo HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello
400|Content-Length overflowing 64 bits|POST /echo HTTP/1.1\r\n${H}Content-Length: 18446744073709551621\r\n\r\nhello
400|obs-fold continuation line|GET /echo HTTP/1.1\r\n${H}X-A: b\r\n c\r\n\r\n
400 501|obs-fold hiding chunked|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n chunked\r\nContent-Length: 5\r\n\r\nhello
400|bare CR in a header value|GET /echo HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n
400|bare CR as a line ending|GET /echo HTTP/1.1\r${H}\r\n
400|NUL in a header value|GET /echo HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n
400|space before colon in any header|GET /echo HTTP/1.1\r\n${H}X-A : b\r\n\r\n
400|bare LF line endings|GET /echo HTTP/1.1\nHost: app.test\nX-A: b\n\n
400|mixed CRLF then bare LF|GET /echo HTTP/1.1\r\nHost: app.test\nX-A: b\r\n\r\n
400|HTTP/1.1 without Host|GET /echo HTTP/1.1\r\nX-A: b\r\n\r\n
400|two Host headers|GET /echo HTTP/1.1\r\n${H}Host: evil.test\r\n\r\n
400|chunk size 0x5|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n
400|chunk size with trailing space|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n
400|negative chunk size|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n
400|chunk size overflowing 64 bits|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n
400|empty chunk size|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\nhello\r\n0\r\n\r\n
400|chunk extension with a control byte|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;a\x01b\r\nhello\r\n0\r\n\r\n
400|chunk extension with no name|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;=x\r\nhello\r\n0\r\n\r\n
400|chunk data longer than its size|POST /echo HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n${SMUGGLED}
400|space inside the request target|GET /echo ${SMUGGLED}
400|header name with a slash|GET /echo HTTP/1.1\r\n${H}X/A: b\r\n\r\n
EOF
)

while IFS='|' read -r want desc payload; do
    [ -z "$want" ] && continue
    before=$(lines)
    r=$(probe "$payload" --timeout 2)
    sum=$(echo "$r" | head -1)
    got=$(echo "$sum" | sed 's/.*status=\([0-9]*\).*/\1/')
    case " $want " in
    *" $got "*) ok "$desc -> $got" ;;
    *) fail "$desc: status $got, want $want ($sum)" ;;
    esac
    expect_contains "$desc: JSON body" "$sum" "json=1"
    expect_contains "$desc: connection closed" "$sum" "closed=1"
    after=$(lines)
    expect_eq "$desc: nothing reached the upstream" "$after" "$before"
done <<<"$VECTORS"
n=$(grep -c '/admin' "$WORK/app.requests")
expect_eq "no smuggled GET /admin ever reached the upstream" "$n" "0"

# --- slowloris ---------------------------------------------------------------
# request_headers_timeout 2s: a head dripped one byte every 0.3 s (would take
# ~18 s) must be cut 2-3 s after its first byte; the client gives up
# dripping after 6 s so a missing timeout costs 7 s, not 18.
r=$(probe 'GET /hello HTTP/1.1\r\nHost: app.test\r\nUser-Agent: slowloris\r\n\r\n' --drip 0.3 --drip-for 6 --timeout 1)
sum=$(echo "$r" | head -1)
ms=$(echo "$sum" | sed 's/.*ms=\([0-9]*\).*/\1/')
check "slowloris cut by request_headers_timeout after ${ms} ms ($sum)" test "$ms" -ge 1800 -a "$ms" -le 3500
expect_contains "slowloris connection closed" "$sum" "closed=1"
expect_not_contains "slowloris never served" "$sum" "status=200"
# A complete head sent slowly but within the timeout is served.
r=$(probe 'GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n' --drip 0.02 --timeout 5)
expect_contains "slow but timely head is served" "$(echo "$r" | head -1)" "status=200"
# An idle keep-alive connection followed by a fast request is served
# (request_headers_timeout counts from the first byte of a head).
r=$(python3 - "$LISTEN_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
time.sleep(2.6)
try:
    s.sendall(b"GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")
    s.settimeout(3)
    print(s.recv(100).split(b"\r\n")[0].decode())
except OSError as e:
    print("error", e)
PY
)
expect_eq "connection idle for 2.6 s before its first byte is still served" "$r" "HTTP/1.1 200 OK"

# --- oversize heads ---------------------------------------------------------
python3 -c 'import sys; sys.stdout.buffer.write(b"GET /hello HTTP/1.1\r\nHost: app.test\r\nX-Big: " + b"a" * (61 * 1024) + b"\r\n\r\n")' >"$WORK/big"
before=$(lines)
sum=$(probe_sum "@$WORK/big")
expect_contains "head over 60 KiB -> 431" "$sum" "status=431"
expect_contains "431 JSON body" "$sum" "json=1"
expect_contains "431 closes the connection" "$sum" "closed=1"
expect_eq "oversize head never reached the upstream" "$(lines)" "$before"

python3 -c 'import sys; sys.stdout.buffer.write(b"GET /hello HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\nX-Big: " + b"a" * (50 * 1024) + b"\r\n\r\n")' >"$WORK/big50"
sum=$(probe_sum "@$WORK/big50")
expect_contains "head of 50 KiB is served" "$sum" "status=200"

hdrs() { python3 -c 'import sys; n=int(sys.argv[1]); sys.stdout.buffer.write(b"GET /hello HTTP/1.1\r\nHost: app.test\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(n)) + b"\r\n")' "$1"; }
hdrs 100 >"$WORK/h101"
before=$(lines)
sum=$(probe_sum "@$WORK/h101")
expect_contains "101 headers -> 431" "$sum" "status=431"
expect_contains "101 headers: JSON, closed" "$sum" "closed=1 json=1"
expect_eq "101 headers never reached the upstream" "$(lines)" "$before"
hdrs 99 >"$WORK/h100"
sum=$(probe_sum "@$WORK/h100" --timeout 1)
expect_contains "100 headers (the limit) are served" "$sum" "status=200"

# still healthy after all that
out=$(curl -s -H 'Host: app.test' "http://127.0.0.1:$LISTEN_PORT/hello")
expect_eq "data plane still serves after the abuse" "$out" "hello from app"

finish
