"""The nine leak detectors: frames in, findings out (no I/O, no textual).

Each looks at the newest frame (and, for wandering, the recent ones), and
says what is leaking with the numbers that show it and, where one exists, a
concrete pin plan. Hysteresis is not here but in the engine, so each
detector stays a plain function of its input. The detectors live in
cpu_detectors.py, node_detectors.py, cache_detectors.py and gpu_detectors.py, what they share in context.py; this
module is their registry, in the order the engine runs them.
"""

from __future__ import annotations

from collections.abc import Callable

from numaview.diagnose.cache_detectors import cache_contention
from numaview.diagnose.context import Context
from numaview.diagnose.cpu_detectors import (
    idle_cores,
    overlapping_affinity,
    oversubscription,
    smt_contention,
)
from numaview.diagnose.findings import Finding
from numaview.diagnose.gpu_detectors import gpu_far
from numaview.diagnose.node_detectors import cross_node, node_memory_pressure, wandering

__all__ = [
    "DETECTORS",
    "Context",
    "cache_contention",
    "cross_node",
    "gpu_far",
    "idle_cores",
    "node_memory_pressure",
    "overlapping_affinity",
    "oversubscription",
    "smt_contention",
    "wandering",
]


DETECTORS: dict[str, Callable[[Context], list[Finding]]] = {
    "idle-cores": idle_cores,
    "cross-node": cross_node,
    "smt-contention": smt_contention,
    "oversubscription": oversubscription,
    "overlapping-affinity": overlapping_affinity,
    "node-memory-pressure": node_memory_pressure,
    "wandering": wandering,
    "cache-contention": cache_contention,
    "gpu-far": gpu_far,
}
