"""GPU use in each frame: per GPU its load and memory, per process the GPUs it drives.

NVIDIA GPUs are read through NVML when it answers (sampler/nvml.py: one call
per GPU for utilisation, memory and processes). Otherwise, and for AMD and
Intel GPUs, processes are found from /proc (linux/gpuprocs.py): those known
to hold a GPU are read every tick (their DRM counters move), the others one
after another in the order of the frame's rows, each at most every
``rescan_s``, within ``budget_s`` of CPU a tick, so a machine of thousands of
processes pays a bounded cost and is covered within seconds. A machine
without GPUs pays nothing.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from numaview.linux.fsroot import FsRoot
from numaview.linux.gpuprocs import GpuFds, read_gpu_fds
from numaview.model.frame import ProcessSample
from numaview.model.gpu import GpuSample
from numaview.model.topology import Topology
from numaview.sampler.nvml import Nvml

Key = tuple[int, float]  # (pid, start time), as ProcessSample.key


class GpuReader:
    def __init__(
        self,
        fs: FsRoot,
        topology: Topology,
        nvml_lib: Any | None = None,
        use_nvml: bool = True,
        budget_s: float = 0.002,
        rescan_s: float = 10.0,
    ) -> None:
        self.fs = fs
        self.nvml, self.note = Nvml.open(topology.gpus, nvml_lib) if use_nvml else (None, None)
        self.topology = self.nvml.refine(topology) if self.nvml is not None else topology
        gpus = self.topology.gpus
        self.by_minor = {g.minor: g.index for g in gpus if g.minor is not None}
        self.by_pci = {g.pci: g.index for g in gpus}
        nvml_covers = {i for i, _ in self.nvml.handles} if self.nvml is not None else set()
        self.fd_gpus = [g.index for g in gpus if g.index not in nvml_covers]  # read from /proc
        self.budget_s, self.rescan_s = budget_s, rescan_s
        self.scanned: dict[Key, tuple[float, GpuFds]] = {}  # last scan of each process
        self.cursor = 0
        self.engines: dict[tuple[str, str], tuple[float, dict[str, int]]] = {}  # DRM counters
        self.notes: list[str] = [self.note] if self.note else []  # for the frame's errors, once
        self.warned_denied = False

    def read(
        self, rows: tuple[ProcessSample, ...], mono: float
    ) -> tuple[tuple[ProcessSample, ...], tuple[GpuSample, ...]]:
        """The rows with their GPU use filled in, and one sample per GPU read."""
        if not self.topology.gpus:
            return rows, ()
        samples: dict[int, GpuSample] = {}
        use: dict[int, dict[int, int | None]] = {}  # pid -> GPU -> memory held there
        if self.nvml is not None:
            got, use = self.nvml.sample()
            samples = {s.index: s for s in got}
        if self.fd_gpus:
            self._from_proc(rows, mono, use, samples)
        out = tuple(_with_gpus(p, use.get(p.pid)) for p in rows)
        return out, tuple(samples[i] for i in sorted(samples))

    def _from_proc(
        self,
        rows: tuple[ProcessSample, ...],
        mono: float,
        use: dict[int, dict[int, int | None]],
        samples: dict[int, GpuSample],
    ) -> None:
        live = {p.key for p in rows}
        for key in [k for k in self.scanned if k not in live]:
            del self.scanned[key]  # gone, or out of the rows
        t0 = time.thread_time()
        order = list(rows)
        if order:
            self.cursor %= len(order)
            order = order[self.cursor :] + order[: self.cursor]
        read = 0
        for p in order:
            last = self.scanned.get(p.key)
            holds = last is not None and (last[1].nvidia_minors or last[1].drm)
            due = last is None or mono - last[0] >= self.rescan_s
            if not holds and not due:
                continue
            if not holds and time.thread_time() - t0 > self.budget_s:
                continue  # the holders are still read; the rest wait for the next tick
            try:
                fds = read_gpu_fds(self.fs, p.pid)
            except PermissionError:
                self._denied()
                fds = GpuFds()  # cannot tell: asked again on its next turn
            read += 1
            if fds is not None:
                self.scanned[p.key] = (mono, fds)
        self.cursor += read
        busy: dict[int, float] = {}
        mem_used: dict[int, int] = {}
        fd_gpus = set(self.fd_gpus)
        for (pid, _start), (_when, fds) in self.scanned.items():
            mine: dict[int, int | None] = {}
            for minor in fds.nvidia_minors:
                g = self.by_minor.get(minor)
                if g is not None and g in fd_gpus:
                    mine.setdefault(g, None)
            for c in fds.drm:
                g = self.by_pci.get(c.pdev)
                if g is None or g not in fd_gpus:
                    continue
                if c.mem_bytes is not None:
                    mine[g] = (mine.get(g) or 0) + c.mem_bytes
                    mem_used[g] = mem_used.get(g, 0) + c.mem_bytes
                else:
                    mine.setdefault(g, None)
                pct = self._engine_pct(c.pdev, f"{pid}:{c.client_id}", c.engine_ns, mono)
                if pct is not None:
                    busy[g] = busy.get(g, 0.0) + pct
            if mine:
                use.setdefault(pid, {}).update(mine)
        pids = {pid for pid, _ in self.scanned}
        for client in [k for k in self.engines if int(k[1].partition(":")[0]) not in pids]:
            del self.engines[client]  # clients of processes no longer read
        for g in self.fd_gpus:
            samples[g] = GpuSample(
                index=g,
                util_pct=round(min(busy[g], 100.0), 1) if g in busy else None,
                mem_used_bytes=mem_used.get(g),
                source="fdinfo" if g in busy or g in mem_used else "devfs",
            )

    def _denied(self) -> None:
        """Said once: without NVML, other users' GPU use needs root to be seen."""
        if not self.warned_denied:
            self.warned_denied = True
            self.notes.append(
                "GPU use: other users' processes cannot be read without root;"
                " their GPUs are not shown"
            )

    def take_notes(self) -> list[str]:
        """Lines for the frame's errors, each said once."""
        notes, self.notes = self.notes, []
        return notes

    def _engine_pct(
        self, pdev: str, client: str, engines: dict[str, int], mono: float
    ) -> float | None:
        """The client's busiest engine's share of the time since its last read, in %."""
        key = (pdev, client)
        before = self.engines.get(key)
        self.engines[key] = (mono, engines)
        if before is None or mono <= before[0] or not engines:
            return None
        span_ns = (mono - before[0]) * 1e9
        deltas = [max(ns - before[1].get(name, ns), 0) for name, ns in engines.items()]
        return max(deltas) / span_ns * 100


def _with_gpus(p: ProcessSample, mine: dict[int, int | None] | None) -> ProcessSample:
    if not mine:
        return p if not p.gpus else dataclasses.replace(p, gpus=(), gpu_mem_bytes=None)
    gpus = tuple(sorted(mine))
    known = {g: b for g, b in mine.items() if b is not None}
    mem = known or None
    if p.gpus == gpus and p.gpu_mem_bytes == mem:
        return p
    return dataclasses.replace(p, gpus=gpus, gpu_mem_bytes=mem)
