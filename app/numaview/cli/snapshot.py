"""``numaview snapshot``: two readings one interval apart, printed once (like top's --once)."""

from __future__ import annotations

import argparse
import json
import sys

from numaview.cli.common import (
    EXIT_OK,
    INTERVAL_MAX_S,
    INTERVAL_MIN_S,
    CliError,
    UsageError,
    check_root,
    interval_arg,
    root_arg,
)

SNAPSHOT_ROWS = 20  # process rows in text unless --top says otherwise
SNAPSHOT_TOP_N = 300  # processes the sampler keeps unless --top says otherwise


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "snapshot",
        help="sample twice, one interval apart, and print one frame (like top's --once)",
        description="Read the machine twice, S seconds apart, and print per-node,"
        " per-CPU and per-process use over that interval as plain text or JSON.",
    )
    root_arg(p)
    p.add_argument(
        "--interval",
        metavar="S",
        default="1.0",
        help=f"seconds between the two readings, {INTERVAL_MIN_S:g} to"
        f" {INTERVAL_MAX_S:g} (default 1.0)",
    )
    p.add_argument("--json", action="store_true", help="print the frame as JSON")
    p.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=None,
        help=f"keep the N busiest processes, 0 for all (default: {SNAPSHOT_TOP_N} kept,"
        f" {SNAPSHOT_ROWS} shown as text)",
    )
    p.set_defaults(func=cmd_snapshot)


def cmd_snapshot(args: argparse.Namespace) -> int:
    import time

    from numaview.linux.sysfs import TopologyError, discover
    from numaview.render.snapshot_text import render_snapshot
    from numaview.sampler.sampler import Sampler, SamplerOptions

    interval = interval_arg(args.interval)
    if args.top is not None and args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    check_root(args.root)
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    top_n = SNAPSHOT_TOP_N if args.top is None else args.top
    # Two ticks only: re-read every kept process's status on the second one, or
    # the processes that did not run would have no context-switch rates at all.
    options = SamplerOptions(top_n=top_n, refresh_every=1, thread_files=0)
    sampler = Sampler(args.root, topo, options)
    first = sampler.sample()  # rates need two readings; this one only sets the baseline
    # Rates cover start-of-tick to start-of-tick, so sleep off what the first tick took.
    time.sleep(max(0.0, first.mono + interval - sampler.clock()))
    frame = sampler.sample()
    if args.json:
        json.dump(frame.to_dict(), sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        limit = SNAPSHOT_ROWS if args.top is None else args.top
        print(render_snapshot(frame, topo, limit))
    return EXIT_OK
