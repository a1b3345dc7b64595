"""Pinning test helpers: a real multi-threaded process, /proc readers, a fake 4-node kernel.

The child's threads exist before any pin (so the pinner must find them all),
one of them has a mask of its own (so an undo that restored "the process
mask" would be caught), and it starts two more threads when told to (so the
tests can show that threads born after a pin inherit it). Several nodes
cannot be had on the test machine, so memory moves run against a fake /proc
tree and a fake kernel that moves pages in its numa_maps.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from numaview.linux.sysfs import discover
from numaview.model.topology import Topology
from numaview.pinning.apply import Syscalls
from tests.fakefs import FakeProc, FakeProcess, FakeThread, Shape, build_machine

CHILD = r"""
import os, sys, threading

stop = threading.Event()

def start(n, own_cpu=None):
    ready = threading.Barrier(n + 1)
    tids = [0] * n
    def worker(i):
        tids[i] = threading.get_native_id()
        if own_cpu is not None and i == n - 1:
            os.sched_setaffinity(tids[i], {own_cpu})
        ready.wait()
        stop.wait()
    for i in range(n):
        threading.Thread(target=worker, args=(i,), daemon=True).start()
    ready.wait()
    return tids

tids = start(3, own_cpu=0)
print("ready", *tids, flush=True)
for line in sys.stdin:
    if line.strip() == "spawn":
        print("spawned", *start(2), flush=True)
"""


@dataclass
class Child:
    """The process; ``own`` is the thread whose mask is CPU 0 alone."""

    proc: subprocess.Popen[str]
    tids: list[int]  # the main thread first
    own: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    def spawn(self) -> list[int]:
        """Two more threads, created by the main thread (so with its mask)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("spawn\n")
        self.proc.stdin.flush()
        word, *tids = self.proc.stdout.readline().split()
        assert word == "spawned"
        return [int(t) for t in tids]

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def start_child() -> Child:
    p = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None
    word, *rest = p.stdout.readline().split()
    assert word == "ready"
    tids = [int(t) for t in rest]
    return Child(p, [p.pid, *tids], tids[-1])


def cpus_allowed(pid: int, tid: int | None = None) -> str:
    path = f"/proc/{pid}/status" if tid is None else f"/proc/{pid}/task/{tid}/status"
    with open(path) as f:
        for line in f:
            if line.startswith("Cpus_allowed_list:"):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"no Cpus_allowed_list in {path}")


def thread_masks(pid: int) -> dict[int, str]:
    """Every thread's mask as the kernel reports it, not as the pinner believes."""
    return {
        int(t): cpus_allowed(pid, int(t)) for t in os.listdir(f"/proc/{pid}/task") if t.isdigit()
    }


def two_cpus() -> bool:
    return {0, 1} <= os.sched_getaffinity(0)


class FakeKernel(Syscalls):
    """Masks in a dict; migrate_pages rewrites the fake numa_maps and leaves ``stuck`` pages."""

    def __init__(self, root: Path, masks: dict[int, set[int]], stuck: int = 0) -> None:
        self.root = root
        self.masks = masks
        self.stuck = stuck
        self.error: OSError | None = None
        self.migrations: list[tuple[int, set[int], set[int]]] = []

    def getaffinity(self, tid: int) -> set[int]:
        if tid not in self.masks:
            raise ProcessLookupError(errno.ESRCH, "No such process")
        return set(self.masks[tid])

    def setaffinity(self, tid: int, cpus: set[int]) -> None:
        self.getaffinity(tid)
        self.masks[tid] = set(cpus)

    def migrate_pages(self, pid: int, old_nodes: set[int], new_nodes: set[int]) -> int:
        self.migrations.append((pid, old_nodes, new_nodes))
        if self.error is not None:
            raise self.error
        pages = read_pages(self.root, pid)
        moving = sum(pages.pop(n, 0) for n in old_nodes)
        first_old = min(old_nodes)
        pages[min(new_nodes)] = pages.get(min(new_nodes), 0) + moving - self.stuck
        pages[first_old] = pages.get(first_old, 0) + self.stuck
        write_pages(self.root, pid, pages)
        return self.stuck


def write_pages(root: Path, pid: int, pages: dict[int, int]) -> None:
    nodes = " ".join(f"N{n}={p}" for n, p in sorted(pages.items()) if p)
    (root / f"proc/{pid}/numa_maps").write_text(
        f"7f0000000000 default anon={sum(pages.values())} {nodes} kernelpagesize_kB=4\n"
    )


def read_pages(root: Path, pid: int) -> dict[int, int]:
    items = (root / f"proc/{pid}/numa_maps").read_text().split()
    return {int(k[1:]): int(v) for k, _, v in (i.partition("=") for i in items if i[0] == "N")}


PID = 4242  # the fake machine's process
MIB = 256  # 4 KiB pages


def four_node_machine(root: Path) -> tuple[Topology, FakeKernel]:
    """8 CPUs on nodes 0-3 (node 1: CPUs 2-3); a 3-thread process with 1 GiB on node 0, 1 MiB on 2."""
    m = build_machine(root, Shape(packages=2, nodes_per_package=2, cores_per_l3=2, smt=1))
    fp = FakeProc(root, m.cpus, m.node_ids)
    threads = [FakeThread(PID), FakeThread(PID + 1), FakeThread(PID + 2)]
    fp.add(FakeProcess(PID, name="fakeapp", threads=threads, mems_allowed=[0, 1, 2, 3]))
    fp.write()
    write_pages(root, PID, {0: 1024 * MIB + 3, 2: MIB})
    masks = {PID: {0, 1}, PID + 1: {0, 1}, PID + 2: {0}}
    return discover(str(root)), FakeKernel(root, masks, stuck=3)
