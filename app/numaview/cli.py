"""The ``numaview`` command line.

Headless commands never import textual; errors are one line on stderr and a
non-zero exit (1: could not do it, 2: bad arguments), never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

from numaview import __version__

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A failure to report as one line and exit 1."""


def _root_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--root",
        metavar="FSROOT",
        default=os.environ.get("NUMAVIEW_FSROOT", "/"),
        help="read FSROOT/sys and FSROOT/proc instead of the live machine's"
        " (default: / or $NUMAVIEW_FSROOT)",
    )


def _check_root(root: str) -> None:
    if not os.path.isdir(root):
        raise CliError(f"--root {root}: not a directory")


def cmd_topology(args: argparse.Namespace) -> int:
    from numaview.model.describe import render_tree
    from numaview.sampler.sysfs import TopologyError, discover

    _check_root(args.root)
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        json.dump(topo.to_dict(), sys.stdout, indent=None if args.compact else 1)
        sys.stdout.write("\n")
    else:
        print(render_tree(topo))
        if topo.warnings:
            print(f"numaview: {len(topo.warnings)} warning(s) above", file=sys.stderr)
    return EXIT_OK


def cmd_dashboard(args: argparse.Namespace) -> int:
    # The live dashboard arrives with issue 4; until then show what we know.
    print(
        "numaview: the live dashboard is not built yet; showing the topology"
        " (numaview --help lists the commands)",
        file=sys.stderr,
    )
    args.json = False
    args.compact = False
    return cmd_topology(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numaview",
        description="Live view of cores, NUMA nodes and processes; re-pin with a keypress.",
    )
    parser.add_argument("--version", action="version", version=f"numaview {__version__}")
    _root_arg(parser)
    parser.set_defaults(func=cmd_dashboard)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser(
        "topology",
        help="print the hardware topology (packages, nodes, L3, cores, SMT)",
        description="Discover packages, NUMA nodes, caches, cores and SMT siblings"
        " from FSROOT/sys and FSROOT/proc.",
    )
    _root_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    p.add_argument("--compact", action="store_true", help="with --json: one line")
    p.set_defaults(func=cmd_topology)
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
        return EXIT_FAIL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `numaview topology | head`: quietly stop, like coreutils do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
