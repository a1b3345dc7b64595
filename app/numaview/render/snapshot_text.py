"""Plain-text rendering of one Frame for ``numaview snapshot``.

Scripts and people read this output in logs, CI and bug reports, so it is
plain text (no colour codes, no terminal library), at most 100 columns wide
even on a 1024-CPU machine, and it never prints 0 for a value it does not
know: unknown is ``–``. Pure: a Frame and a Topology in, a string out, so
tests can feed it frames with known answers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame, SystemSample
from numaview.model.topology import Topology
from numaview.render.columns import NODE_COLUMNS, PROCESS_COLUMNS, SORTS, Labels, fit, text_table
from numaview.render.units import MISSING, pct, rate

WIDTH = 100
COMMAND_ROOM = 30  # the command keeps this much before AFFINITY / MEM/NODE widen
CPU_CELLS_PER_ROW = 8  # 2 + 8 × 10 + 7 × 2 = 96 columns
MORE_HINT = "(use --top N or --json)"


def render_snapshot(frame: Frame, topology: Topology, limit: int = 20) -> str:
    """The whole snapshot; ``limit`` is how many process rows to show (0: all)."""
    lines = _header(frame, topology)
    if frame.errors:
        lines.append("Errors:")
        lines.extend(_fit(f"  {e}", WIDTH) for e in frame.errors)
    lines.append("")
    lines.extend(_wrap_items("System: ", _system_items(frame.system), WIDTH))
    lines.append("")
    lines.extend(_nodes(frame, topology))
    lines.append("")
    lines.extend(_cpus(frame, topology))
    lines.append("")
    lines.extend(_processes(frame, topology, limit))
    return "\n".join(lines)


# -- small formatters ------------------------------------------------------------


def _fit(text: str, width: int) -> str:
    """Cut to ``width`` columns with an ellipsis, so a cut is visible (never padded)."""
    return text if len(text) <= width else fit(text, width)


def _wrap_items(prefix: str, items: Sequence[str], width: int, sep: str = "  ") -> list[str]:
    """Join items on one line, starting a new indented line rather than cutting one."""
    lines: list[str] = []
    cur, fresh = prefix, True
    for item in items:
        if not fresh and len(cur) + len(sep) + len(item) > width:
            lines.append(cur)
            cur, fresh = " " * len(prefix), True
        cur += item if fresh else sep + item
        fresh = False
    lines.append(cur)
    return [_fit(line, width) for line in lines]


def _wrap_list(text: str, width: int) -> list[str]:
    """Break a cpu list at its commas so no CPU id is cut in half."""
    out: list[str] = []
    cur = ""
    for part in text.split(","):
        piece = part if not cur else "," + part
        if cur and len(cur) + len(piece) > width:
            out.append(cur + ",")
            cur = part
        else:
            cur += piece
    out.append(cur)
    return out


# -- sections --------------------------------------------------------------------


def _header(frame: Frame, topo: Topology) -> list[str]:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(frame.time)).strip()
    cost = frame.cost
    tick = MISSING if cost.tick_cpu_s is None else f"{cost.tick_cpu_s * 1000:.1f} ms CPU"
    own = MISSING if cost.self_cpu_pct is None else f"{cost.self_cpu_pct:.1f}%"
    items = [
        f"host {topo.host.hostname or MISSING}",
        stamp,
        f"interval {frame.interval_s:.2f} s",
        f"numaview tick {tick}, {own} of a CPU",
    ]
    lines = _wrap_items("", items, WIDTH)
    lines.append(_fit(f"  {topo.summary()}", WIDTH))
    return lines


def _system_items(s: SystemSample) -> list[str]:
    load = MISSING if s.load is None else " ".join(f"{v:.2f}" for v in s.load)
    running = MISSING if s.procs_running is None else str(s.procs_running)
    blocked = MISSING if s.procs_blocked is None else str(s.procs_blocked)
    items = [
        f"load {load}",
        f"procs {running} running, {blocked} blocked",
        f"ctx switches {rate(s.ctx_switches_per_s, '/s')}",
        f"NUMA hint faults {rate(s.numa_hint_faults_per_s, '/s')}"
        f" ({rate(s.numa_hint_faults_local_per_s, '/s')} local)",
        f"pages migrated {rate(s.numa_pages_migrated_per_s, '/s')}",
    ]
    psi = [
        (name, v)
        for name, v in (
            ("cpu some", s.psi_cpu_some_avg10),
            ("mem some", s.psi_memory_some_avg10),
            ("mem full", s.psi_memory_full_avg10),
        )
        if v is not None
    ]
    if psi:
        items.append("PSI avg10 " + ", ".join(f"{name} {pct(v, 2, sign=True)}" for name, v in psi))
    return items


def _node_cpus(node_id: int, topo: Topology) -> str:
    node = topo.node(node_id)
    if node is None:
        return MISSING
    if node.memory_only:
        return "memory only"
    if not node.cpus:
        return f"all offline ({format_cpulist(node.offline_cpus)})"
    text = format_cpulist(node.cpus)
    if node.offline_cpus:
        text += f" (+{format_cpulist(node.offline_cpus)} offline)"
    return text


def _nodes(frame: Frame, topo: Topology) -> list[str]:
    if not frame.nodes:
        return ["Nodes: none read"]
    lines, _ = text_table(NODE_COLUMNS, frame.nodes, Labels(topo), WIDTH, room=12)
    # The CPU list goes last, where a long one can wrap instead of being cut.
    start = len(lines[0])
    room = max(WIDTH - start, 12)
    out = ["Nodes:", lines[0] + NODE_COLUMNS[-1].title]
    for n, line in zip(frame.nodes, lines[1:], strict=True):
        parts = _wrap_list(_node_cpus(n.id, topo), room)
        out.append(line + parts[0])
        out.extend(" " * start + p for p in parts[1:])
    return [_fit(line.rstrip(), WIDTH) for line in out]


def _cpus(frame: Frame, topo: Topology) -> list[str]:
    table = frame.cpus
    busy = table.busy_by_cpu()
    online = dict(zip(table.ids, table.online, strict=True))
    # No CPU online at all means /proc/stat was not read, not that all are off.
    known = any(table.online)
    node_of = {c.id: c.node for c in topo.cpus}
    topo_offline = set(topo.offline_cpus)
    groups: dict[int | None, list[int]] = {}
    for cpu in table.ids:
        groups.setdefault(node_of.get(cpu), []).append(cpu)
    # 8 cells a row up to CPU 9999; fewer when ids are wider, to stay in WIDTH.
    idw = max(4, *(len(str(c)) for c in table.ids)) if table.ids else 4
    per_row = min(CPU_CELLS_PER_ROW, WIDTH // (idw + 8))
    out = ["CPUs (busy %):"]
    for nid in sorted(groups, key=lambda n: (n is None, n or 0)):
        ids = groups[nid]
        values = [busy[c] for c in ids if busy[c] is not None and online[c]]
        avg = sum(v for v in values if v is not None) / len(values) if values else None
        label = "node ?" if nid is None else f"node {nid}"
        out.append(_fit(f"  {label}: CPUs {format_cpulist(ids)}, mean {pct(avg)}", WIDTH))
        cells = []
        for c in ids:
            off = not online[c] if known else c in topo_offline
            value = "off" if off else pct(busy[c])
            cells.append(f"{c:>{idw}}:{value:>5}")
        for i in range(0, len(cells), per_row):
            out.append("  " + "  ".join(cells[i : i + per_row]))
    return out


# -- processes -------------------------------------------------------------------


def _processes(frame: Frame, topo: Topology, limit: int) -> list[str]:
    procs = sorted(frame.processes, key=SORTS["cpu"])
    shown = procs if limit <= 0 else procs[:limit]
    total = frame.system.processes_total
    if total is None or total < len(procs):
        total = len(procs)
    if not shown:
        return ["Processes: none read" + (f" (of {total})" if total else "")]
    what = f"all {total}" if len(shown) >= total else f"top {len(shown)} of {total}"
    labels = Labels(topo)
    lines, _ = text_table(PROCESS_COLUMNS, shown, labels, WIDTH, room=COMMAND_ROOM)
    command = PROCESS_COLUMNS[-1]
    room = WIDTH - len(lines[0])
    out = [f"Processes ({what}, by CPU):", lines[0] + command.title]
    for p, line in zip(shown, lines[1:], strict=True):
        out.append(line + command.text(p, labels, room))
    more = total - len(shown)
    if more > 0:
        noun = "process" if more == 1 else "processes"
        out.append(f"… {more} more {noun} {MORE_HINT}")
    return [line.rstrip() for line in out]
