"""``numaview replay``: the dashboard over a recording, drawn on the recorded machine."""

from __future__ import annotations

import argparse

from numaview.cli.common import CliError, UsageError
from numaview.cli.dashboard import run_ui


def cmd_replay(args: argparse.Namespace) -> int:
    """The dashboard over a recording: the recorded machine's topology, no re-pinning."""
    from numaview.record.format import RecordingError
    from numaview.record.reader import Reader
    from numaview.record.replay import SPEEDS, parse_when
    from numaview.stream import factories

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
    return run_ui(factories.replay(reader, speed=args.speed, start=start))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay",
        help="the dashboard over a recording: play, pause, step, seek (no re-pinning)",
        description="Open the dashboard on FILE, drawn on the recorded machine's topology.",
    )
    p.add_argument("file", metavar="FILE", help="a recording made by `numaview record` or R")
    p.add_argument("--speed", type=float, default=1.0, help="1, 2, 10 or 60 times (default 1)")
    p.add_argument("--start", metavar="T", help="start at T: seconds from the start, or HH:MM:SS")
    p.set_defaults(func=cmd_replay)
