"""GPUs and compute accelerators from FSROOT/sys/bus/pci (and the NVIDIA driver's /proc).

A GPU is a PCI function of class 0x03 (display controller: VGA 0x0300, 3D
0x0302, other 0x0380) or 0x12 (processing accelerator: newer AMD Instinct
cards say 0x1200) from NVIDIA (0x10de), AMD (0x1002) or Intel (0x8086); a
BMC's VGA (ASPEED 0x1a03) or a GPU's HDMI audio function (class 0x0403) is
not one. Its ``numa_node`` is the node it hangs off; -1 means the firmware did
not say, and then the kernel's ``local_cpulist`` lists every CPU: that is not
"local", so such a GPU has no node and no local CPUs.

A GPU whose memory is a NUMA node of its own (Grace Hopper, POWER9 with
NVLink: CPU-less nodes) is tied to it by the NVIDIA driver's
``/proc/driver/nvidia/gpus/<pci>/numa_status`` (``Node: N``), as hwloc does;
``information`` there gives the ``Device Minor`` (``/dev/nvidiaN``). Anything
missing or malformed leaves that fact unknown, with a warning when a file is
present but unreadable as what it should be.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping

from numaview.linux.fsroot import FsRoot, Warnings
from numaview.model.cpuset import parse_cpulist
from numaview.model.topology import GPU_VENDORS, Gpu, Node

PCI_DIR = "sys/bus/pci/devices"
NVIDIA_PROC = "proc/driver/nvidia/gpus"
GPU_CLASSES = (0x03, 0x12)  # base class: display controller, processing accelerator


def discover_gpus(
    fs: FsRoot, w: Warnings, online: Collection[int], nodes: Mapping[int, Node]
) -> tuple[Gpu, ...]:
    """Every GPU under FSROOT, numbered as ``Gpu.index`` says."""
    names = fs.listdir(PCI_DIR)
    if not names:
        return ()  # no PCI bus in this tree (s390, a container): no GPUs, nothing wrong
    found: list[Gpu] = []
    for addr in sorted(names):
        base = f"{PCI_DIR}/{addr}"
        cls = _hex(fs.read(f"{base}/class"))
        vendor = _hex(fs.read(f"{base}/vendor"))
        if (
            cls is None
            or vendor is None
            or vendor not in GPU_VENDORS
            or cls >> 16 not in GPU_CLASSES
        ):
            continue
        node = _node(fs, w, addr, base, nodes)
        found.append(
            Gpu(
                index=0,  # numbered below
                pci=addr,
                vendor=GPU_VENDORS[vendor],
                pci_class=cls,
                device_id=_hex(fs.read(f"{base}/device")),
                node=node,
                local_cpus=_local_cpus(fs, w, addr, base, node, online),
                memory_nodes=_memory_nodes(fs, w, addr, nodes),
                minor=_minor(fs, addr),
                drm=_drm(fs, base),
            )
        )
    rank = {name: i for i, name in enumerate(GPU_VENDORS.values())}
    found.sort(key=lambda g: (rank[g.vendor], g.pci))
    return tuple(dataclasses.replace(g, index=i) for i, g in enumerate(found))


def _hex(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip(), 16)
    except ValueError:
        return None


def _node(fs: FsRoot, w: Warnings, addr: str, base: str, nodes: Mapping[int, Node]) -> int | None:
    text = fs.read(f"{base}/numa_node")
    if text is None:
        return None  # a kernel without NUMA: no file
    try:
        node = int(text.strip())
    except ValueError:
        w.add(
            f"GPU {addr}: numa_node holds {text.strip()[:20]!r}, not a number: its node is unknown"
        )
        return None
    if node < 0:
        return None  # the firmware did not say
    if nodes and node not in nodes:
        w.add(f"GPU {addr}: numa_node {node} is not a node of this machine: its node is unknown")
        return None
    return node


def _local_cpus(
    fs: FsRoot, w: Warnings, addr: str, base: str, node: int | None, online: Collection[int]
) -> tuple[int, ...]:
    if node is None:
        return ()  # the kernel then lists every CPU: none of them is "local"
    text = fs.read(f"{base}/local_cpulist")
    if text is None:
        return ()
    try:
        cpus = parse_cpulist(text.strip())
    except ValueError:
        w.add(f"GPU {addr}: local_cpulist {text.strip()[:30]!r} is not a CPU list")
        return ()
    return tuple(c for c in cpus if c in online)


def _memory_nodes(fs: FsRoot, w: Warnings, addr: str, nodes: Mapping[int, Node]) -> tuple[int, ...]:
    text = fs.read(f"{NVIDIA_PROC}/{addr}/numa_status")
    if text is None:
        return ()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Node":
            try:
                n = int(value.strip())
            except ValueError:
                w.add(f"GPU {addr}: numa_status says Node {value.strip()[:20]!r}")
                return ()
            node = nodes.get(n)
            return (n,) if node is not None and node.memory_only else ()
    return ()


def _minor(fs: FsRoot, addr: str) -> int | None:
    text = fs.read(f"{NVIDIA_PROC}/{addr}/information")
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "Device Minor" and value.strip().isdigit():
            return int(value.strip())
    return None


def _drm(fs: FsRoot, base: str) -> str | None:
    cards = sorted(
        (e for e in fs.listdir(f"{base}/drm") or () if e.startswith("card") and e[4:].isdigit()),
        key=lambda e: int(e[4:]),
    )
    return cards[0] if cards else None
