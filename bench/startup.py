#!/usr/bin/env python3
"""Cold start: time from exec to the first answered query, and idle RSS.

Usage: startup.py --runs N -- <server command...>
The command must listen on --port (given as --listen in the command by the caller).
Starts the server N times; each time it polls POST /graphql `{ __typename }` every
millisecond from the moment of exec until the first 200, then reads the server's VmRSS
after 1 s idle, and stops it. Prints one JSON line per run and a summary line
`STARTUP {"p50_ms":..,"max_ms":..,"rss_mib":..}`.
"""
import argparse, json, socket, statistics, subprocess, sys, time

p = argparse.ArgumentParser()
p.add_argument("--runs", type=int, default=5)
p.add_argument("--port", type=int, required=True)
p.add_argument("cmd", nargs=argparse.REMAINDER)
a = p.parse_args()
cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
body = b'{"query":"{ __typename }"}'
req = (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))


def answered():
    try:
        with socket.create_connection(("127.0.0.1", a.port), timeout=1) as s:
            s.sendall(req)
            data = s.recv(65536)
            return data.startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


times, rss = [], []
for i in range(a.runs):
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = False
    while time.perf_counter() - t0 < 30:
        if answered():
            ok = True
            break
        time.sleep(0.001)
    ms = (time.perf_counter() - t0) * 1000
    time.sleep(1)
    r = rss_kib(proc.pid) / 1024
    proc.terminate()
    proc.wait(timeout=10)
    if not ok:
        sys.exit(f"run {i}: no answer within 30 s")
    times.append(ms)
    rss.append(r)
    print(json.dumps({"run": i, "first_answer_ms": round(ms, 1), "idle_rss_mib": round(r, 1)}))
print("STARTUP " + json.dumps({
    "p50_ms": round(statistics.median(times), 1),
    "max_ms": round(max(times), 1),
    "rss_mib": round(statistics.median(rss), 1),
}))
