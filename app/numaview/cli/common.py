"""What every ``numaview`` command shares: exit codes, one-line errors, common arguments.

The rules: errors are one line on stderr and a non-zero exit (1: could not do
it, 2: bad arguments), never a traceback; headless commands never import
textual. Each command is a module of this package with ``add_parser(sub)``;
``parser.py`` puts them together. This module imports no command.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.model.topology import Topology
    from numaview.sampler.sampler import SamplerOptions

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 1  # `numaview diagnose` found something; errors say so on stderr
INTERVAL_MIN_S = 0.1
INTERVAL_MAX_S = 60.0


class CliError(Exception):
    """A failure to report as one line and exit 1."""

    exit_code = EXIT_FAIL


class UsageError(CliError):
    """A bad argument value argparse cannot check: one line, exit 2."""

    exit_code = EXIT_USAGE


def root_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="FSROOT",
        default=os.environ.get("NUMAVIEW_FSROOT", "/"),
        help="read FSROOT/sys and FSROOT/proc instead of the live machine's"
        " (default: / or $NUMAVIEW_FSROOT)",
    )


def check_root(root: str) -> None:
    if not os.path.isdir(root):
        raise CliError(f"--root {root}: not a directory")


def discover_or_fail(root: str) -> Topology:
    """The machine's topology under ``root``, or a one-line CliError saying why not."""
    from numaview.linux.sysfs import TopologyError, discover

    check_root(root)
    try:
        return discover(root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None


def seconds(option: str, text: str, lo: float, hi: float, lo_open: bool = False) -> float:
    # Checked here rather than by argparse, whose errors are two lines (usage + error).
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (lo < value if lo_open else lo <= value) or not value <= hi:  # also rejects nan
        what = f"more than {lo:g} and at most {hi:g}" if lo_open else f"from {lo:g} to {hi:g}"
        raise UsageError(f"{option} {text}: must be a number of seconds {what}")
    return value


def interval_arg(text: str) -> float:
    return seconds("--interval", text, INTERVAL_MIN_S, INTERVAL_MAX_S)


def sampler_options(args: argparse.Namespace) -> SamplerOptions:
    from numaview.sampler.sampler import SamplerOptions

    if args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    if args.numa_k < 0:
        raise UsageError(f"--numa-k {args.numa_k}: must be 0 (off) or more")
    if not args.numa_every > 0:
        raise UsageError(f"--numa-every {args.numa_every}: must be a positive number of seconds")
    return SamplerOptions(top_n=args.top, numa_k=args.numa_k, numa_every_s=args.numa_every)


def ui_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--interval",
        metavar="S",
        default="1.0",
        help="seconds between samples, 0.1 to 60 (default 1.0; + and - change it live)",
    )
    p.add_argument(
        "--top",
        metavar="N",
        type=int,
        default=300,
        help="processes kept per sample, the busiest first; 0 for all (default 300)",
    )
    p.add_argument(
        "--numa-k",
        metavar="K",
        type=int,
        default=10,
        help="read memory per node (numa_maps) of the K largest processes;"
        " 0 turns it off (default 10)",
    )
    p.add_argument(
        "--numa-every",
        metavar="S",
        type=float,
        default=10.0,
        help="read each of those at most every S seconds: reading numa_maps walks"
        " the process's page tables and can stall it briefly (default 10)",
    )
