"""Threads from the sampler joined with py-spy's stacks by OS thread id (pure, no I/O).

py-spy knows only Python threads; /proc knows every thread. A row per OS
thread keeps the native ones (a BLAS pool, a tokenizer in Rust) visible next to
the Python ones, which is where a busy process's time often goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from numaview.model.frame import ProcessSample
from numaview.stacks.types import PyThread, StackDump

TOP_FRAMES = 3


@dataclass(frozen=True, slots=True)
class StackRow:
    tid: int
    name: str
    last_cpu: int | None
    node: int | None
    cpu_pct: float | None
    affinity: tuple[int, ...] | None  # the thread's own, else the process's
    python: bool
    owns_gil: bool
    active: bool
    top: tuple[str, ...]  # innermost TOP_FRAMES frames as "func (file:line)"
    stack: tuple[str, ...]  # every frame, innermost first

    def to_dict(self) -> dict[str, Any]:
        return {
            "tid": self.tid,
            "name": self.name,
            "last_cpu": self.last_cpu,
            "node": self.node,
            "cpu_pct": self.cpu_pct,
            "affinity": None if self.affinity is None else list(self.affinity),
            "python": self.python,
            "owns_gil": self.owns_gil,
            "active": self.active,
            "top": list(self.top),
            "stack": list(self.stack),
        }


def _stack(t: PyThread | None) -> tuple[str, ...]:
    return () if t is None else tuple(f.label() for f in t.frames)


def join(
    process: ProcessSample, dump: StackDump | None, node_of: Mapping[int, int | None]
) -> list[StackRow]:
    """Busiest first; Python threads py-spy saw that the sampler did not (new ones) come last."""
    py = {t.tid: t for t in dump.threads} if dump is not None else {}
    rows: list[StackRow] = []
    seen: set[int] = set()
    for t in process.thread_samples or ():
        seen.add(t.tid)
        pt = py.get(t.tid)
        stack = _stack(pt)
        node = None if t.last_cpu is None else node_of.get(t.last_cpu)
        rows.append(
            StackRow(
                tid=t.tid,
                name=(pt.name if pt is not None and pt.name else t.name),
                last_cpu=t.last_cpu,
                node=node,
                cpu_pct=t.cpu_pct,
                affinity=t.affinity if t.affinity is not None else process.affinity,
                python=pt is not None,
                owns_gil=pt is not None and pt.owns_gil,
                active=pt.active if pt is not None else t.state == "R",
                top=stack[:TOP_FRAMES],
                stack=stack,
            )
        )
    rows.sort(key=lambda r: (-(r.cpu_pct or 0.0), r.tid))
    for pt in dump.threads if dump is not None else ():
        if pt.tid in seen:
            continue
        stack = _stack(pt)
        rows.append(
            StackRow(
                tid=pt.tid,
                name=pt.name or "?",
                last_cpu=None,
                node=None,
                cpu_pct=None,
                affinity=process.affinity,
                python=True,
                owns_gil=pt.owns_gil,
                active=pt.active,
                top=stack[:TOP_FRAMES],
                stack=stack,
            )
        )
    return rows


COLUMNS = ("TID", "NAME", "CPU%", "CPU", "NODE", "GIL", "PY", "TOP FRAME")


def row_cells(r: StackRow) -> list[str]:
    """One table row as text, the same in the CLI and the UI."""

    def opt(v: object) -> str:
        return "-" if v is None else str(v)

    return [
        str(r.tid),
        r.name,
        "-" if r.cpu_pct is None else f"{r.cpu_pct:.1f}",
        opt(r.last_cpu),
        opt(r.node),
        "GIL" if r.owns_gil else "",
        "py" if r.python else "",
        r.top[0] if r.top else ("" if r.python else "(native)"),
    ]
