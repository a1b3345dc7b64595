"""numaview's own cost beside htop and btop, at three terminal sizes, 1 s refresh.

    .venv/bin/python -m benchmarks.bench_peers [--seconds 40] [--rounds 2]
        [--sizes 80x24,120x40,160x50] [--extra 300] [--no-install]

For each size and round, in real terminals (a private tmux server) at once:
numaview (charts appear by themselves at 150×30 and up, so 160×50 has them),
htop at a 1 s delay (`-d 10`), btop with `update_ms = 1000` (a config file in a
temporary XDG_CONFIG_HOME) and the floor (benchmarks/floor_app.py: a bare
Textual app repainting one line a second). Rounds alternate the start order.
Each program's CPU time (utime+stime from /proc/PID/stat) is taken over the
same window after a warm-up, and its VmRSS at the end of the window.

htop and btop are installed from the distribution (apt-get, as root) when
missing; --no-install skips a missing peer instead. --extra sleeping
processes are started first so the machine has a few hundred, like a server.

Printed: per size and program the median % of one core (each round in
brackets) and the median RSS, numaview's ratio to btop and to htop, and
numaview's cost above the floor. Targets (issue 15): ≤ 1.0 × btop at 120×40,
≤ 1.3 × btop at 160×50 with charts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TARGETS = {"120x40": 1.0, "160x50": 1.3}
WARMUP_S = 6.0  # imports, the first frames and the first full /proc scan are not the steady state


def cpu_seconds(pid: int) -> float:
    """utime+stime of one process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """VmRSS in MB (2**20 bytes)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ensure(program: str, install: bool) -> str | None:
    """The program's path, installed from the distribution first when missing and allowed."""
    found = shutil.which(program)
    if found or not install:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        print(f"{program}: missing and cannot be installed here (needs root and apt-get)")
        return None
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", program], env=env, capture_output=True)
    return shutil.which(program)


@dataclass(frozen=True)
class Program:
    label: str
    command: str
    comm: str  # what /proc/PID/comm says once it runs


def programs(install: bool, config_home: Path) -> list[Program]:
    py = sys.executable
    found = [
        Program("numaview", f"exec {py} -m numaview", "python"),
        Program("floor (bare Textual)", f"exec {py} -m benchmarks.floor_app", "python"),
    ]
    htop = ensure("htop", install)
    if htop:
        found.append(Program("htop -d 10", f"exec {htop} -d 10", "htop"))
    btop = ensure("btop", install)
    if btop:
        conf = config_home / "btop" / "btop.conf"
        conf.parent.mkdir(parents=True, exist_ok=True)
        conf.write_text("update_ms = 1000\n")
        found.append(Program("btop update_ms=1000", f"exec {btop}", "btop"))
    return found


@contextmanager
def sleepers(n: int) -> Iterator[None]:
    """``n`` sleeping children meanwhile, so the machine has a few hundred processes."""
    children = [subprocess.Popen(["sleep", "3600"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in children:
            p.kill()
        for p in children:
            p.wait()


class Tmux:
    """A private tmux server (its own socket), so nothing else's sessions are touched."""

    def __init__(self, env: dict[str, str]) -> None:
        self.tmux = shutil.which("tmux") or ""
        if not self.tmux:
            raise SystemExit("needs tmux (apt-get install tmux)")
        self.socket = f"bench-peers-{uuid.uuid4().hex[:6]}"
        self.env = env

    def start(self, name: str, width: int, height: int, command: str) -> int:
        subprocess.run(
            [self.tmux, "-L", self.socket, "new-session", "-d", "-s", name,
             "-x", str(width), "-y", str(height), command],
            check=True, env=self.env,
        )  # fmt: skip
        out = subprocess.run(
            [self.tmux, "-L", self.socket, "list-panes", "-t", name, "-F", "#{pane_pid}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return int(out.stdout.split()[0])

    def stop(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


def measure(
    size: str, order: list[Program], seconds: float, env: dict[str, str]
) -> dict[str, tuple[float, float]]:
    """One round at one size: every program at once, CPU % over the same window, RSS at its end."""
    width, height = (int(v) for v in size.split("x"))
    tmux = Tmux(env)
    try:
        pids = {p.label: tmux.start(f"p{i}", width, height, p.command) for i, p in enumerate(order)}
        time.sleep(WARMUP_S)
        for p in order:
            with open(f"/proc/{pids[p.label]}/comm") as f:
                comm = f.read().strip()
            if not comm.startswith(p.comm[:15]):
                raise SystemExit(f"{p.label} did not start (pane runs {comm!r})")
        before = {label: cpu_seconds(pid) for label, pid in pids.items()}
        t0 = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - t0
        after = {label: cpu_seconds(pid) for label, pid in pids.items()}
        return {
            label: ((after[label] - before[label]) / wall * 100, rss_mb(pid))
            for label, pid in pids.items()
        }
    finally:
        tmux.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--seconds", type=float, default=40.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--sizes", default="80x24,120x40,160x50")
    ap.add_argument("--extra", type=int, default=300)
    ap.add_argument("--no-install", action="store_true")
    args = ap.parse_args()
    sizes = args.sizes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, LANG="C.UTF-8", LC_ALL="C.UTF-8", XDG_CONFIG_HOME=tmp)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(Path(__file__).resolve().parent.parent / "app"),
             str(Path(__file__).resolve().parent.parent)]
            + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
        )  # fmt: skip
        progs = programs(not args.no_install, Path(tmp))
        results: dict[str, dict[str, list[tuple[float, float]]]] = {}
        with sleepers(args.extra):
            for r in range(args.rounds):
                for size in sizes:
                    order = progs if r % 2 == 0 else progs[::-1]
                    got = measure(size, order, args.seconds, env)
                    for label, fig in got.items():
                        results.setdefault(size, {}).setdefault(label, []).append(fig)
    n_procs = sum(1 for d in os.listdir("/proc") if d.isdigit()) + args.extra
    print(f"{args.rounds} rounds × {args.seconds:.0f} s at a 1 s refresh, ~{n_procs} processes,"
          f" {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'size':<8} {'program':<22} {'% of a core':>12}  {'rounds':<18} {'RSS MB':>7}")
    for size in sizes:
        figs = results[size]
        med = {label: statistics.median(c for c, _ in v) for label, v in figs.items()}
        for label, v in figs.items():
            rounds = ", ".join(f"{c:.2f}" for c, _ in v)
            rss = statistics.median(m for _, m in v)
            print(f"{size:<8} {label:<22} {med[label]:12.2f}  [{rounds:<16}] {rss:7.1f}")
        nv = med["numaview"]
        line = f"{size:<8} numaview"
        for label in figs:
            if label.startswith(("btop", "htop")) and med[label] > 0:
                line += f"  {nv / med[label]:.2f} × {label.split()[0]}"
        target = TARGETS.get(size)
        if target is not None:
            line += f" (target ≤ {target:.1f} × btop)"
        line += f"; {nv - med['floor (bare Textual)']:+.2f} % above the floor"
        print(line)


if __name__ == "__main__":
    main()
