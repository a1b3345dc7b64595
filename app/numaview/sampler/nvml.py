"""NVML, when nvidia-ml-py is installed (``pip install numaview[gpu]``) and the driver answers.

``Nvml.open`` takes the library as an argument (tests pass a fake module with
the same calls); without one it imports ``pynvml``. A missing library or a
failing ``nvmlInit`` means "no NVML": one line for the user, not an error,
and GPU use is then read from /proc (linux/gpuprocs.py). A call that fails
later (a GPU fallen off the bus) leaves that figure unknown for that tick.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from numaview.model.gpu import GpuSample
from numaview.model.topology import Gpu, Topology

WORD = 64  # NVML's affinity masks are arrays of unsigned longs


def pci_from_nvml(bus_id: Any) -> str:
    """NVML's ``00000000:8D:00.0`` (bytes in older bindings) as sysfs writes it: ``0000:8d:00.0``."""
    text = bus_id.decode() if isinstance(bus_id, bytes) else str(bus_id)
    domain, _, rest = text.strip().lower().partition(":")
    return f"{int(domain or '0', 16):04x}:{rest}"


def _bits(words: Sequence[int]) -> list[int]:
    return [w * WORD + b for w, word in enumerate(words) for b in range(WORD) if word >> b & 1]


class Nvml:
    def __init__(self, lib: Any, handles: list[tuple[int, Any]]) -> None:
        self.lib = lib
        self.handles = handles  # (topology.Gpu.index, NVML handle)

    @classmethod
    def open(
        cls, gpus: Sequence[Gpu], lib: Any | None = None, loader: Callable[[], Any] | None = None
    ) -> tuple[Nvml | None, str | None]:
        """NVML over the topology's NVIDIA GPUs; else None and why (one line), or None, None."""
        if not any(g.vendor == "nvidia" for g in gpus):
            return None, None
        if lib is None:
            try:
                lib = (loader or _import_pynvml)()
            except ImportError:
                return None, "no NVML (pip install numaview[gpu]): GPU use read from /proc"
        try:
            lib.nvmlInit()
            count = int(lib.nvmlDeviceGetCount())
        except Exception as exc:  # NVMLError_*: no driver, no permission, a container
            return None, f"no NVML ({_why(exc)}): GPU use read from /proc"
        by_pci = {g.pci: g.index for g in gpus}
        handles = []
        for i in range(count):
            try:
                h = lib.nvmlDeviceGetHandleByIndex(i)
                index = by_pci.get(pci_from_nvml(lib.nvmlDeviceGetPciInfo(h).busId))
            except Exception:
                continue  # this GPU does not answer: the others still do
            if index is not None:
                handles.append((index, h))
        return cls(lib, handles), None

    def refine(self, topo: Topology) -> Topology:
        """Names, and the node of a GPU sysfs could not place (NVML's memory affinity)."""
        lib = self.lib
        node_cpus = {n.id: n.cpus for n in topo.nodes}
        nwords = max(1, (len(topo.nodes) + WORD - 1) // WORD)
        better = {}
        for index, h in self.handles:
            g = topo.gpus[index]
            name = _call(lib.nvmlDeviceGetName, h)
            changes: dict[str, Any] = {}
            if name:
                changes["name"] = name.decode() if isinstance(name, bytes) else str(name)
            if g.node is None:
                scope = getattr(lib, "NVML_AFFINITY_SCOPE_NODE", 0)
                words = _call(lib.nvmlDeviceGetMemoryAffinity, h, nwords, scope)
                nodes = [n for n in _bits(words or ()) if n in node_cpus]
                if len(nodes) == 1:
                    changes["node"], changes["local_cpus"] = nodes[0], node_cpus[nodes[0]]
            if changes:
                better[index] = dataclasses.replace(g, **changes)
        if not better:
            return topo
        return dataclasses.replace(topo, gpus=tuple(better.get(g.index, g) for g in topo.gpus))

    def sample(self) -> tuple[list[GpuSample], dict[int, dict[int, int | None]]]:
        """Each GPU's use now, and per pid the GPUs it runs on with the memory it holds there."""
        lib = self.lib
        out: list[GpuSample] = []
        by_pid: dict[int, dict[int, int | None]] = {}
        for index, h in self.handles:
            util = _call(lib.nvmlDeviceGetUtilizationRates, h)
            mem = _call(lib.nvmlDeviceGetMemoryInfo, h)
            out.append(
                GpuSample(
                    index=index,
                    util_pct=None if util is None else float(util.gpu),
                    mem_used_bytes=None if mem is None else int(mem.used),
                    mem_total_bytes=None if mem is None else int(mem.total),
                )
            )
            for call in (
                "nvmlDeviceGetComputeRunningProcesses",
                "nvmlDeviceGetGraphicsRunningProcesses",
            ):
                fn = getattr(lib, call, None)
                for p in (_call(fn, h) if fn else None) or ():
                    used = getattr(p, "usedGpuMemory", None)
                    mine = by_pid.setdefault(int(p.pid), {})
                    before = mine.get(index)
                    mine[index] = (before or 0) + int(used) if used is not None else before
        return out, by_pid


def _import_pynvml() -> Any:
    import pynvml  # nvidia-ml-py: the optional "gpu" extra

    return pynvml


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:  # NVMLError_GpuIsLost, _NotSupported, ...: unknown this tick
        return None


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:80]
