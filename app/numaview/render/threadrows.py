"""Threads as table rows (htop's H): each thread a ProcessSample keyed by its tid.

The process table then needs no second row type. Rows of threads whose
ThreadSample object did not change are reused, so the table repaints only
threads that moved or ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from numaview.model.frame import Frame, ProcessSample, ThreadSample, ThreadTable

ThreadRowCache = dict[tuple[int, int], tuple[ThreadSample, ProcessSample]]


def thread_rows(
    frame: Frame, node_of: Mapping[int, int], cache: ThreadRowCache
) -> tuple[tuple[ProcessSample, ...], dict[int, int], ThreadRowCache]:
    """(rows, tid → pid of its process, the new cache)."""
    parent: dict[int, int] = {}
    fresh: ThreadRowCache = {}
    for p in frame.processes:
        for t in p.thread_samples or ():
            key = (p.pid, t.tid)
            hit = cache.get(key)
            if hit is not None and hit[0] is t:
                row = hit[1]
            else:
                node = node_of.get(t.last_cpu) if t.last_cpu is not None else None
                row = replace(
                    p,
                    pid=t.tid,
                    name=t.name,
                    state=t.state,
                    cpu_pct=t.cpu_pct,
                    threads=1,
                    affinity=t.affinity if t.affinity is not None else p.affinity,
                    last_cpus=() if t.last_cpu is None else (t.last_cpu,),
                    nodes_running=() if node is None else (node,),
                    cmdline=p.cmdline if t.tid == p.pid else f"{p.name}: {t.name}",
                    thread_samples=ThreadTable((t,)),
                )
            fresh[key] = (t, row)
            parent[t.tid] = p.pid
    return tuple(row for _, row in fresh.values()), parent, fresh
