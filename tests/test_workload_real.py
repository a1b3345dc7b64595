"""The load test on the real machine: real HTTP servers doing CPU work, real prometheus_client.

Two servers pinned to CPU 0 share it; ``numaview pin B --cpus 1 --measure``
must see the throughput rise, and its rates must agree with the servers' own
counts within 10 %. Endpoints that hang, refuse, fail, send 10 MB or garbage
give one warning each while the frames keep coming on time. These pass with
another process keeping a CPU busy: the assertions hold whichever CPU it is on.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from numaview.linux.fsroot import FsRoot
from numaview.linux.sysfs import discover
from numaview.sampler.sampler import Sampler
from numaview.stream.bundle import Bundle
from numaview.stream.monitor import Monitor
from numaview.stream.source import SampledSource
from numaview.workload.hub import SourceSpec, WorkloadHub
from numaview.workload.profiles import CustomMetrics

pytestmark = pytest.mark.real
HERE = Path(__file__).resolve().parent
CUSTOM = CustomMetrics(throughput="app_requests_total", latency="app_request_seconds")
TWO_CPUS = len(os.sched_getaffinity(0)) >= 2


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def get(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            return conn.getresponse().read()
        finally:
            conn.close()

    def count(self, t0: float, t1: float) -> int:
        return int(json.loads(self.get(f"/count?t0={t0}&t1={t1}"))["count"])


def start_server(cpus: set[int] | None = None, work_ms: float = 20.0) -> Server:
    def pin() -> None:
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    proc = subprocess.Popen(
        [sys.executable, str(HERE / "loadserver.py"), "--work-ms", str(work_ms)],
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=pin,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"server did not start: {line!r}"
    return Server(proc, int(line))


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for s in started:
        s.proc.kill()
        s.proc.wait()


class Load:
    """Closed-loop clients: ``per_server`` connections each asking /work back to back."""

    def __init__(self, targets: list[Server], per_server: int = 3) -> None:
        self.stop = threading.Event()
        self.threads = [
            threading.Thread(target=self._loop, args=(s.port,), daemon=True)
            for s in targets
            for _ in range(per_server)
        ]
        for t in self.threads:
            t.start()

    def _loop(self, port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not self.stop.is_set():
            try:
                conn.request("GET", "/work")
                conn.getresponse().read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=35)


@pytest.mark.skipif(not TWO_CPUS, reason="needs two CPUs to move a server to")
def test_pin_measure_sees_the_rise_and_agrees_with_the_servers(servers: list[Server]) -> None:
    a, b = start_server({0}), start_server({0})
    servers += [a, b]
    load = Load([a, b])
    try:
        time.sleep(1.0)  # warm up
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "numaview",
                "pin",
                str(b.proc.pid),
                "--cpus",
                "1",
                "--metrics",
                a.url,
                "--metrics",
                b.url,
                "--throughput",
                "app_requests_total",
                "--latency",
                "app_request_seconds",
                "--measure",
                "6",
                "--settle",
                "2",
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        load.close()
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    comps = {c["source"]: c for c in result["comparisons"]}
    assert set(comps) == {a.url, b.url}
    rate = {
        (src, side): next(ch[side] for ch in c["changes"] if ch["figure"] == "req_s")
        for src, c in comps.items()
        for side in ("before", "after")
    }
    total_before = rate[a.url, "before"] + rate[b.url, "before"]
    total_after = rate[a.url, "after"] + rate[b.url, "after"]
    # Alone on a CPU a server does twice the work; a busy neighbour anywhere still
    # leaves the sum at least 4/3 × (hog, A and B share two CPUs instead of A and B one).
    assert total_after > 1.15 * total_before, (rate, total_before, total_after)
    for server in (a, b):
        c = comps[server.url]
        for side in ("before", "after"):
            t0, t1 = c[side]
            own = server.count(t0, t1) / (t1 - t0)
            assert rate[server.url, side] == pytest.approx(own, rel=0.10), (side, own)
    changed = next(ch for ch in comps[b.url]["changes"] if ch["figure"] == "req_s")
    assert changed["better"] is True
    assert changed["change_pct"] > 0


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_bad_endpoints_warn_once_and_frames_stay_on_time(servers: list[Server]) -> None:
    good = start_server(work_ms=1.0)
    servers.append(good)
    base = f"http://127.0.0.1:{good.port}"
    bad = {
        f"{base}/hang": "within",
        f"{base}/fail": "HTTP 500",
        f"http://127.0.0.1:{_closed_port()}/metrics": "cannot connect",
        f"{base}/huge": "larger than",
        f"{base}/garbage": "not a Prometheus exposition",
    }
    specs = [SourceSpec("metrics", u, CUSTOM, timeout_s=1.0) for u in bad]
    specs.append(SourceSpec("metrics", good.url, CUSTOM, timeout_s=1.0))
    root = FsRoot("/")
    hub = WorkloadHub(specs, root, interval_s=0.5)
    source = SampledSource(Sampler("/", discover("/")), 0.5, kind="live")
    bundles: list[Bundle] = []
    monitor = Monitor(source, workload=hub)
    monitor.start(bundles.append)
    try:
        time.sleep(4.5)
    finally:
        monitor.stop()
    frames = [b.frame for b in bundles if b.frame is not None]
    monos = sorted({f.mono for f in frames})
    gaps = [y - x for x, y in itertools.pairwise(monos[1:])]  # after the 0.25 s one
    assert len(monos) >= 6
    assert max(gaps) < 0.5 + 0.6, gaps  # a hanging endpoint never holds a tick
    events = bundles[-1].events
    for url, why in bad.items():
        said = [e for e in events if e.kind == "workload" and e.text.startswith(url + ":")]
        assert len(said) == 1, (url, [e.text for e in said])
        assert why in said[0].text
    last = {w.source: w for w in frames[-1].workload}
    for url, why in bad.items():
        err = last[url].error
        assert err is not None and why in err
        assert last[url].stale
    ok = last[good.url]
    assert ok.error is None and not ok.stale
    assert ok.server == "custom"
    assert ok.pid == good.proc.pid  # found by the port it listens on
