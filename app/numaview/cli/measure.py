"""``numaview pin ... --metrics URL --measure S``: measure, pin, settle, measure, compare.

The sources are read in this thread once a second (no Monitor: there is
nothing to show), S seconds before the pin and settle + S after it; the
comparison is the one the dashboard makes (``workload/compare.py``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.model.workload import Comparison, WorkloadSample
    from numaview.workload.hub import WorkloadHub

STEP_S = 1.0


def _collect(
    hub: WorkloadHub,
    samples: dict[str, list[WorkloadSample]],
    seconds: float,
    sleep: Callable[[float], None],
) -> None:
    end = time.monotonic() + seconds
    while True:
        for p in hub.pollers:
            s = p.poll()
            if s.mono is not None and s.error is None:
                seq = samples.setdefault(p.spec.target, [])
                if not seq or seq[-1].mono != s.mono:
                    seq.append(s)
        left = end - time.monotonic()
        if left <= 0:
            return
        sleep(min(STEP_S, left))


def measure_around(
    hub: WorkloadHub,
    measure_s: float,
    settle_s: float,
    act: Callable[[], str],
    sleep: Callable[[float], None] = time.sleep,
    say: Callable[[str], None] | None = None,
) -> list[Comparison]:
    """Read ``measure_s`` before ``act()`` (which returns the pin's summary), then after."""
    from numaview.workload.compare import compare

    samples: dict[str, list[WorkloadSample]] = {}
    say = say or (lambda text: print(text, file=sys.stderr))
    say(f"measuring {measure_s:g} s before the pin")
    _collect(hub, samples, measure_s, sleep)
    pin_mono = time.monotonic()
    text = act()
    say(f"pinned; settling {settle_s:g} s, then measuring {measure_s:g} s")
    _collect(hub, samples, settle_s + measure_s, sleep)
    out = []
    for seq in samples.values():
        c = compare(seq, pin_mono, text, measure_s, settle_s, measure_s)
        if c is not None:
            out.append(c)
    for p in hub.pollers:
        if p.spec.target not in samples:
            why = p.latest(time.monotonic()).error or "no answer"
            say(f"{p.spec.target}: nothing to compare ({why})")
    return out
