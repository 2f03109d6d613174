#!/usr/bin/env python3
"""Turns bench/run's results.jsonl (and bench/run-ws's output) into the Markdown summary:
tables per scenario and the ratios against the targets in bench/README.md.

Usage: summary.py results.jsonl [run-ws.txt]
"""
import json
import re
import sys

rows, idle, startup = [], {}, {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "idle" in r:
        idle[r["server"]] = r["idle"]
    elif "startup" in r:
        startup[r["server"]] = r["startup"]
    else:
        rows.append(r)


def get(server, scenario, clients):
    for r in rows:
        if (r["server"], r["scenario"], r["clients"]) == (server, scenario, clients):
            return r
    return None


def mib(kib):
    return f"{kib / 1024:.0f}"


def table(scenario, title):
    sel = [r for r in rows if r["scenario"] == scenario]
    if not sel:
        return
    print(f"### {title}\n")
    print("| server | clients | req/s | p50 ms | p99 ms | failed | RSS idle MiB | RSS after MiB | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in sel:
        i = idle.get(r["server"], {})
        print(f"| {r['server']} | {r['clients']} | {r['rps']:.0f} | {r['p50_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['failed']} of {r['requests']} | "
              f"{mib(i.get('rss_kib', 0))} | {mib(r['rss_kib'])} | {mib(r['peak_rss_kib'])} |")
    print()


table("page", "Page of 50 INBOUND opportunities with customer, team, solutions, invitations")
table("trivial", "Trivial query `{ __typename }`")
table("mutation", "Mutations: `updateOpportunity` on distinct opportunities")

print("### Targets\n")
print("| target | measured | met |")
print("|---|---|---|")


def ratio_line(label, a, b, clients, goal):
    ra, rb = get(a, "page", clients), get(b, "page", clients)
    if not ra or not rb:
        print(f"| {label} at {clients} clients | not measured | – |")
        return
    x = ra["rps"] / rb["rps"]
    print(f"| {label} at {clients} client{'s' if clients > 1 else ''} ≥ {goal}× | "
          f"{x:.2f}× ({ra['rps']:.0f} vs {rb['rps']:.0f} req/s) | {'yes' if x >= goal else 'NO'} |")


for c in (16, 1):
    ratio_line("page, cosell on PostgreSQL / PostGraphile 4", "cosell-postgres", "postgraphile4", c, 3.5)
    ratio_line("page, cosell on PostgreSQL / PostGraphile 5", "cosell-postgres", "postgraphile5", c, 3.0)
    ratio_line("page, cosell on SQLite / PostGraphile 4 on PostgreSQL", "cosell-sqlite", "postgraphile4", c, 1.5)
    ratio_line("page, cosell on SQLite / PostGraphile 5 on PostgreSQL", "cosell-sqlite", "postgraphile5", c, 1.5)


def limit_line(label, r, key, goal):
    if not r:
        print(f"| {label} | not measured | – |")
        return
    v = r[key]
    print(f"| {label} ≤ {goal} ms | {v:.2f} ms | {'yes' if v <= goal else 'NO'} |")


for server in ("cosell-postgres", "cosell-sqlite"):
    limit_line(f"page on {server}, p50 at 1 client", get(server, "page", 1), "p50_ms", 2.5)
    limit_line(f"page on {server}, p99 at 16 clients", get(server, "page", 16), "p99_ms", 30)
m = get("cosell-sqlite", "mutation", 16)
if m:
    print(f"| mutations on SQLite at 16 clients: 0 errors | {m['failed']} failed of "
          f"{m['requests']} | {'yes' if m['failed'] == 0 else 'NO'} |")
limit_line("mutations on SQLite, p99 at 16 clients", m, "p99_ms", 20)
for server in ("cosell-postgres", "cosell-sqlite"):
    t = get(server, "trivial", 16)
    b = get("bare", "trivial", 16)
    if t and b:
        x = t["rps"] / b["rps"]
        print(f"| trivial query on {server} with the whole stack / the bare schema (bench/bare.rs), "
              f"16 clients ≥ 80% | {x * 100:.0f}% ({t['rps']:.0f} vs {b['rps']:.0f} req/s) | "
              f"{'yes' if x >= 0.8 else 'NO'} |")
for server, st in startup.items():
    print(f"| {server}: cold start to first answered query ≤ 100 ms | p50 {st['p50_ms']} ms, "
          f"max {st['max_ms']} ms | {'yes' if st['p50_ms'] <= 100 else 'NO'} |")
    print(f"| {server}: idle RSS ≤ 25 MB | {st['rss_mib']} MiB | "
          f"{'yes' if st['rss_mib'] * 1.048576 <= 25 else 'NO'} |")
print()

if len(sys.argv) > 2:
    try:
        text = open(sys.argv[2]).read()
        j = json.loads(text[text.index("{"):text.rindex("}") + 1])
        print(f"### WebSocket (bench/run-ws {j['subscribers']}, cosell on SQLite)\n")
        print(f"- {j['subscribers']} idle `events` subscriptions: RSS {mib(j['rss_before_kib'])} → "
              f"{mib(j['rss_after_kib'])} MiB, {j['kib_per_idle_subscription']} KiB per connection"
              f" (target ≤ 16)")
        print(f"- {j.get('events', 1)} `updateOpportunity` events, every one to {j['received']} of "
              f"{j['subscribers']} subscribers: p50 {j['latency_ms_p50']} ms, p99 "
              f"{j['latency_ms_p99']} ms (target ≤ 250), max {j['latency_ms_max']} ms")
        print()
    except FileNotFoundError:
        print("### WebSocket\n\nnot measured in this run (BENCH_SKIP_WS=1).\n")
    except (OSError, ValueError, KeyError):
        print("### WebSocket\n\nbench/run-ws printed no result (see run-ws.txt).\n")
