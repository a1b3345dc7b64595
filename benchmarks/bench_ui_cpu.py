"""numaview's whole CPU cost (UI + sampler) at 1 Hz, side by side with htop, in one run.

    .venv/bin/python -m benchmarks.bench_ui_cpu [--seconds 60] [--extra 300]

Starts --extra sleeping processes (so the machine has ~370), then in real
terminals (tmux) at once: numaview at 120×40 (no charts), numaview at
200×50 (charts shown), and htop at a 1 s delay. Their CPU time is read from
/proc/PID/stat over the same window. Target: numaview ≤ 2 % of one core.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
import uuid

TARGET_PCT = 2.0


def cpu_seconds(pid: int) -> float:
    """utime+stime of a process and its reaped children (the tmux pane's shell runs it)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:13]) / os.sysconf("SC_CLK_TCK")


def pane_pid(tmux: str, session: str) -> int:
    out = subprocess.run(
        [tmux, "list-panes", "-t", session, "-F", "#{pane_pid}"], capture_output=True, text=True
    )
    return int(out.stdout.split()[0])


def program_pid(shell_pid: int, name: str) -> int:
    """The pane runs `exec program`, so the pane's pid is the program itself."""
    with open(f"/proc/{shell_pid}/comm") as f:
        comm = f.read().strip()
    assert name.startswith(comm) or comm.startswith(name[:15]), (comm, name)
    return shell_pid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--extra", type=int, default=300)
    args = ap.parse_args()
    tmux = shutil.which("tmux")
    htop = shutil.which("htop")
    if tmux is None or htop is None:
        raise SystemExit("needs tmux and htop (apt-get install tmux htop)")
    sleepers = [subprocess.Popen(["sleep", "3600"]) for _ in range(args.extra)]
    tag = uuid.uuid4().hex[:6]
    runs = {
        "numaview 120x40 (no charts)": (120, 40, f"exec {sys.executable} -m numaview", "python"),
        "numaview 200x50 (charts)": (200, 50, f"exec {sys.executable} -m numaview", "python"),
        "htop -d 10 (1 s)": (120, 40, f"exec {htop} -d 10", "htop"),
    }
    sessions: dict[str, str] = {}
    try:
        for i, (label, (w, h, cmd, _)) in enumerate(runs.items()):
            sessions[label] = f"bench-{tag}-{i}"
            subprocess.run(
                [tmux, "new-session", "-d", "-s", sessions[label], "-x", str(w), "-y", str(h), cmd],
                check=True,
            )
        time.sleep(5)  # start-up (imports, first frames) is not the steady state
        pids = {
            label: program_pid(pane_pid(tmux, s), runs[label][3]) for label, s in sessions.items()
        }
        before = {label: cpu_seconds(pid) for label, pid in pids.items()}
        t0 = time.monotonic()
        time.sleep(args.seconds)
        wall = time.monotonic() - t0
        after = {label: cpu_seconds(pid) for label, pid in pids.items()}
        n_procs = sum(1 for d in os.listdir("/proc") if d.isdigit())
        print(f"{args.seconds:.0f} s at 1 Hz, {n_procs} processes on the machine")
        pct = {}
        for label in runs:
            pct[label] = (after[label] - before[label]) / wall * 100
            print(f"  {label:<30} {pct[label]:6.2f} % of one core")
        nv = pct["numaview 120x40 (no charts)"]
        ht = pct["htop -d 10 (1 s)"]
        print(f"numaview: {nv:.2f} % = {nv / TARGET_PCT:.2f} × the {TARGET_PCT:.0f} % target;"
              f" {nv / ht:.2f} × htop in the same run" if ht > 0 else "")  # fmt: skip
        charts = pct["numaview 200x50 (charts)"] - nv
        print(f"charts add {charts:.2f} % (redrawn at most every 5 s)")
    finally:
        for s in sessions.values():
            subprocess.run([tmux, "kill-session", "-t", s], capture_output=True)
        for p in sleepers:
            p.kill()
        for p in sleepers:
            p.wait()


if __name__ == "__main__":
    main()
