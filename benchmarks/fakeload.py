"""Fake machines under load, shared by the benchmarks that time the sampler and the UI on them.

The tests' builder (tests/fakefs.py) writes the tree; this adds what a
benchmark needs on top, once instead of in every benchmark: a directory on
tmpfs (tens of thousands of tiny files: ~0.03 ms a create there, ~0.6 ms on
this disk), a scripted /proc whose ``write()`` rewrites only the processes
marked as changed (rewriting 40,000 idle thread directories a tick would
take seconds and change no byte the sampler reads), CPU counters charged by
a busy %, and the second-by-second loop (advance, write, sample).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.fakefs import FakeClock, FakeProc, FakeProcess, Shape, build_machine

from numaview.model.frame import Frame
from numaview.sampler.sampler import Sampler, SamplerOptions

# The 512-CPU, 8-node machine of bench_ui_render and bench_scale.
SHAPE_512 = Shape(packages=4, nodes_per_package=2, l3_per_node=2, cores_per_l3=16, smt=2)
# The 1024-CPU, 16-node, 64-L3 machine of bench_sampler_tick (and tests/conftest.py).
SHAPE_1024 = Shape(packages=8, nodes_per_package=2, l3_per_node=4, cores_per_l3=8, smt=2)


def tmpfs_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory on /dev/shm when it is writable (else the default)."""
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    return tempfile.TemporaryDirectory(dir=shm)


class ChangedProc(FakeProc):
    """A FakeProc whose ``write()`` rewrites only the processes marked since the last one.

    The first write (``changed`` is None) writes them all. A benchmark marks
    every process it touches; the others' files are byte-identical anyway,
    so the tree the sampler reads is the one a full rewrite would give.
    """

    def __init__(self, root: Path, cpus: list[int], nodes: list[int]) -> None:
        super().__init__(root, cpus, nodes)
        self.changed: set[int] | None = None  # None: every process

    def mark(self, p: FakeProcess) -> None:
        if self.changed is not None:
            self.changed.add(p.pid)

    def add(self, p: FakeProcess) -> FakeProcess:
        self.mark(p)  # a new process: its files are written at the next write()
        return super().add(p)

    def write(self) -> None:
        super().write()
        self.changed = set()

    def _write_process(self, p: FakeProcess) -> None:
        if self.changed is None or p.pid in self.changed:
            super()._write_process(p)


class LoadedMachine:
    """A fake machine of ``shape`` under ``root``, its scripted /proc and a fake clock."""

    def __init__(self, root: Path, shape: Shape) -> None:
        self.root = root
        self.m = build_machine(root, shape)
        self.fp = ChangedProc(root, self.m.cpus, self.m.node_ids)
        self.clock = FakeClock()

    def sampler(self, options: SamplerOptions | None = None) -> Sampler:
        """A Sampler on this tree and clock (topology discovery happens here, untimed)."""
        return Sampler(self.root, options=options, clock=self.clock)

    def charge(self, cpu: int, used: int, system: int = 0) -> None:
        """One second of ``cpu``: ``used`` of its 100 ticks busy, ``system`` of those in the kernel."""
        v = self.fp.cpus[cpu]
        v["user"] += used - system
        v["system"] += system
        v["idle"] += 100 - used

    def next_second(self) -> None:
        """The clock and uptime one second on, and the changed files written (not timed)."""
        self.fp.uptime += 1.0
        self.clock.advance(1.0)
        self.fp.write()

    def frames(self, sampler: Sampler, count: int, advance: Callable[[], None]) -> list[Frame]:
        """``count`` frames, each after ``advance()`` and one second."""
        out = []
        for _ in range(count):
            advance()
            self.next_second()
            out.append(sampler.sample())
        return out
