"""``numaview stacks PID``: each thread's Python stack next to the core and node it runs on.

Its own module because cli.py is at its size limit (cli.py imports this one at
its top, so this one imports cli.py's helpers only inside its functions). A
process that is not Python is not an error: its native threads are printed
with a note, exit 0. A gone process or a missing py-spy is one line, exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.model.frame import ProcessSample
    from numaview.stacks.join import StackRow

CPU_GAP_S = 0.3  # between the two samples that give the threads' CPU %


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "stacks",
        help="each thread's Python stack (py-spy) with its CPU %%, core, node and GIL",
        description="Sample PID's threads (two readings 0.3 s apart), dump its Python stacks"
        " with py-spy (which pauses it for a few ms), and print one row per OS thread,"
        " then each Python thread's stack.",
    )
    p.add_argument("pid", metavar="PID", type=int, help="the process")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=cmd_stacks)


def _sample(pid: int) -> ProcessSample | None:
    import time

    from numaview.linux.sysfs import discover
    from numaview.sampler.sampler import Sampler, SamplerOptions

    topo = discover("/")
    options = SamplerOptions(
        top_n=0, numa_k=0, refresh_every=1, threads_top=1_000_000, thread_files=0
    )
    sampler = Sampler("/", topo, options)
    sampler.processes.restrict([pid])  # its threads twice, not every thread of the machine
    sampler.sample()
    time.sleep(CPU_GAP_S)
    return sampler.sample().process(pid)


def _table(rows: list[StackRow]) -> str:
    from numaview.stacks.join import COLUMNS, row_cells

    cells = [list(COLUMNS)] + [row_cells(r) for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS) - 1)]
    right = {0, 2, 3, 4}
    out = []
    for line in cells:
        parts = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=False))
        ]
        out.append("  ".join([*parts, line[-1]]).rstrip())
    return "\n".join(out)


def cmd_stacks(args: argparse.Namespace) -> int:
    from numaview.cli.common import EXIT_OK, CliError, UsageError
    from numaview.linux.sysfs import TopologyError, discover
    from numaview.stacks.join import join
    from numaview.stacks.pyspy import dump
    from numaview.stacks.types import StackDump, StacksError

    if args.pid <= 0:
        raise UsageError(f"PID {args.pid}: must be a process id (1 or more)")
    try:
        process = _sample(args.pid)
        node_of = {c.id: c.node for c in discover("/").cpus}
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    if process is None:
        raise CliError(f"pid {args.pid}: no such process")
    result: StackDump | None = None
    error: StacksError | None = None
    try:
        result = dump(args.pid)
    except StacksError as exc:
        if exc.reason != "not-python":
            raise CliError(exc.message) from None
        error = exc
    rows = join(process, result, node_of)
    if args.json:
        doc = {
            "pid": args.pid,
            "elapsed_s": None if result is None else round(result.elapsed_s, 4),
            "python": result is not None,
            "threads": [r.to_dict() for r in rows],
            "error": None if error is None else error.message,
        }
        print(json.dumps(doc, indent=1))
        return EXIT_OK
    print(f"{process.name} (pid {args.pid}), {len(rows)} threads")
    print(_table(rows))
    if error is not None:
        print(f"note: {error.message}")
    elif result is not None:
        print(f"dump paused the process for {result.elapsed_s * 1000:.0f} ms")
        for r in rows:
            if r.python:
                gil = "  (holds the GIL)" if r.owns_gil else ""
                print(f"\nthread {r.tid} {r.name}{gil}")
                print("\n".join(f"  {s}" for s in r.stack) or "  (no frames)")
    sys.stdout.flush()
    return EXIT_OK
