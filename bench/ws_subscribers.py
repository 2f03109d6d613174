#!/usr/bin/env python3
"""Idle-subscription memory and delivery latency of cosell's live feed.

Opens N WebSockets (graphql-transport-ws), each holding one `events` subscription, reads
the server's resident memory before and after (from /proc/<pid>/status), then changes one
opportunity through HTTP and measures how long the event takes to reach every subscriber.
Run it through bench/run-ws (which starts a server), or point it at a running one.
"""
import argparse
import asyncio
import json
import statistics
import time
import urllib.request

import websockets


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def gql(base, token, query, variables=None):
    req = urllib.request.Request(
        base + "/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"content-type": "application/json", "authorization": "Bearer " + token},
    )
    return json.load(urllib.request.urlopen(req))


async def subscriber(url, token, ready, received, go):
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"], max_size=2**20) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer " + token}}))
        ack = json.loads(await ws.recv())
        assert ack["type"] == "connection_ack", ack
        await ws.send(json.dumps({"type": "subscribe", "id": "1", "payload": {
            "query": "subscription { events(filter: {kinds: [DEAL_UPDATED]}) { cursor kind } }"}}))
        ready.release()
        msg = json.loads(await ws.recv())
        received.append(time.perf_counter())
        assert msg["type"] == "next", msg
        await go.wait()


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--base", default="http://127.0.0.1:8080")
    p.add_argument("--token", required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("-n", type=int, default=1000)
    a = p.parse_args()
    ws_url = a.base.replace("http://", "ws://") + "/graphql/ws"
    opp = gql(a.base, a.token, "{ opportunities(view: OUTBOUND, first: 1) { nodes { id } } }")
    opp_id = opp["data"]["opportunities"]["nodes"][0]["id"]

    before = rss_kib(a.pid)
    ready = asyncio.Semaphore(0)
    received = []
    go = asyncio.Event()
    tasks = []
    for i in range(a.n):
        tasks.append(asyncio.create_task(subscriber(ws_url, a.token, ready, received, go)))
        if i % 100 == 99:
            await asyncio.sleep(0.05)
    for _ in range(a.n):
        await ready.acquire()
    await asyncio.sleep(2.0)  # let every subscription reach the bus
    after = rss_kib(a.pid)

    t0 = time.perf_counter()
    await asyncio.get_running_loop().run_in_executor(None, lambda: gql(
        a.base, a.token,
        'mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { userErrors { code } } }',
        {"i": {"opportunityId": opp_id, "notes": f"bench {time.time()}"}}))
    deadline = time.perf_counter() + 30
    while len(received) < a.n and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    go.set()
    lat = sorted((t - t0) * 1000 for t in received)
    for t in tasks:
        t.cancel()
    print(json.dumps({
        "subscribers": a.n,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_idle_subscription": round((after - before) / a.n, 1),
        "received": len(lat),
        "latency_ms_p50": round(statistics.median(lat), 1) if lat else None,
        "latency_ms_p99": round(lat[int(len(lat) * 0.99) - 1], 1) if lat else None,
        "latency_ms_max": round(lat[-1], 1) if lat else None,
    }, indent=2))


asyncio.run(main())
