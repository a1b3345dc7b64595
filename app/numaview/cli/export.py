"""``numaview export``: a recording's CPUs, nodes, processes or events as CSV or JSON lines."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

from numaview.cli.common import EXIT_OK, CliError
from numaview.model.frame import CPU_METRICS, Frame, NodeSample
from numaview.model.workload import FIGURES
from numaview.render.columns import EXPORT_COLUMNS

WHAT = ("cpus", "nodes", "processes", "events", "workload")
# The process columns' sample fields (render/columns.py), in export's order.
PROCESS_COLUMNS = tuple(str(c.field) for c in EXPORT_COLUMNS)


def _rows(reader: Any, what: str) -> Iterator[dict[str, Any]]:
    """Export rows, one dict each, in time order; events carry their data as JSON."""
    if what == "events":
        for e in reader.events():
            yield {"time": e.time, "mono": e.mono, "kind": e.kind, "data": e.data}
        return
    node_fields = [f.name for f in fields(NodeSample) if f.name != "id"]
    seq: int
    frame: Frame
    for seq, frame in reader.entries():
        head = {"time": frame.time, "seq": seq}
        if what == "cpus":
            for c in frame.cpus:
                yield {
                    **head,
                    "cpu": c.id,
                    "online": c.online,
                    **{m: getattr(c, m) for m in CPU_METRICS},
                }
        elif what == "workload":  # one row per source and frame: its figures, not its totals
            for w in frame.workload:
                yield {
                    **head,
                    "source": w.source,
                    "server": w.server,
                    "pid": w.pid,
                    "sample_mono": w.mono,
                    "stale": w.stale,
                    "error": w.error,
                    **{f.name: w.figures.get(f.name) for f in FIGURES},
                }
        elif what == "nodes":
            for n in frame.nodes:
                yield {**head, "node": n.id, **{f: getattr(n, f) for f in node_fields}}
        else:
            for p in frame.processes:
                yield {**head, **{str(c.field): c.value(p) for c in EXPORT_COLUMNS}}


def cmd_export(args: argparse.Namespace) -> int:
    import csv

    from numaview.record.format import RecordingError
    from numaview.record.reader import Reader

    try:
        with Reader(args.file) as reader:
            writer: Any = None
            for row in _rows(reader, args.what):
                if args.format == "json":
                    sys.stdout.write(json.dumps(row, separators=(",", ":")) + "\n")
                    continue
                if writer is None:
                    writer = csv.DictWriter(sys.stdout, list(row), lineterminator="\n")
                    writer.writeheader()
                if "data" in row:
                    row = {**row, "data": json.dumps(row["data"], separators=(",", ":"))}
                writer.writerow({k: "" if v is None else v for k, v in row.items()})
    except RecordingError as exc:
        sys.stdout.flush()
        raise CliError(str(exc)) from None
    return EXIT_OK


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "export",
        help="print a recording's CPUs, nodes, processes or events as CSV or JSON lines",
        description="Read a recording and print one row per frame and CPU/node/process"
        " (or per event): CSV with a header row, or one JSON object per line.",
    )
    p.add_argument("file", metavar="FILE", help="a recording made by `numaview record`")
    p.add_argument("--format", choices=("csv", "json"), default="csv", help="default csv")
    p.add_argument("--what", choices=WHAT, default="cpus", help="default cpus")
    p.set_defaults(func=cmd_export)
