"""SSE fan-out benchmark: comment doorbells delivered to thousands of open invoice pages across two processes.

1. A fresh database (`invoice_portal_bench_sse` on the system PostgreSQL), one invoice with a live link.
2. Two portal processes (uvicorn, one worker each) and the bare Starlette SSE baseline (bench/bare_app.py:
   sse-starlette and in-process queues, no database), all on 127.0.0.1.
3. For each subscriber count: that many SSE connections to GET /i/{token}/comments/stream, split evenly across
   the two portal processes, held by client worker processes (raw asyncio sockets). Then comments are written
   with the app's own db.comments.insert_comment (commit -> NOTIFY -> each process's one LISTEN connection ->
   per-subscriber queues -> the stream), one every 0.5 s, and every subscriber's arrival time is recorded.
   Latency = arrival - the moment the insert was sent. Memory per idle connection = growth of the portal
   processes' resident memory / connections held. The same is measured for the bare baseline (one process).

Usage: .venv/bin/python -m bench.sse_fanout [--counts 1000,5000] [--comments 10] [--processes 1,2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import statistics
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg

from bench.portal import Server, bench_database, start_server, wait_ready
from db.comments import insert_comment
from db.links import select_live_link
from db.migrate import migrate
from db.rows import init_connection
from web.dev.demo import load_demo
from web.invoices.links import token_hash

BENCH_DB = "invoice_portal_bench_sse"
# The pauses between steps (idle memory, comments every 0.5 s, clean-up), scaled down for a quick round.
PAUSES = [1.0]
CLIENT_WORKERS = 2


def _raise_file_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _subscribe(url: str, ready: asyncio.Event, arrivals: dict[str, list[float]], opened: list[int]) -> None:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n"
    writer.write(request.encode())
    await writer.drain()
    event = ""
    try:
        while line := await reader.readline():
            text = line.decode().strip()
            if text.startswith("event:"):
                event = text[6:].strip()
            elif text.startswith("data:"):
                if event == "ready":
                    opened[0] += 1
                    if opened[0] == opened[1]:
                        ready.set()
                elif event in ("comment", "message"):
                    arrivals.setdefault(text[5:].strip(), []).append(time.time())
    finally:
        writer.close()


def client_worker(urls: list[str], pipe: multiprocessing.connection.Connection) -> None:  # type: ignore[name-defined]
    """Hold `urls` open as SSE subscribers; report when all are open, then arrivals when told to stop."""
    _raise_file_limit()

    async def run() -> None:
        ready = asyncio.Event()
        arrivals: dict[str, list[float]] = {}
        opened = [0, len(urls)]
        tasks = []
        for start in range(0, len(urls), 200):  # connect in batches: the listen backlog is finite
            tasks += [asyncio.create_task(_subscribe(u, ready, arrivals, opened)) for u in urls[start : start + 200]]
            await asyncio.sleep(0.05)
        await asyncio.wait_for(ready.wait(), 120)
        pipe.send("ready")
        await asyncio.get_running_loop().run_in_executor(None, pipe.recv)  # "stop"
        pipe.send(arrivals)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(run())


def hold_subscribers(urls: list[str]) -> tuple[list[multiprocessing.Process], list]:  # type: ignore[type-arg]
    context = multiprocessing.get_context("fork")
    workers, pipes = [], []
    for index in range(CLIENT_WORKERS):
        parent, child = context.Pipe()
        process = context.Process(target=client_worker, args=(urls[index::CLIENT_WORKERS], child), daemon=True)
        process.start()
        workers.append(process)
        pipes.append(parent)
    for pipe in pipes:
        if not pipe.poll(180) or pipe.recv() != "ready":
            raise RuntimeError("subscribers did not all open")
    return workers, pipes


def collect(workers: list[multiprocessing.Process], pipes: list) -> dict[str, list[float]]:  # type: ignore[type-arg]
    arrivals: dict[str, list[float]] = {}
    for pipe in pipes:
        pipe.send("stop")
        for key, times in pipe.recv().items():
            arrivals.setdefault(key, []).extend(times)
    for process in workers:
        process.join(10)
    return arrivals


def summarize(name: str, sent: dict[str, float], arrivals: dict[str, list[float]], subscribers: int) -> None:
    latencies = sorted((t - sent[key]) * 1000 for key, times in arrivals.items() if key in sent for t in times)
    expected = subscribers * len(sent)
    if not latencies:
        print(f"  {name}: nothing delivered")
        return
    p50 = statistics.median(latencies)
    p99 = latencies[max(int(len(latencies) * 0.99) - 1, 0)]
    print(
        f"  {name}: delivered {len(latencies)}/{expected}; latency p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {latencies[-1]:.1f} ms"
    )


async def post_comments(url: str, invoice_id: int, count: int) -> dict[str, float]:
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    sent: dict[str, float] = {}
    try:
        for index in range(count):
            key = f"bench-{time.time_ns()}-{index:04d}"
            started = time.time()
            comment, _ = await insert_comment(
                conn, invoice_id=invoice_id, author_role="staff", author_name="Bench", author_email="",
                body=f"comment {index}", client_key=key,
            )  # fmt: skip
            sent[str(comment.id)] = started
            await asyncio.sleep(0.5 * PAUSES[0])
    finally:
        await conn.close()
    return sent


def fire_bare(base: str, count: int) -> dict[str, float]:
    sent: dict[str, float] = {}
    for index in range(count):
        key = f"bare-{index}"
        sent[key] = time.time()
        urllib.request.urlopen(urllib.request.Request(f"{base}/fire?id={key}", method="POST"), timeout=10).read()
        time.sleep(0.5 * PAUSES[0])
    return sent


async def prepare(url: str) -> tuple[str, int]:
    """The demo's 'open' invoice: its link token and id."""
    conn = await asyncpg.connect(url)
    await init_connection(conn)
    try:
        await migrate(conn)
        token = dict(await load_demo(url))["open"]
        found = await select_live_link(conn, token_hash(token), datetime.now(UTC))
        assert found is not None
        return token, found[0].id
    finally:
        await conn.close()


def run_portal(portals: list[Server], url: str, token: str, invoice_id: int, count: int, comments: int) -> None:
    before = [rss_kb(server.process.pid) for server in portals]
    urls = [f"{portals[i % len(portals)].base}/i/{token}/comments/stream" for i in range(count)]
    workers, pipes = hold_subscribers(urls)
    time.sleep(2 * PAUSES[0])  # idle: what an open page costs while nothing happens
    grown = [rss_kb(server.process.pid) - b for server, b in zip(portals, before, strict=True)]
    per_connection = sum(grown) / count
    name = f"portal x{len(portals)}"
    print(f"  {name}: {count} subscribers open; memory +{sum(grown) / 1024:.1f} MB = {per_connection:.1f} KB each")
    sent = asyncio.run(post_comments(url, invoice_id, comments))
    time.sleep(PAUSES[0])
    summarize(name, sent, collect(workers, pipes), count)


def run_bare(bare: Server, count: int, comments: int) -> None:
    before = rss_kb(bare.process.pid)
    workers, pipes = hold_subscribers([f"{bare.base}/stream"] * count)
    time.sleep(2 * PAUSES[0])
    per_connection = (rss_kb(bare.process.pid) - before) / count
    print(f"  bare x1: {count} subscribers open; {per_connection:.1f} KB each")
    sent = fire_bare(bare.base, comments)
    time.sleep(PAUSES[0])
    summarize("bare x1", sent, collect(workers, pipes), count)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--counts", default="1000,5000", help="subscriber counts, comma-separated")
    parser.add_argument("--comments", type=int, default=10, help="comments posted per count")
    parser.add_argument(
        "--processes", default="2", help="portal processes sharing the subscribers, e.g. 1,2 to compare (default 2)"
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run (50 subscribers, 2 comments), to see it works")
    args = parser.parse_args(argv)
    if args.quick:
        args.counts, args.comments = "50", 2
        PAUSES[0] = 0.25
    counts = [int(c) for c in args.counts.split(",")]
    _raise_file_limit()  # inherited by the servers we start
    print(f"SSE fan-out benchmark: {os.cpu_count()} CPUs; {CLIENT_WORKERS} client processes on the same machine")
    with bench_database(BENCH_DB, "sse-bench-") as (url, workdir, servers):
        env = {**os.environ, "DATABASE_URL": url, "PDF_WORKERS": "1", "PYTHONUNBUFFERED": "1", "DB_POOL_MAX": "5"}
        token, invoice_id = asyncio.run(prepare(url))
        servers.extend(start_server(f"portal{i}", "web.app:app_from_env", env, workdir) for i in (1, 2))
        servers.append(start_server("bare", "bench.bare_app:create_app", env, workdir))
        for server in servers[:2]:
            wait_ready(server, "/healthz")
        wait_ready(servers[2], "/")
        for count in counts:
            print(f"\n== {count} subscribers, {args.comments} comments, one every 0.5 s ==")
            run_bare(servers[2], count, args.comments)
            for processes in (int(p) for p in args.processes.split(",")):
                run_portal(servers[: min(processes, 2)], url, token, invoice_id, count, args.comments)
            time.sleep(2 * PAUSES[0])  # the closed streams are cleaned up before the next round


if __name__ == "__main__":
    main()
