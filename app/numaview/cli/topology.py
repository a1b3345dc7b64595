"""``numaview topology``: the machine's packages, nodes, caches, cores and SMT, as a tree or JSON."""

from __future__ import annotations

import argparse
import json
import sys

from numaview.cli.common import EXIT_OK, CliError, check_root, root_arg


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "topology",
        help="print the hardware topology (packages, nodes, L3, cores, SMT)",
        description="Discover packages, NUMA nodes, caches, cores and SMT siblings"
        " from FSROOT/sys and FSROOT/proc.",
    )
    root_arg(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a tree")
    p.add_argument("--compact", action="store_true", help="with --json: one line")
    p.set_defaults(func=cmd_topology)


def cmd_topology(args: argparse.Namespace) -> int:
    from numaview.linux.sysfs import TopologyError, discover
    from numaview.render.describe import render_tree

    check_root(args.root)
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
