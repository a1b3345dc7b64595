"""numaview's RSS in a real terminal: just started, and with the hour's ring full (target ≤ 45 MB).

    .venv/bin/python -m benchmarks.bench_dashboard_rss [--size 120x40] [--seconds 20]
        [--rounds 2] [--extra 300] [--prefill 3600]

Three programs at once in a private tmux server, each in its own pane of
--size: the floor (benchmarks/floor_app.py, a bare Textual app), ``numaview``
as the console script starts it (``numaview.cli.main([])``), and the same
dashboard whose Monitor ring was first filled with --prefill frames (one
hour at 1 s) by the dashboard's own Sampler on a clock advanced 1 s a frame,
ending at the start: what the ring holds after an hour of running, without
waiting the hour. --extra ``sleep 3600`` children are started first so the
machine has a few hundred processes, like a server. After --seconds (the
first frames, the first full /proc scan, the charts' first drawing) each
program's VmRSS is read. Rounds alternate the start order; the medians are
printed (MB = 2**20 bytes).

Bytecode: an installed numaview has its .pyc files (pip compiles them), while
a checkout run with PYTHONDONTWRITEBYTECODE=1 compiles every module from
source at each start, which leaves ~1.5 MB more RSS behind. So by default the
programs run with a private PYTHONPYCACHEPREFIX, filled by one import run
first; --no-pyc runs them without bytecode files instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_peers import Tmux, rss_mb, sleepers

TARGET_MB = 45.0


def child(prefill: int) -> int:
    """The dashboard, its ring filled with ``prefill`` frames first (0: as ``numaview`` starts)."""
    from numaview.cli import main

    if prefill:
        from numaview.stream import factories

        live = factories.live

        def filled(*args, **kwargs):
            monitor = live(*args, **kwargs)
            sampler = monitor.source.sampler  # type: ignore[attr-defined]
            real_clock = sampler.clock
            now = [time.monotonic() - prefill - 1.0]
            sampler.clock = lambda: now[0]
            for _ in range(prefill):
                now[0] += 1.0
                monitor.ring.append(sampler.sample())
            sampler.clock = real_clock
            return monitor

        factories.live = filled
    return main([])


def one_round(
    programs: list[tuple[str, str]], size: str, seconds: float, env: dict[str, str]
) -> dict[str, float]:
    width, height = (int(v) for v in size.split("x"))
    tmux = Tmux(env)
    try:
        pids = {
            label: tmux.start(f"p{i}", width, height, cmd)
            for i, (label, cmd) in enumerate(programs)
        }
        time.sleep(seconds)
        for label, pid in pids.items():
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith("python"):
                    raise SystemExit(f"{label} is not running")
        return {label: rss_mb(pid) for label, pid in pids.items()}
    finally:
        tmux.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size", default="120x40")
    ap.add_argument("--seconds", type=float, default=20.0, help="seconds after the ring is filled")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--extra", type=int, default=300)
    ap.add_argument("--prefill", type=int, default=3600)
    ap.add_argument("--no-pyc", action="store_true", help="compile from source at each start")
    ap.add_argument("--child", type=int, metavar="N", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        sys.exit(child(args.child))
    py = sys.executable
    here = Path(__file__).resolve().parent.parent
    programs = [
        ("floor (bare Textual)", f"exec {py} -m benchmarks.floor_app"),
        ("numaview, just started", f"exec {py} -m benchmarks.bench_dashboard_rss --child 0"),
        (
            f"numaview, ring full ({args.prefill} frames)",
            f"exec {py} -m benchmarks.bench_dashboard_rss --child {args.prefill}",
        ),
    ]
    # the prefill takes ~5 ms a frame here (more beside the others): wait for it first
    seconds = args.seconds + args.prefill * 0.01
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", XDG_CONFIG_HOME=tmp)
        env["XDG_RUNTIME_DIR"] = tmp  # the undo store's directory
        env["PYTHONPATH"] = os.pathsep.join(
            [str(here / "app"), str(here)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )
        if args.no_pyc:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
            warm = "import benchmarks.floor_app, numaview.cli, numaview.stream.factories,"
            warm += " numaview.tui.app, numaview.sampler.sampler, numaview.linux.sysfs"
            subprocess.run([py, "-c", warm], env=env, check=True)
        with sleepers(args.extra):
            for r in range(args.rounds):
                order = programs if r % 2 == 0 else programs[::-1]
                for label, mb in one_round(order, args.size, seconds, env).items():
                    results.setdefault(label, []).append(mb)
    n_procs = sum(1 for d in os.listdir("/proc") if d.isdigit()) + args.extra
    print(
        f"{args.rounds} rounds at {args.size}, RSS {args.seconds:.0f} s after the start"
        f" (after the prefill), ~{n_procs} processes, {os.cpu_count()} CPUs,"
        f" {'compiled from source' if args.no_pyc else 'with .pyc files'}"
    )
    med = {label: statistics.median(v) for label, v in results.items()}
    for label, _ in programs:
        rounds = ", ".join(f"{v:.1f}" for v in results[label])
        print(f"{label:<34} {med[label]:6.1f} MB  [{rounds}]")
    floor = med[programs[0][0]]
    full = med[programs[2][0]]
    print(
        f"ring full: {full:.1f} MB = {full / TARGET_MB:.2f} × the {TARGET_MB:.0f} MB target;"
        f" {full - floor:+.1f} MB above the floor; the hour's ring"
        f" {full - med[programs[1][0]]:+.1f} MB"
    )


if __name__ == "__main__":
    main()
