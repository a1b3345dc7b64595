"""The ``numaview`` command line: one module per command in this package, put together here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from numaview import __version__
from numaview.cli import (
    compare,
    dashboard,
    diagnose,
    export,
    pin,
    plan,
    record,
    replay,
    snapshot,
    stacks,
    topology,
)
from numaview.cli.common import EXIT_OK, EXIT_USAGE, CliError, root_arg, ui_args
from numaview.cli.workload_args import add_workload_args

COMMANDS = (
    topology,
    snapshot,
    diagnose,
    pin,
    plan,
    record,
    export,
    replay,
    compare,
    stacks,
    dashboard,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numaview",
        description="Live view of cores, NUMA nodes and processes; re-pin with a keypress.",
    )
    parser.add_argument("--version", action="version", version=f"numaview {__version__}")
    root_arg(parser)
    ui_args(parser)
    add_workload_args(parser)
    parser.set_defaults(func=dashboard.cmd_dashboard)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, errors exit 2
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except CliError as exc:
        print(f"numaview: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `numaview topology | head`: quietly stop, like coreutils do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
