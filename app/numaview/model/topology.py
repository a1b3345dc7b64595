"""The machine's hardware topology as plain, frozen data.

Discovered once (``numaview.linux.sysfs.discover``), carried inside every
recording, and what the UI lays out. Every object is keyed by the kernel's id
(CPU id, node id, package id) or, for cores and caches that the kernel does not
number uniquely, by an index numaview assigns in order of each one's lowest CPU.
Lists of CPUs under nodes, packages, cores and caches hold online CPUs only;
offline CPUs appear in ``cpus`` with ``online=False``. Unknown values are None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from numaview.model.cpuset import CpuList, format_cpulist

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class Cpu:
    id: int
    online: bool
    package: int | None = None
    die: int | None = None
    core: int | None = None  # numaview's core index (see Core.id)
    core_id: int | None = None  # the kernel's core_id, not unique across packages
    node: int | None = None
    l3: int | None = None
    l2: int | None = None
    siblings: CpuList = ()
    kind: str | None = None  # "performance" / "efficiency" on hybrid parts
    capacity: int | None = None  # cpu_capacity (arm64), 1024 = the biggest core


@dataclass(frozen=True, slots=True)
class Node:
    id: int
    cpus: CpuList = ()
    offline_cpus: CpuList = ()
    mem_total_bytes: int | None = None
    distances: Mapping[int, int] | None = None

    @property
    def memory_only(self) -> bool:
        """A node with memory and no CPU at all (HBM, CXL, PMEM, GPU memory)."""
        return not self.cpus and not self.offline_cpus


@dataclass(frozen=True, slots=True)
class Package:
    id: int
    cpus: CpuList = ()
    nodes: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Core:
    """A physical core: identified by its set of SMT siblings, not by core_id."""

    id: int
    package: int | None
    cpus: CpuList
    core_id: int | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Cache:
    """A cache domain (L2 or L3): the CPUs that share one cache instance."""

    id: int
    level: int
    cpus: CpuList
    size_bytes: int | None = None
    nodes: tuple[int, ...] = ()


GPU_VENDORS = {0x10DE: "nvidia", 0x1002: "amd", 0x8086: "intel"}  # PCI vendor ids, in index order


@dataclass(frozen=True, slots=True)
class Gpu:
    """A GPU or compute accelerator on the PCI bus (linux/gpus.py).

    ``index``: NVIDIA's first, then AMD's, then Intel's, each in PCI address
    order, so NVIDIA GPUs carry nvidia-smi's numbers even beside an Intel iGPU.
    """

    index: int
    pci: str  # "0000:8d:00.0", as sysfs names it (NVML writes "00000000:8D:00.0")
    vendor: str  # "nvidia", "amd", "intel"
    pci_class: int  # 0x030000 VGA, 0x030200 3D controller, 0x120000 processing accelerator
    device_id: int | None = None
    node: int | None = None  # None: the kernel does not know (numa_node -1) or junk
    local_cpus: CpuList = ()  # online CPUs near it; () when its node is unknown
    memory_nodes: tuple[int, ...] = ()  # CPU-less NUMA nodes that are its own memory
    minor: int | None = None  # /dev/nvidiaN
    drm: str | None = None  # its DRM card ("card1")
    name: str | None = None  # the product name, when a driver library says it

    @property
    def label(self) -> str:
        return f"GPU{self.index}"


@dataclass(frozen=True, slots=True)
class Allowed:
    """Where this process may run and allocate (affinity, and its cgroup cpuset)."""

    cpus: CpuList | None = None
    mems: CpuList | None = None
    cgroup: str | None = None
    cgroup_cpus: CpuList | None = None
    cgroup_mems: CpuList | None = None


@dataclass(frozen=True, slots=True)
class Host:
    hostname: str | None = None
    kernel: str | None = None
    cpu_model: str | None = None


@dataclass(frozen=True, slots=True)
class Topology:
    cpus: tuple[Cpu, ...]
    nodes: tuple[Node, ...]
    packages: tuple[Package, ...]
    cores: tuple[Core, ...]
    l3: tuple[Cache, ...]
    l2: tuple[Cache, ...] = ()
    allowed: Allowed = field(default_factory=Allowed)
    host: Host = field(default_factory=Host)
    warnings: tuple[str, ...] = ()
    gpus: tuple[Gpu, ...] = ()

    # Lookups by id. Derived, so computed on demand rather than stored twice.
    def cpu(self, cpu_id: int) -> Cpu | None:
        for c in self.cpus:
            if c.id == cpu_id:
                return c
        return None

    def node(self, node_id: int) -> Node | None:
        for n in self.nodes:
            if n.id == node_id:
                return n
        return None

    @property
    def online_cpus(self) -> CpuList:
        return tuple(c.id for c in self.cpus if c.online)

    @property
    def offline_cpus(self) -> CpuList:
        return tuple(c.id for c in self.cpus if not c.online)

    @property
    def smt(self) -> int:
        """Hardware threads per core (the most seen; 1 when SMT is off or unknown)."""
        return max((len(c.cpus) for c in self.cores), default=1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT_VERSION,
            "host": {
                "hostname": self.host.hostname,
                "kernel": self.host.kernel,
                "cpu_model": self.host.cpu_model,
            },
            "cpus": [
                {
                    "id": c.id,
                    "online": c.online,
                    "package": c.package,
                    "die": c.die,
                    "core": c.core,
                    "core_id": c.core_id,
                    "node": c.node,
                    "l3": c.l3,
                    "l2": c.l2,
                    "siblings": list(c.siblings),
                    "kind": c.kind,
                    "capacity": c.capacity,
                }
                for c in self.cpus
            ],
            "nodes": [
                {
                    "id": n.id,
                    "cpus": list(n.cpus),
                    "offline_cpus": list(n.offline_cpus),
                    "memory_only": n.memory_only,
                    "mem_total_bytes": n.mem_total_bytes,
                    "distances": (
                        None
                        if n.distances is None
                        else {str(k): v for k, v in sorted(n.distances.items())}
                    ),
                }
                for n in self.nodes
            ],
            "packages": [
                {"id": p.id, "cpus": list(p.cpus), "nodes": list(p.nodes)} for p in self.packages
            ],
            "cores": [
                {
                    "id": c.id,
                    "package": c.package,
                    "core_id": c.core_id,
                    "cpus": list(c.cpus),
                    "kind": c.kind,
                }
                for c in self.cores
            ],
            "l3": [_cache_dict(c) for c in self.l3],
            "l2": [_cache_dict(c) for c in self.l2],
            "allowed": {
                "cpus": _opt_list(self.allowed.cpus),
                "mems": _opt_list(self.allowed.mems),
                "cgroup": self.allowed.cgroup,
                "cgroup_cpus": _opt_list(self.allowed.cgroup_cpus),
                "cgroup_mems": _opt_list(self.allowed.cgroup_mems),
            },
            "warnings": list(self.warnings),
            "gpus": [_gpu_dict(g) for g in self.gpus],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Topology:
        """Rebuild from ``to_dict`` output (recordings); raises ValueError if malformed."""
        fmt = d.get("format", FORMAT_VERSION) if isinstance(d, Mapping) else None
        if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
            raise ValueError(f"topology format {fmt!r} is newer than this numaview reads")
        try:
            host = d.get("host") or {}
            allowed = d.get("allowed") or {}
            return cls(
                cpus=tuple(
                    Cpu(
                        id=int(c["id"]),
                        online=bool(c["online"]),
                        package=c.get("package"),
                        die=c.get("die"),
                        core=c.get("core"),
                        core_id=c.get("core_id"),
                        node=c.get("node"),
                        l3=c.get("l3"),
                        l2=c.get("l2"),
                        siblings=tuple(c.get("siblings") or ()),
                        kind=c.get("kind"),
                        capacity=c.get("capacity"),
                    )
                    for c in d["cpus"]
                ),
                nodes=tuple(
                    Node(
                        id=int(n["id"]),
                        cpus=tuple(n["cpus"]),
                        offline_cpus=tuple(n.get("offline_cpus") or ()),
                        mem_total_bytes=n.get("mem_total_bytes"),
                        distances=(
                            None
                            if n.get("distances") is None
                            else {int(k): int(v) for k, v in n["distances"].items()}
                        ),
                    )
                    for n in d["nodes"]
                ),
                packages=tuple(
                    Package(id=int(p["id"]), cpus=tuple(p["cpus"]), nodes=tuple(p.get("nodes", ())))
                    for p in d["packages"]
                ),
                cores=tuple(
                    Core(
                        id=int(c["id"]),
                        package=c.get("package"),
                        cpus=tuple(c["cpus"]),
                        core_id=c.get("core_id"),
                        kind=c.get("kind"),
                    )
                    for c in d["cores"]
                ),
                l3=tuple(_cache_from(c, 3) for c in d["l3"]),
                l2=tuple(_cache_from(c, 2) for c in d.get("l2", ())),
                allowed=Allowed(
                    cpus=_opt_tuple(allowed.get("cpus")),
                    mems=_opt_tuple(allowed.get("mems")),
                    cgroup=allowed.get("cgroup"),
                    cgroup_cpus=_opt_tuple(allowed.get("cgroup_cpus")),
                    cgroup_mems=_opt_tuple(allowed.get("cgroup_mems")),
                ),
                host=Host(
                    hostname=host.get("hostname"),
                    kernel=host.get("kernel"),
                    cpu_model=host.get("cpu_model"),
                ),
                warnings=tuple(d.get("warnings") or ()),
                gpus=tuple(_gpu_from(g) for g in d.get("gpus") or ()),  # absent before issue 16
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"malformed topology: {exc!r}") from None

    def summary(self) -> str:
        """One line for headers: ``128 CPUs (126 online), 2 packages, 4 nodes, SMT2``."""
        n_cpu = len(self.cpus)
        online = len(self.online_cpus)
        parts = [f"{n_cpu} CPUs" + ("" if online == n_cpu else f" ({online} online)")]
        parts.append(_plural(len(self.packages), "package"))
        parts.append(_plural(len(self.nodes), "node"))
        parts.append(_plural(len(self.cores), "core"))
        parts.append(f"SMT{self.smt}" if self.smt > 1 else "no SMT")
        return ", ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _cache_dict(c: Cache) -> dict[str, Any]:
    return {
        "id": c.id,
        "level": c.level,
        "cpus": list(c.cpus),
        "cpulist": format_cpulist(c.cpus),
        "size_bytes": c.size_bytes,
        "nodes": list(c.nodes),
    }


def _cache_from(c: Mapping[str, Any], level: int) -> Cache:
    return Cache(
        id=int(c["id"]),
        level=int(c.get("level", level)),
        cpus=tuple(c["cpus"]),
        size_bytes=c.get("size_bytes"),
        nodes=tuple(c.get("nodes", ())),
    )


def _opt_list(v: CpuList | None) -> list[int] | None:
    return None if v is None else list(v)


def _opt_tuple(v: Any) -> CpuList | None:
    return None if v is None else tuple(int(x) for x in v)


def _gpu_dict(g: Gpu) -> dict[str, Any]:
    return {
        "index": g.index,
        "label": g.label,
        "pci": g.pci,
        "vendor": g.vendor,
        "class": f"0x{g.pci_class:06x}",
        "device_id": None if g.device_id is None else f"0x{g.device_id:04x}",
        "node": g.node,
        "local_cpus": list(g.local_cpus),
        "local_cpulist": format_cpulist(g.local_cpus),
        "memory_nodes": list(g.memory_nodes),
        "minor": g.minor,
        "drm": g.drm,
        "name": g.name,
    }


def _gpu_from(d: Mapping[str, Any]) -> Gpu:
    dev = d.get("device_id")
    return Gpu(
        index=int(d["index"]),
        pci=str(d["pci"]),
        vendor=str(d["vendor"]),
        pci_class=int(d["class"], 16),
        device_id=None if dev is None else int(dev, 16),
        node=d.get("node"),
        local_cpus=tuple(d.get("local_cpus") or ()),
        memory_nodes=tuple(d.get("memory_nodes") or ()),
        minor=d.get("minor"),
        drm=d.get("drm"),
        name=d.get("name"),
    )
