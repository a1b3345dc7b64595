"""``numaview record``: sample the machine into a recording, headless, until stopped."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from numaview.cli.common import (
    EXIT_OK,
    CliError,
    UsageError,
    discover_or_fail,
    interval_arg,
    root_arg,
)
from numaview.cli.workload_args import add_workload_args, windows_arg, workload_hub
from numaview.render import units

if TYPE_CHECKING:
    from numaview.stream.monitor import Monitor
    from numaview.stream.ticker import Sampling

DURATION_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

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


def cmd_record(args: argparse.Namespace) -> int:
    from numaview.record.format import RecordingError
    from numaview.sampler.sampler import Sampler, SamplerOptions
    from numaview.stream.factories import for_source
    from numaview.stream.source import ManualSource
    from numaview.stream.ticker import FIRST_GAP_S, next_tick

    interval = interval_arg(args.interval)
    try:
        duration = None if args.duration is None else parse_duration(args.duration)
    except ValueError:
        raise UsageError(
            f"--duration {args.duration}: must be seconds or a number with s, m, h or d (90s, 5m, 1h)"
        ) from None
    if args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    out = Path(args.output)
    if out.exists() and not args.force:
        raise CliError(f"{out}: already exists; --force overwrites it")
    hub = None if args.simulated else workload_hub(args, args.root, interval)
    stop = threading.Event()
    sampler: Sampling
    clock: Callable[[], float] = time.monotonic
    wait: Callable[[float], bool] = stop.wait
    if args.simulated:  # the demo's machine on a clock that passes only when waited on
        from numaview.demo.machine import SimulatedSampler
        from numaview.render.report import StepClock

        step = StepClock()
        sampler, clock = SimulatedSampler(seed=7, clock=step), step

        def wait(seconds: float) -> bool:
            step.sleep(seconds)
            return stop.is_set()
    else:
        topo = discover_or_fail(args.root)
        sampler = Sampler(args.root, topo, SamplerOptions(top_n=args.top))
    if args.force:
        for p in (out, Path(f"{out}-wal"), Path(f"{out}-shm")):
            p.unlink(missing_ok=True)
    # The dashboard's pipeline, inline: the same detectors, so the file gets the
    # same finding events as a recording made with R.
    source = ManualSource(sampler, kind="live", interval_s=interval)
    monitor = for_source(source, threaded=False, workload=hub, windows=windows_arg(args))
    monitor.start(lambda bundle: None)  # the file is what it makes

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    tty = sys.stdout.isatty()
    try:
        meta = {"top_n": args.top, "root": args.root, "duration_s": duration}
        monitor.start_recording(str(out), meta, redact=args.redact)
        rec = monitor.recording
        assert rec is not None
        try:
            start = clock()
            k, due = 0, start + min(FIRST_GAP_S, interval)  # the first frame is a baseline
            while True:
                try:
                    source.push()
                except Exception as exc:  # a sampling error is recorded, not fatal
                    monitor.note_error(f"{type(exc).__name__}: {exc}")
                if monitor.recording is None:  # disk full, file removed: the event says why
                    raise RecordingError(_why_stopped(monitor) or f"{out}: recording stopped")
                now = clock()
                if tty:
                    size = units.size(rec.size_bytes())
                    sys.stdout.write(
                        f"\rrecording {out}: {now - start:.0f} s, {rec.writer.frames} frames, {size}  "
                    )
                    sys.stdout.flush()
                if rec.writer.frames > 1 or k > 0:
                    k, due = next_tick(start, k, interval, now)
                if duration is not None and due - start > duration + 1e-9:
                    break
                if wait(max(due - now, 0.0)):
                    break
        finally:
            monitor.stop()  # closes the file
            if tty:
                sys.stdout.write("\n")
    except RecordingError as exc:
        raise CliError(str(exc)) from None
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    return EXIT_OK


def _why_stopped(monitor: Monitor) -> str | None:
    b = monitor.latest
    events = b.events if b is not None else ()
    return next((e.text for e in reversed(events) if e.kind == "recording-error"), None)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "record",
        help="sample the machine into a recording file, headless, until stopped",
        description="Sample every --interval seconds and append each frame to FILE (SQLite).",
        epilog=RECORD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root_arg(p)
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
    add_workload_args(p)
    p.add_argument(
        "--simulated",
        action="store_true",
        help="record the demo's simulated 128-CPU machine, on a simulated clock (no waiting)",
    )
    p.set_defaults(func=cmd_record)
