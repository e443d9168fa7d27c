#!/usr/bin/env bash
# HTTP/1 connection deadlines against the real binary: idle_timeout,
# stream_idle_timeout, request_headers_timeout and the delayed close, on two
# listeners whose HCMs have different timeouts (the codec keeps one list
# per duration and worker), each moved by activity where Envoy moves it.
# A: request_headers_timeout (3 s) longer than idle_timeout (1 s);
# B: shorter (1.5 s against 2.5 s).
. "$(dirname "$0")/lib.sh"

LA=$(free_port); LB=$(free_port); ADMIN_PORT=$(free_port); APP_PORT=$(free_port)
start_upstream app "$APP_PORT"

vhosts() { # /upload to app, the rest answered here
    cat <<YAML
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/upload" }
                route: { cluster: app, timeout: 10s }
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "ok" } }
YAML
}
{
    cat <<YAML
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: $ADMIN_PORT } }
static_resources:
  listeners:
YAML
    hcm_listener a "$LA" a_http "          common_http_protocol_options: { idle_timeout: 1s }
          stream_idle_timeout: 1s
          request_headers_timeout: 3s" "$(vhosts)"
    hcm_listener b "$LB" b_http "          common_http_protocol_options: { idle_timeout: 2.5s }
          request_headers_timeout: 1.5s" "$(vhosts)"
    echo "  clusters:"
    cluster_yaml app "$APP_PORT"
} >"$WORK/bootstrap.yaml"
# one worker: every connection shares the same lists
DP_CONCURRENCY=1 start_dataplane "$WORK/bootstrap.yaml" -l error

# t.py MODE PORT [ARGS]: prints one line "ms=N status=S closed=0|1 ..."
# where ms is when the server closed (or answered, for the request modes)
# counted from the last byte the client sent.
cat >"$WORK/t.py" <<'PY'
import socket, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"

def conn():
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(8)
    return s

def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        b = s.recv(4096)
        if not b:
            return buf
        buf += b
    head, _, body = buf.partition(b"\r\n\r\n")
    cl = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            cl = int(v)
    while len(body) < cl:
        b = s.recv(4096)
        if not b:
            break
        body += b
    return head + b"\r\n\r\n" + body

def until_closed(s):
    """ms until the server closes (EOF or reset), -1 if it does not."""
    t0 = time.time()
    try:
        while s.recv(4096):
            pass
    except socket.timeout:
        return -1
    except OSError:
        pass
    return int((time.time() - t0) * 1000)

def status(resp):
    return resp.split(b" ", 2)[1].decode() if resp.startswith(b"HTTP/1.1 ") else "none"

if mode == "idle":  # N connections, one request each, then idle until closed
    n = int(sys.argv[3])
    socks = [conn() for _ in range(n)]
    ok = 0
    for s in socks:
        s.sendall(GET)
        ok += status(read_response(s)) == "200"
    res = [0] * n
    def wait(i):
        res[i] = until_closed(socks[i])
    th = [threading.Thread(target=wait, args=(i,)) for i in range(n)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    print("ok=%d min=%d max=%d" % (ok, min(res), max(res)))
elif mode == "busy":  # requests every GAP s on one connection, then idle
    n, gap = int(sys.argv[3]), float(sys.argv[4])
    s = conn()
    ok = 0
    for i in range(n):
        if i:
            time.sleep(gap)
        try:
            s.sendall(GET)
            ok += status(read_response(s)) == "200"
        except OSError:
            break
    print("ok=%d ms=%d" % (ok, until_closed(s)))
elif mode == "body":  # an upload of LEN bytes, SENT of them dripped every GAP s
    length, sent, gap = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
    s = conn()
    s.sendall(b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % length)
    for i in range(sent):
        time.sleep(gap)
        s.sendall(b"x")
    t0 = time.time()
    resp = read_response(s)
    print("ms=%d status=%s" % (int((time.time() - t0) * 1000), status(resp)))
elif mode == "head":  # a head dripped every GAP s for at most FOR s
    gap, dur = float(sys.argv[3]), float(sys.argv[4])
    s = conn()
    data = b"GET / HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"p" * 200 + b"\r\n\r\n"
    t0 = time.time()
    try:
        for i in range(len(data)):
            if time.time() - t0 > dur:
                break
            s.sendall(data[i:i + 1])
            s.settimeout(gap)
            try:
                if s.recv(4096, socket.MSG_PEEK):
                    break
            except socket.timeout:
                pass
    except OSError:
        pass
    s.settimeout(8)
    resp = read_response(s)
    print("ms=%d status=%s" % (int((time.time() - t0) * 1000), status(resp)))
elif mode == "close":  # Connection: close, then keep our end open
    s = conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    resp = read_response(s)
    eof = s.recv(4096) == b""
    print("status=%s fin=%d" % (status(resp), eof), flush=True)
    time.sleep(float(sys.argv[3]))
PY
T() { python3 "$WORK/t.py" "$@"; }
field() { printf '%s\n' "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k { print $2 }'; }
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# --- idle_timeout: 1 s on A and 2.5 s on B, at the same time -----------------
T idle "$LA" 20 >"$WORK/idle_a.out" &
pa=$!
T idle "$LB" 20 >"$WORK/idle_b.out" &
pb=$!
wait "$pa" "$pb"
a=$(cat "$WORK/idle_a.out"); b=$(cat "$WORK/idle_b.out")
expect_eq "A: 20 keep-alive requests answered" "$(field "$a" ok)" 20
expect_eq "B: 20 keep-alive requests answered" "$(field "$b" ok)" 20
check "A: idle connections closed at idle_timeout 1 s ($a)" \
    between "$(field "$a" min)" 700 2000
check "A: ... all of them ($a)" between "$(field "$a" max)" 700 2000
check "B: idle connections closed at idle_timeout 2.5 s ($b)" \
    between "$(field "$b" min)" 2200 3800
check "B: ... all of them ($b)" between "$(field "$b" max)" 2200 3800

# --- activity moves the idle deadline -----------------------------------------
r=$(T busy "$LA" 5 0.6)
expect_eq "A: 5 requests 0.6 s apart on one connection (2.4 s > idle_timeout)" "$(field "$r" ok)" 5
check "A: ... then closed 1 s after the last ($r)" between "$(field "$r" ms)" 700 2000

# --- stream_idle_timeout -------------------------------------------------------
r=$(T body "$LA" 10 2 0.1)
expect_eq "A: a stalled upload gets 408" "$(field "$r" status)" 408
check "A: ... at stream_idle_timeout 1 s ($r)" between "$(field "$r" ms)" 700 2200
expect_eq "A: ... counted in downstream_rq_idle_timeout" "$(stat http.a_http.downstream_rq_idle_timeout)" 1
r=$(T body "$LA" 6 6 0.5)
expect_eq "A: an upload dripped over 3 s (a byte every 0.5 s) is not cut" "$(field "$r" status)" 200

# --- request_headers_timeout: fixed from a head's first byte --------------------
r=$(T head "$LB" 0.4 8)
expect_eq "B: a head dripped every 0.4 s gets 408" "$(field "$r" status)" 408
check "B: ... at request_headers_timeout 1.5 s, not moved by the bytes ($r)" between "$(field "$r" ms)" 1300 2300
r=$(T head "$LB" 10 8)
expect_eq "B: a stalled head gets 408 too" "$(field "$r" status)" 408
check "B: ... at request_headers_timeout, before the idle_timeout ($r)" between "$(field "$r" ms)" 1300 2300
expect_eq "B: both counted in downstream_rq_header_timeout" "$(stat http.b_http.downstream_rq_header_timeout)" 2
r=$(T head "$LA" 0.4 8)
expect_eq "A: a head dripped every 0.4 s (each byte moves the idle deadline) gets 408" "$(field "$r" status)" 408
check "A: ... at request_headers_timeout 3 s, at most one byte late ($r)" between "$(field "$r" ms)" 2800 4000
r=$(T head "$LA" 10 8)
expect_eq "A: a stalled head is closed at the idle deadline, before its 3 s" "$(field "$r" status)" none
check "A: ... after idle_timeout 1 s ($r)" between "$(field "$r" ms)" 700 2000
expect_eq "A: only the first counted in downstream_rq_header_timeout" "$(stat http.a_http.downstream_rq_header_timeout)" 1

# --- delayed close: our FIN, then the connection ends 1 s later ----------------
for i in $(seq 1 50); do [ "$(stat http.a_http.downstream_cx_active)" = 0 ] && break; sleep 0.1; done
expect_eq "A: no connection left" "$(stat http.a_http.downstream_cx_active)" 0
T close "$LA" 4 >"$WORK/close.out" &
pc=$!
for i in $(seq 1 50); do [ -s "$WORK/close.out" ] && break; sleep 0.05; done
t0=$(date +%s%N)
expect_eq "A: Connection: close answered and FIN sent" "$(cat "$WORK/close.out")" "status=200 fin=1"
expect_eq "A: ... the connection waits for the client's close" "$(stat http.a_http.downstream_cx_active)" 1
for i in $(seq 1 60); do [ "$(stat http.a_http.downstream_cx_active)" = 0 ] && break; sleep 0.05; done
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "A: ... closed by the delayed close timer" "$(stat http.a_http.downstream_cx_active)" 0
check "A: ... about 1 s after the response (${ms} ms)" between "$ms" 500 2500
wait "$pc"

# everything still works
expect_eq "A: served after all that" "$(curl -s "http://127.0.0.1:$LA/")" ok
expect_eq "B: served after all that" "$(curl -s "http://127.0.0.1:$LB/")" ok
finish
