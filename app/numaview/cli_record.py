"""``numaview record`` and ``numaview export``: headless recording, and reading one back as CSV/JSON.

Its own module because cli.py is at its size limit (cli.py imports this one at
its top, so cli.py's helpers are imported only inside functions here). The
rules are cli.py's: one-line errors, exit 1 for "could not do it", exit 2 for
bad arguments, never a traceback and never textual.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from types import FrameType
from typing import Any

from numaview.model.cpuset import format_cpulist
from numaview.model.frame import CPU_METRICS, Frame, NodeSample

DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
WHAT = ("cpus", "nodes", "processes", "events")
PROCESS_COLUMNS = ("pid", "name", "cpu_pct", "rss_bytes", "threads", "affinity", "nodes_running")

RECORD_EPILOG = """\
The file is SQLite (see docs/recording.md): `sqlite3 FILE 'select count(*) from frames'`
works without numaview. Every frame is committed as it is taken, so a killed
recorder loses at most the last frame. Ctrl+C or SIGTERM stops it cleanly.
The file is created mode 0600: it holds every process's command line
(--redact stores them hashed, and user names too).

exit status:
  0  recorded (also when stopped by Ctrl+C or SIGTERM)
  1  could not write FILE (it exists without --force, no space, ...)
  2  bad arguments
"""


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "5m", "1.5h" or "1d"; ValueError otherwise."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)\s*", text.lower())
    if m is None:
        raise ValueError(text)
    seconds = float(m.group(1)) * DURATION_UNITS[m.group(2)]
    if not seconds > 0:
        raise ValueError(text)
    return seconds


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"


def cmd_record(args: argparse.Namespace) -> int:
    from numaview.cli import EXIT_OK, CliError, UsageError, _check_root, _interval
    from numaview.record.format import RecordingError
    from numaview.record.writer import Writer
    from numaview.sampler.sampler import Sampler, SamplerOptions
    from numaview.sampler.sysfs import TopologyError, discover
    from numaview.sampler.thread import FIRST_GAP_S, next_tick

    interval = _interval(args.interval)
    try:
        duration = None if args.duration is None else parse_duration(args.duration)
    except ValueError:
        raise UsageError(
            f"--duration {args.duration}: must be seconds or a number with s, m, h or d (90s, 5m, 1h)"
        ) from None
    if args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    _check_root(args.root)
    out = Path(args.output)
    if out.exists() and not args.force:
        raise CliError(f"{out}: already exists; --force overwrites it")
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    options = SamplerOptions(top_n=args.top)
    sampler = Sampler(args.root, topo, options)
    if args.force:
        for p in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
            p.unlink(missing_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    tty = sys.stdout.isatty()
    try:
        writer = Writer(
            out,
            topo,
            interval,
            {"top_n": args.top, "root": args.root, "duration_s": duration},
            redact=args.redact,
        )
        try:
            start = time.monotonic()
            k, due = 0, start + min(FIRST_GAP_S, interval)  # the first frame is a baseline
            while True:
                try:
                    frame = sampler.sample()
                except Exception as exc:  # a sampling error is recorded, not fatal
                    writer.add_event(
                        "sampler-error", time.monotonic(), {"error": f"{type(exc).__name__}: {exc}"}
                    )
                else:
                    writer.add_frame(frame)
                now = time.monotonic()
                if tty:
                    size = _human_bytes(writer.size_bytes())
                    sys.stdout.write(
                        f"\rrecording {out}: {now - start:.0f} s, {writer.frames} frames, {size}  "
                    )
                    sys.stdout.flush()
                if writer.frames > 1 or k > 0:
                    k, due = next_tick(start, k, interval, now)
                if duration is not None and due - start > duration + 1e-9:
                    break
                if stop.wait(max(due - now, 0.0)):
                    break
        finally:
            writer.close()
            if tty:
                sys.stdout.write("\n")
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return EXIT_OK


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
        elif what == "nodes":
            for n in frame.nodes:
                yield {**head, "node": n.id, **{f: getattr(n, f) for f in node_fields}}
        else:
            for p in frame.processes:
                row = {**head, **{c: getattr(p, c) for c in PROCESS_COLUMNS}}
                row["affinity"] = None if p.affinity is None else format_cpulist(p.affinity)
                row["nodes_running"] = format_cpulist(p.nodes_running)
                yield row


def cmd_export(args: argparse.Namespace) -> int:
    from numaview.cli import EXIT_OK, CliError
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


def cmd_replay(args: argparse.Namespace) -> int:
    """The dashboard over a recording: the recorded machine's topology, no re-pinning."""
    from numaview.cli import CliError, UsageError, _run_ui
    from numaview.record.format import RecordingError
    from numaview.record.reader import Reader
    from numaview.sampler.replay import SPEEDS, ReplaySource, parse_when

    if args.speed not in SPEEDS:
        raise UsageError(f"--speed {args.speed:g}: must be one of 1, 2, 10, 60")
    try:
        reader = Reader(args.file)
        if len(reader) == 0:
            raise RecordingError(f"{args.file}: the recording has no frames")
        next(iter(reader))  # a damaged first frame: say so here, not in the dashboard
        start = None
        if args.start is not None:
            try:
                start = parse_when(args.start, reader.first_time or 0.0)
            except ValueError:
                raise UsageError(
                    f"--start {args.start}: must be seconds from the start or HH:MM:SS"
                ) from None
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    return _run_ui(ReplaySource(reader, speed=args.speed, start=start), None)


def add_record_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from numaview.cli import _root_arg

    p = sub.add_parser(
        "record",
        help="sample the machine into a recording file, headless, until stopped",
        description="Sample every --interval seconds and append each frame to FILE (SQLite).",
        epilog=RECORD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _root_arg(p)
    p.add_argument("-o", "--output", metavar="FILE", required=True, help="the recording to write")
    p.add_argument("--interval", metavar="S", default="1.0", help="seconds between samples (1.0)")
    p.add_argument(
        "--duration",
        metavar="D",
        help="stop after D: seconds, or 90s, 5m, 1h (default: until stopped)",
    )
    p.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=300,
        help="processes kept per frame, 0 for all (300)",
    )
    p.add_argument(
        "--redact", action="store_true", help="store command lines and user names hashed"
    )
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.set_defaults(func=cmd_record)

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

    p = sub.add_parser(
        "replay",
        help="the dashboard over a recording: play, pause, step, seek (no re-pinning)",
        description="Open the dashboard on FILE, drawn on the recorded machine's topology.",
    )
    p.add_argument("file", metavar="FILE", help="a recording made by `numaview record` or R")
    p.add_argument("--speed", type=float, default=1.0, help="1, 2, 10 or 60 times (default 1)")
    p.add_argument("--start", metavar="T", help="start at T: seconds from the start, or HH:MM:SS")
    p.set_defaults(func=cmd_replay)
