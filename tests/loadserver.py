"""A real HTTP server for the load-test tests: CPU work per request, real prometheus_client metrics.

Run as ``python tests/loadserver.py [--work-ms 20] [--threads 4]``; it prints
its port on the first line of stdout and serves on 127.0.0.1:

- ``/work``: burns ``--work-ms`` of CPU in a worker thread, then counts the
  request in ``app_requests_total`` and its time in ``app_request_seconds``;
- ``/metrics``: the prometheus_client exposition of those two;
- ``/count?t0=T&t1=T``: how many requests finished between two
  CLOCK_MONOTONIC times (the server's own count, to check numaview's rates);
- ``/hang``, ``/fail``, ``/huge``, ``/garbage``: faults for the source tests.
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import hashlib
import json
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class State:
    def __init__(self, work_ms: float, threads: int) -> None:
        self.work_s = work_ms / 1000
        self.pool = ThreadPoolExecutor(max_workers=threads)
        self.registry = CollectorRegistry()
        self.requests = Counter("app_requests", "Requests served", registry=self.registry)
        self.latency = Histogram(
            "app_request_seconds",
            "Request latency",
            buckets=(0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56),
            registry=self.registry,
        )
        self.done: list[float] = []  # CLOCK_MONOTONIC of each finished request, in order
        self.lock = threading.Lock()

    def work(self) -> None:
        t0 = time.monotonic()
        cpu0 = time.thread_time()
        data = b"x" * 256
        while time.thread_time() - cpu0 < self.work_s:  # CPU time, not wall: real work
            data = hashlib.sha256(data).digest()
        t1 = time.monotonic()
        with self.lock:
            self.requests.inc()
            self.latency.observe(t1 - t0)
            self.done.append(t1)

    def count(self, t0: float, t1: float) -> int:
        with self.lock:
            return bisect.bisect_right(self.done, t1) - bisect.bisect_left(self.done, t0)


def handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _send(self, code: int, body: bytes, ctype: str = "text/plain") -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(url.query)
            if url.path == "/work":
                state.pool.submit(state.work).result()
                self._send(200, b"ok\n")
            elif url.path == "/metrics":
                self._send(200, generate_latest(state.registry), "text/plain; version=0.0.4")
            elif url.path == "/count":
                n = state.count(float(q["t0"][0]), float(q["t1"][0]))
                self._send(200, json.dumps({"count": n}).encode(), "application/json")
            elif url.path == "/hang":
                time.sleep(3600)
            elif url.path == "/fail":
                self._send(500, b"internal error\n")
            elif url.path == "/huge":
                self._send(200, b"# " + b"x" * (10 * 1024 * 1024) + b"\n")
            elif url.path == "/garbage":
                self._send(200, b"<html><body>not metrics{{{</body></html>\n", "text/html")
            else:
                self._send(404, b"not found\n")

    return Handler


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--work-ms", type=float, default=20.0)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args()
    state = State(args.work_ms, args.threads)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(state))
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
