"""numaview at scale: the sampler tick and a new frame on screen as processes and threads grow.

    .venv/bin/python -m benchmarks.bench_scale [--sizes 1000,2000,4000] [--ticks 15]
        [--frames 15] [--profile]

A fake 512-CPU, 8-node machine (tests/fakefs.py on tmpfs, via benchmarks/fakeload.py)
with N processes and 10·N threads, a mix as a big server has it:

- 80 % one-thread processes, half of them per-CPU kernel threads, half small daemons;
- 17 % daemons with 2–16 threads;
- 3 % servers sharing the remaining threads (~250 each; half pinned to one node,
  the 20 largest with numa_maps): every second a quarter of their threads run;
- every second 2 % of the others wake briefly (a switch, 0–2 clock ticks) and
  one short-lived process is replaced by a new one (the fork count moves).

So ~5 % of the processes run each second. Each size is built once. Per tick
the changed processes' files are rewritten (not timed), the clock advances
1 s, and ``sampler.sample()`` (default SamplerOptions) is timed: wall (median,
p90) and its thread's CPU. The same frames then go, one by one, to a
headless app at 200×60 as bench_ui_render does it: "new frame on screen" is
the CPU until it is painted, minus an idle refresh. That app runs the
Monitor inline, so the detectors are inside that figure; their own share
(Diagnoser.update on the same frames) is printed beside it. Last, whether
the heatmap of a 1024-CPU, 16-node machine still fits 80×24. A benchmark,
not a test: it prints figures and the targets beside them, and asserts
nothing about time. --profile prints cProfile's top entries of one tick
and of the frames.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from tests.fakefs import FakeProcess, FakeThread

from benchmarks.bench_ui_render import UiCost, frame_cost
from benchmarks.fakeload import SHAPE_512, SHAPE_1024, LoadedMachine, tmpfs_dir
from numaview.diagnose.engine import Diagnoser
from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler
from numaview.stream.source import ManualSource
from numaview.tui.app import make_app
from numaview.tui.widgets.heatmap import Heatmap

TICK_TARGET_MS = 50.0  # at 4,000 processes / 40,000 threads
FRAME_TARGET_MS = 10.0
THREADS_PER_PROCESS = 10
SERVER_SHARE, DAEMON_SHARE, WAKE_SHARE, RUN_SHARE = 0.03, 0.17, 0.02, 0.25
SCREEN = (200, 60)


@dataclass
class Mix:
    servers: list[FakeProcess]
    others: list[FakeProcess]  # idle: some wake each second, one is replaced
    threads: int


def populate(lm: LoadedMachine, rng: random.Random, nproc: int, nthreads: int) -> Mix:
    """The processes of one size, thread counts summing to ``nthreads`` exactly."""
    cpus = lm.m.cpus
    by_node = {n: [c for c in cpus if lm.m.node_of[c] == n] for n in lm.m.node_ids}
    n_servers = max(1, round(nproc * SERVER_SHARE))
    n_daemons = round(nproc * DAEMON_SHARE)
    n_single = nproc - n_servers - n_daemons
    daemon_sizes = [rng.randint(2, 16) for _ in range(n_daemons)]
    left = nthreads - n_single - sum(daemon_sizes)
    weights = [rng.uniform(0.5, 1.5) for _ in range(n_servers)]
    server_sizes = [max(2, int(left * w / sum(weights))) for w in weights]
    server_sizes[0] += left - sum(server_sizes)
    assert min(server_sizes) >= 2, "too few threads for this many processes"
    kinds = ["server"] * n_servers + ["daemon"] * n_daemons + ["single"] * n_single
    rng.shuffle(kinds)  # pids interleaved, as on a machine that has run a while
    ids = itertools.count(1000)
    mix = Mix([], [], 0)
    for i, kind in enumerate(kinds):
        pid = next(ids)
        if kind == "server":
            affinity = rng.choice(list(by_node.values())) if rng.random() < 0.5 else cpus
            p = FakeProcess(
                pid=pid, name=f"server{i}", cmdline=[f"/opt/srv/server{i}", "--port", str(i)],
                rss_pages=rng.randint(500_000, 4_000_000), affinity=affinity,
                mems_allowed=lm.m.node_ids, state="R",
            )  # fmt: skip
            n = server_sizes.pop()
        elif kind == "daemon":
            p = FakeProcess(
                pid=pid, name=f"daemon{i}", cmdline=[f"/usr/sbin/daemon{i}", "-f"],
                rss_pages=rng.randint(1_000, 50_000), affinity=cpus, mems_allowed=lm.m.node_ids,
            )  # fmt: skip
            n = daemon_sizes.pop()
        elif rng.random() < 0.5:
            cpu = rng.choice(cpus)
            p = FakeProcess(
                pid=pid, name=f"kworker/{cpu}:{i % 3}", cmdline=[], rss_pages=0,
                affinity=[cpu], kernel=True, ppid=2,
            )  # fmt: skip
            n = 1
        else:
            p = FakeProcess(
                pid=pid, name=f"agent{i}", cmdline=[f"/usr/bin/agent{i}"],
                rss_pages=rng.randint(100, 20_000), affinity=cpus,
            )  # fmt: skip
            n = 1
        tids = [pid] + [next(ids) for _ in range(n - 1)]
        p.threads = [FakeThread(tid=t, name=p.name[:15], cpu=rng.choice(p.affinity)) for t in tids]
        p.starttime = 500 + i
        (mix.servers if kind == "server" else mix.others).append(lm.fp.add(p))
        mix.threads += n
    for p in sorted(mix.servers, key=lambda s: -s.rss_pages)[:20]:
        p.numa_pages = {n: p.rss_pages // 4 for n in rng.sample(lm.m.node_ids, 4)}
    mix.others.sort(key=lambda p: p.pid)
    return mix


def advance(
    lm: LoadedMachine, mix: Mix, rng: random.Random, nproc: int, pids: itertools.count[int]
) -> None:
    """One second of the mix: servers run, a few others wake, one process is replaced."""
    hot: set[int] = set()
    for p in mix.servers:
        lm.fp.mark(p)
        for th in p.threads:
            if rng.random() < RUN_SHARE:
                th.ticks += rng.randint(1, 50)
                th.cpu = rng.choice(p.affinity) if rng.random() < 0.2 else th.cpu
                th.voluntary += rng.randint(1, 200)
                hot.add(th.cpu)
        p.voluntary += rng.randint(0, 500)
        p.involuntary += rng.randint(0, 50)
    for p in rng.sample(mix.others, round(nproc * WAKE_SHARE)):
        lm.fp.mark(p)
        th = rng.choice(p.threads)
        th.ticks += rng.choice((0, 0, 1, 2))
        if th is p.threads[0]:
            p.voluntary += 1
        else:
            th.voluntary += 1
    # A short-lived process (a health check, a cron job) ends and another starts.
    gone = rng.choice([p for p in mix.others[-50:] if len(p.threads) == 1 and not p.kernel])
    lm.fp.remove(gone.pid)
    mix.others.remove(gone)
    pid = next(pids)
    new = FakeProcess(
        pid=pid, name=f"check{pid}", cmdline=["/usr/bin/check", str(pid)], rss_pages=300,
        affinity=lm.m.cpus, starttime=int(lm.fp.uptime * 100),
        threads=[FakeThread(tid=pid, name="check", cpu=rng.choice(lm.m.cpus))],
    )  # fmt: skip
    mix.others.append(lm.fp.add(new))
    for c in lm.m.cpus:
        used = rng.randint(60, 100) if c in hot else rng.randint(0, 3)
        lm.charge(c, used, system=used // 4)
    lm.fp.ctxt += 100 * nproc


@dataclass
class SizeResult:
    processes: int
    threads: int
    build_s: float
    tick_ms: list[float]
    tick_cpu_ms: list[float]
    ui: UiCost
    detect_ms: float  # of the frame's cost: the Monitor's detectors (inline in the headless app)

    @property
    def tick_median(self) -> float:
        return statistics.median(self.tick_ms)

    @property
    def tick_p90(self) -> float:
        ms = self.tick_ms
        return statistics.quantiles(ms, n=10)[-1] if len(ms) > 1 else ms[0]


def run_size(nproc: int, ticks: int, frames: int, profile: bool) -> SizeResult:
    rng = random.Random(nproc)
    with tmpfs_dir() as tmp:
        t0 = time.perf_counter()
        lm = LoadedMachine(Path(tmp), SHAPE_512)
        mix = populate(lm, rng, nproc, nproc * THREADS_PER_PROCESS)
        lm.fp.write()
        build_s = time.perf_counter() - t0
        sampler = lm.sampler()
        pids = itertools.count(1000 + mix.threads)
        sampler.sample()  # tick 1 reads every status, cmdline and thread
        advance(lm, mix, rng, nproc, pids)
        lm.next_second()
        sampler.sample()  # tick 2: the first rates, every thread's status again
        wall: list[float] = []
        cpu: list[float] = []
        out: list[Frame] = []
        for i in range(max(ticks, frames + 1)):
            advance(lm, mix, rng, nproc, pids)
            lm.next_second()
            t0, c0 = time.perf_counter(), time.thread_time()
            frame = sampler.sample()
            c1, t1 = time.thread_time(), time.perf_counter()
            if i < ticks:
                wall.append((t1 - t0) * 1000)
                cpu.append((c1 - c0) * 1000)
            out.append(frame)
        assert frame.system.processes_total == nproc, frame.system.processes_total
        if profile:
            advance(lm, mix, rng, nproc, pids)
            lm.next_second()
            prof = cProfile.Profile()
            prof.runcall(sampler.sample)
            print(f"-- one sampler tick, {nproc} processes, by tottime --")
            pstats.Stats(prof).sort_stats("tottime").print_stats(12)
    shown = out[: frames + 1]
    ui = asyncio.run(frame_cost(sampler, shown, SCREEN, profile=profile))
    return SizeResult(nproc, mix.threads, build_s, wall, cpu, ui, detect_cost(sampler, shown))


def detect_cost(sampler: Sampler, frames: list[Frame]) -> float:
    """Median CPU ms of Diagnoser.update on these frames: the part of "new frame on
    screen" that is the Monitor's, not the UI's (the headless app runs it inline)."""
    diagnoser = Diagnoser(sampler.topology)
    ms = []
    for frame in frames:
        t0 = time.process_time()
        diagnoser.update(frame)
        ms.append((time.process_time() - t0) * 1000)
    return statistics.median(ms[1:])


@dataclass
class HeatFit:
    layout_w: int  # cell width layout_for(80) picks
    layout_lines: int  # its lines, the legend not counted
    width: int  # the mounted heatmap's width and height at 80×24
    height: int
    cell_w: int
    lines: int  # lines laid out (legend included)
    in_lines: int  # CPUs that have a cell in the layout
    on_screen: int  # of those, on the heatmap's visible lines
    cpus: int


def heatmap_fit() -> HeatFit:
    """The 1024-CPU, 16-node heatmap at 80×24: the cell width, lines, and every CPU drawn?"""
    with tmpfs_dir() as tmp:
        lm = LoadedMachine(Path(tmp), SHAPE_1024)
        for i in range(20):
            lm.fp.add(FakeProcess(pid=1000 + i, name=f"p{i}", affinity=lm.m.cpus))
        sampler = lm.sampler()
        frames = lm.frames(sampler, 2, lambda: None)
    return asyncio.run(_heatmap_fit(sampler, frames))


async def _heatmap_fit(sampler: Sampler, frames: list[Frame]) -> HeatFit:
    w, lines = Heatmap(sampler.topology).layout_for(80)
    app = make_app(ManualSource(sampler, kind="live"), charts=False)
    async with app.run_test(size=(80, 24)) as pilot:
        for frame in frames:
            app.monitor.feed(frame)
            await pilot.pause()
        heat = app.query_one(Heatmap)
        laid = heat._lines
        shown = heat.size.height
        in_lines = {cpu for line in laid for _, _, cpu in line if cpu is not None}
        on_screen = {cpu for line in laid[:shown] for _, _, cpu in line if cpu is not None}
        all_cpus = {c.id for c in sampler.topology.cpus}
        return HeatFit(
            layout_w=w,
            layout_lines=len(lines),
            width=heat.size.width,
            height=shown,
            cell_w=heat.cell_w,
            lines=len(laid),
            in_lines=len(in_lines & all_cpus),
            on_screen=len(on_screen & all_cpus),
            cpus=len(all_cpus),
        )


def verdict(value: float, target: float) -> str:
    return f"{value / target:.2f} × target, {'within' if value <= target else 'OVER'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", default="1000,2000,4000", help="process counts (threads: 10×)")
    ap.add_argument("--ticks", type=int, default=15, help="timed sampler ticks per size")
    ap.add_argument("--frames", type=int, default=15, help="frames put on screen per size")
    ap.add_argument("--profile", action="store_true", help="cProfile a tick and the frames")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for n in sizes:
        results.append(run_size(n, args.ticks, args.frames, args.profile))
        r = results[-1]
        print(f"  ({r.processes} processes built in {r.build_s:.1f} s)", flush=True)
    sx, sy = SCREEN
    print(
        f"\nfake 512 CPUs / 8 nodes, default SamplerOptions; {args.ticks} ticks,"
        f" {args.frames} frames at {sx}×{sy} a size; medians, ms"
    )
    print(
        f"{'':18} │ {'sampler tick':^20} │ {'new frame on screen (CPU)':^38}\n"
        f"{'processes':>9} {'threads':>8} │ {'median':>6} {'p90':>6} {'cpu':>6} │"
        f" {'net':>6} {'frame':>6} {'idle':>6} {'detect':>7} {'heatmap':>8}"
    )
    for r in results:
        ui = r.ui
        print(
            f"{r.processes:>9,} {r.threads:>8,} │ {r.tick_median:6.1f} {r.tick_p90:6.1f}"
            f" {statistics.median(r.tick_cpu_ms):6.1f} │ {ui.net_ms:6.2f} {ui.frame_ms:6.2f}"
            f" {ui.idle_ms:6.2f} {r.detect_ms:7.2f} {ui.heat_ms:8.2f}"
        )
    print(
        "(net = frame − idle refresh; detect: the Monitor's detectors, inside net here"
        " as the headless app runs them inline; heatmap: its show + lines alone)"
    )
    for a, b in itertools.pairwise(results):
        print(
            f"growth {b.processes // 1000}k/{a.processes // 1000}k:"
            f" tick ×{b.tick_median / a.tick_median:.2f},"
            f" frame ×{b.ui.net_ms / a.ui.net_ms:.2f}"
        )
    big = results[-1]
    print(
        f"sampler tick at {big.processes:,} processes / {big.threads:,} threads:"
        f" {big.tick_median:.1f} ms (target ≤ {TICK_TARGET_MS:.0f} ms at 4,000 / 40,000:"
        f" {verdict(big.tick_median, TICK_TARGET_MS)})"
    )
    worst = max(r.ui.net_ms for r in results)
    print(
        f"new frame on screen, worst size: {worst:.2f} ms"
        f" (target ≤ {FRAME_TARGET_MS:.0f} ms: {verdict(worst, FRAME_TARGET_MS)})"
    )
    fit = heatmap_fit()
    print(
        f"heatmap, 1024 CPUs / 16 nodes: layout_for(80) → cell width {fit.layout_w},"
        f" {fit.layout_lines} lines + legend; mounted at 80×24: {fit.width}×{fit.height},"
        f" cell width {fit.cell_w}, {fit.lines} lines laid out (legend included);"
        f" CPUs with a cell {fit.in_lines}/{fit.cpus}, on visible lines"
        f" {fit.on_screen}/{fit.cpus}"
        f" ({'all drawn' if fit.on_screen == fit.cpus else 'NOT all drawn'})"
    )


if __name__ == "__main__":
    main()
