"""A GPU's state in one frame, and what the process rows say of GPU use.

Kept beside frame.py (which holds it in ``Frame.gpus``); the static facts of a
GPU (its PCI address, node, local CPUs) are in the topology (``topology.Gpu``),
and a sample refers to it by ``index``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class GpuSample:
    index: int  # topology.Gpu.index
    util_pct: float | None = None  # busy share of the last interval (NVML: utilization.gpu)
    mem_used_bytes: int | None = None
    mem_total_bytes: int | None = None
    source: str = "nvml"  # "nvml", "fdinfo" (DRM: summed over its processes), "devfs" (who only)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "util_pct": self.util_pct,
            "mem_used_bytes": self.mem_used_bytes,
            "mem_total_bytes": self.mem_total_bytes,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GpuSample:
        return cls(
            index=int(d["index"]),
            util_pct=d.get("util_pct"),
            mem_used_bytes=d.get("mem_used_bytes"),
            mem_total_bytes=d.get("mem_total_bytes"),
            source=str(d.get("source") or "nvml"),
        )


def gpu_mem_to_json(m: Mapping[int, int] | None) -> dict[str, int] | None:
    return None if m is None else {str(k): v for k, v in sorted(m.items())}


def gpu_mem_from_json(m: Mapping[str, Any] | None) -> dict[int, int] | None:
    return None if m is None else {int(k): int(v) for k, v in m.items()}
