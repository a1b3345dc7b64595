"""How long one `py-spy dump` of a 16-thread Python process takes (it stops the target meanwhile)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

from numaview.stacks.pyspy import dump

CODE = """
import sys, threading, time
def w():
    while True:
        time.sleep(0.01); sum(range(2000))
for i in range(15):
    threading.Thread(target=w, name=f"w{i}", daemon=True).start()
sys.stdout.write("ready\\n"); sys.stdout.flush()
time.sleep(120)
"""


def main() -> None:
    p = subprocess.Popen([sys.executable, "-c", CODE], stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    time.sleep(0.5)
    try:
        times = [dump(p.pid).elapsed_s for _ in range(10)]
    finally:
        p.kill()
        p.wait()
    ms = [t * 1000 for t in times]
    print(f"py-spy dump, 16 threads: median {statistics.median(ms):.1f} ms", end="")
    print(f" (min {min(ms):.1f}, max {max(ms):.1f}, 10 dumps)")


if __name__ == "__main__":
    main()
