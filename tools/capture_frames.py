"""Sample this machine for a while and write the frames as JSON lines (a test fixture).

    PYTHONPATH=app python3 tools/capture_frames.py OUT.jsonl [--seconds 10] [--load N]

Line 1 is {"topology": ...}; each further line is one Frame.to_dict(). With
--load N it starts N busy processes pinned to CPUs 0..N-1 plus one process
with 8 threads, so the frames show real load on known CPUs. Needs only
numaview's sampler (no textual), so it runs where the UI is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

from numaview.sampler.sampler import Sampler

THREADED = """
import threading, time
def spin():
    end = time.monotonic() + 120
    while time.monotonic() < end:
        sum(range(20000))
for _ in range(8):
    threading.Thread(target=spin, daemon=True).start()
time.sleep(120)
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--interval", type=float, default=1.0)
    ap.add_argument("--load", type=int, default=0)
    args = ap.parse_args()
    kids: list[subprocess.Popen[bytes]] = []
    cpus = sorted(os.sched_getaffinity(0))
    for cpu in cpus[: args.load]:
        code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True: pass\n"
        kids.append(subprocess.Popen([sys.executable, "-c", code]))
    if args.load:
        kids.append(subprocess.Popen([sys.executable, "-c", THREADED]))
    try:
        sampler = Sampler("/")
        with open(args.out, "w") as out:
            out.write(json.dumps({"topology": sampler.topology.to_dict()}) + "\n")
            start = time.monotonic()
            n = 0
            while time.monotonic() - start < args.seconds:
                out.write(json.dumps(sampler.sample().to_dict()) + "\n")
                n += 1
                time.sleep(max(0.0, start + n * args.interval - time.monotonic()))
    finally:
        for k in kids:
            k.kill()
            k.wait()
    print(f"wrote {n} frames to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
