#!/usr/bin/env python3
"""Prints a TCP port on 127.0.0.1 that no one listens on, for an e2e test.

Not the kernel's pick (bind to port 0): that comes from the ephemeral
range, which every outgoing connection of the tests running beside this
one draws from, so the port could be some connection's source before the
test binds it (EADDRINUSE). This picks below the ephemeral range and keeps
a registry shared by the tests of this machine, so two tests running at
the same time are not handed the same port within 10 minutes."""
import fcntl, os, random, socket, time

REG = os.path.join(os.environ.get("TMPDIR", "/tmp"), "dp-e2e-ports")
HOLD = 600  # seconds a handed-out port stays reserved

lo, hi = 10000, 32000
try:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        first = int(f.read().split()[0])
    hi = max(lo + 1000, min(hi, first - 1))
except (OSError, ValueError):
    pass

with open(REG + ".lock", "a") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    now = time.time()
    taken = {}
    try:
        with open(REG) as f:
            for line in f:
                p, t = line.split()
                if now - float(t) < HOLD:
                    taken[int(p)] = float(t)
    except (OSError, ValueError):
        pass
    for _ in range(1000):
        port = random.randint(lo, hi)
        if port in taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        break
    else:
        raise SystemExit("no free port")
    taken[port] = now
    with open(REG + ".tmp", "w") as f:
        for p, t in taken.items():
            f.write(f"{p} {t}\n")
    os.replace(REG + ".tmp", REG)
print(port)
