"""Which processes use which GPU, from /proc/PID/fd and /proc/PID/fdinfo (no driver library).

- NVIDIA: a process driving GPU N holds ``/dev/nvidiaN`` open (character major
  195; ``nvidiactl``, ``nvidia-uvm`` and ``nvidia-modeset`` are not a GPU).
- DRM (AMD, Intel, and NVIDIA through nvidia-drm): each open ``/dev/dri/*``
  has an fdinfo in the kernel's drm-usage-stats form, as htop and nvtop read
  it: ``drm-pdev`` (the PCI address), ``drm-client-id`` (one client may be
  open through several descriptors: counted once), ``drm-engine-<name>: N ns``
  (busy time, a counter) and ``drm-memory-<region>`` / ``drm-total-<region>``
  / ``drm-resident-<region>`` (``N [KiB|MiB|GiB]``).

One call reads one process: its descriptors are listed and each link read
(a few µs a descriptor), so the caller decides whom to read and how often.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from numaview.linux.fsroot import FsRoot

NVIDIA_MAJOR = 195
_NVIDIA = re.compile(r"/dev/nvidia(\d+)")
_UNITS = {"": 1, "B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}


@dataclass(frozen=True, slots=True)
class DrmClient:
    """One DRM client (an open /dev/dri file) of a process, as its fdinfo says."""

    pdev: str
    client_id: str
    engine_ns: dict[str, int] = field(default_factory=dict)  # busy time per engine
    mem_bytes: int | None = None  # resident (else total, else the old drm-memory) VRAM


@dataclass(frozen=True, slots=True)
class GpuFds:
    """What a process holds open: NVIDIA device minors and DRM clients."""

    nvidia_minors: tuple[int, ...] = ()
    drm: tuple[DrmClient, ...] = ()


def read_gpu_fds(fs: FsRoot, pid: int) -> GpuFds | None:
    """The process's GPU descriptors; None when it is gone. Another user's process
    raises PermissionError (its fd/ is its owner's and root's only)."""
    base = fs.path(f"proc/{pid}/fd")
    try:
        fds = os.listdir(base)
    except PermissionError:
        raise
    except OSError:
        return None
    minors: set[int] = set()
    clients: dict[tuple[str, str], DrmClient] = {}
    for fd in fds:
        try:
            target = os.readlink(f"{base}/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("/dev/nvidia"):
            m = _NVIDIA.fullmatch(target)
            if m is not None and _is_nvidia_device(fs, target):
                minors.add(int(m.group(1)))
        elif target.startswith("/dev/dri/"):
            text = fs.read(f"proc/{pid}/fdinfo/{fd}")
            client = parse_drm_fdinfo(text) if text else None
            if client is not None:
                clients.setdefault((client.pdev, client.client_id), client)
    return GpuFds(tuple(sorted(minors)), tuple(clients.values()))


def _is_nvidia_device(fs: FsRoot, target: str) -> bool:
    """On the live machine the node must be character major 195; a fake tree has only links."""
    if not fs.live:
        return True
    try:
        return os.major(os.stat(target).st_rdev) == NVIDIA_MAJOR
    except OSError:
        return True  # cannot tell (a container without /dev): the name says it


def parse_drm_fdinfo(text: str) -> DrmClient | None:
    """A DRM client from one fdinfo text; None without ``drm-pdev`` (not a GPU we know)."""
    pdev = client = None
    engines: dict[str, int] = {}
    resident = total = legacy = None
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.startswith("drm-"):
            continue
        value = value.strip()
        if key == "drm-pdev":
            pdev = value.lower()
        elif key == "drm-client-id":
            client = value
        elif key.startswith("drm-engine-") and not key.startswith("drm-engine-capacity-"):
            number, _, unit = value.partition(" ")
            if number.isdigit() and unit.strip() in ("ns", ""):
                engines[key[len("drm-engine-") :]] = int(number)
        elif key.startswith(("drm-resident-", "drm-total-", "drm-memory-")):
            size = _size(value)
            region = key.split("-", 2)[2]
            if size is None or not region.startswith(("vram", "local")):
                continue  # gtt, system, cpu: host memory, not the GPU's (amdgpu, i915, xe)
            if key.startswith("drm-resident-"):
                resident = (resident or 0) + size
            elif key.startswith("drm-total-"):
                total = (total or 0) + size
            else:
                legacy = (legacy or 0) + size
    if pdev is None:
        return None
    mem = resident if resident is not None else total if total is not None else legacy
    return DrmClient(pdev, client or "?", engines, mem)


def _size(value: str) -> int | None:
    number, _, unit = value.partition(" ")
    if not number.isdigit() or unit.strip() not in _UNITS:
        return None
    return int(number) * _UNITS[unit.strip()]
