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
from typing import TYPE_CHECKING

from numaview import __version__
from numaview.cli_diagnose import add_diagnose_parser
from numaview.cli_pin import add_pin_parser
from numaview.cli_record import add_record_parser
from numaview.cli_stacks import add_stacks_parser

if TYPE_CHECKING:
    from numaview.pinning.apply import Pinner
    from numaview.sampler.sampler import SamplerOptions
    from numaview.sampler.source import FrameSource

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 1  # `numaview diagnose` found something; errors say so on stderr


class CliError(Exception):
    """A failure to report as one line and exit 1."""

    exit_code = EXIT_FAIL


class UsageError(CliError):
    """A bad argument value argparse cannot check: one line, exit 2."""

    exit_code = EXIT_USAGE


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


INTERVAL_MIN_S = 0.1
INTERVAL_MAX_S = 60.0
SNAPSHOT_ROWS = 20  # process rows in text unless --top says otherwise
SNAPSHOT_TOP_N = 300  # processes the sampler keeps unless --top says otherwise


def _seconds(option: str, text: str, lo: float, hi: float, lo_open: bool = False) -> float:
    # Checked here rather than by argparse, whose errors are two lines (usage + error).
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (lo < value if lo_open else lo <= value) or not value <= hi:  # also rejects nan
        what = f"more than {lo:g} and at most {hi:g}" if lo_open else f"from {lo:g} to {hi:g}"
        raise UsageError(f"{option} {text}: must be a number of seconds {what}")
    return value


def _interval(text: str) -> float:
    return _seconds("--interval", text, INTERVAL_MIN_S, INTERVAL_MAX_S)


def cmd_snapshot(args: argparse.Namespace) -> int:
    import time

    from numaview.model.snapshot_text import render_snapshot
    from numaview.sampler.sampler import Sampler, SamplerOptions
    from numaview.sampler.sysfs import TopologyError, discover

    interval = _interval(args.interval)
    if args.top is not None and args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    _check_root(args.root)
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    top_n = SNAPSHOT_TOP_N if args.top is None else args.top
    # Two ticks only: re-read every kept process's status on the second one, or
    # the processes that did not run would have no context-switch rates at all.
    options = SamplerOptions(top_n=top_n, refresh_every=1)
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


def _sampler_options(args: argparse.Namespace) -> SamplerOptions:
    from numaview.sampler.sampler import SamplerOptions

    if args.top < 0:
        raise UsageError(f"--top {args.top}: must be 0 (all) or more")
    if args.numa_k < 0:
        raise UsageError(f"--numa-k {args.numa_k}: must be 0 (off) or more")
    if not args.numa_every > 0:
        raise UsageError(f"--numa-every {args.numa_every}: must be a positive number of seconds")
    return SamplerOptions(top_n=args.top, numa_k=args.numa_k, numa_every_s=args.numa_every)


def trust_the_terminal(environ: dict[str, str] | os._Environ[str], fd: int = 1) -> bool:
    """Drop COLUMNS and LINES when ``fd`` is a terminal that can say its own size.

    Textual sizes the screen with shutil.get_terminal_size(), which believes
    those variables before the terminal, on start and on every resize. A
    shell or a CI runner that exported them (bash does, in some setups: 80×24)
    would freeze the dashboard at that size, deaf to resizes. True if dropped.
    """
    if "COLUMNS" not in environ and "LINES" not in environ:
        return False
    try:
        os.get_terminal_size(fd)
    except OSError:
        return False  # not a terminal: the variables are all there is
    environ.pop("COLUMNS", None)
    environ.pop("LINES", None)
    return True


def _run_ui(source: FrameSource, pinner: Pinner | None) -> int:
    from numaview.tui.app import make_app

    trust_the_terminal(os.environ)
    app = make_app(source, pinner=pinner)
    code = app.run()
    return EXIT_OK if code is None else int(code)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from numaview.sampler.sampler import Sampler
    from numaview.sampler.source import SampledSource
    from numaview.sampler.sysfs import TopologyError, discover

    interval = _interval(args.interval)
    options = _sampler_options(args)
    _check_root(args.root)
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    from numaview.pinning.apply import LivePinner

    source = SampledSource(Sampler(args.root, topo, options), interval, kind="live")
    from numaview.pinning.undo_store import UndoStore

    # The same undo files as `numaview pin`: a pin made here can be undone there.
    return _run_ui(source, LivePinner(args.root, store=UndoStore(root=args.root)))


def cmd_demo(args: argparse.Namespace) -> int:
    from numaview.pinning.simulated import SimulatedPinner
    from numaview.sampler.simulated import SimulatedSampler
    from numaview.sampler.source import SampledSource

    interval = _interval(args.interval)
    sim = SimulatedSampler(seed=args.seed)
    source = SampledSource(sim, interval, kind="simulated")
    return _run_ui(source, SimulatedPinner(sim))


def _ui_args(p: argparse.ArgumentParser) -> None:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="numaview",
        description="Live view of cores, NUMA nodes and processes; re-pin with a keypress.",
    )
    parser.add_argument("--version", action="version", version=f"numaview {__version__}")
    _root_arg(parser)
    _ui_args(parser)
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

    p = sub.add_parser(
        "snapshot",
        help="sample twice, one interval apart, and print one frame (like top's --once)",
        description="Read the machine twice, S seconds apart, and print per-node,"
        " per-CPU and per-process use over that interval as plain text or JSON.",
    )
    _root_arg(p)
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

    add_diagnose_parser(sub)
    add_pin_parser(sub)
    add_record_parser(sub)
    add_stacks_parser(sub)

    p = sub.add_parser(
        "demo",
        help="the dashboard on a simulated 128-CPU, 4-node machine running a leaky load test",
        description="Open the dashboard on a simulated 2-socket, 4-node, 128-CPU machine"
        " (labelled SIMULATED) whose scripted load test shows every kind of leak.",
    )
    p.add_argument("--interval", metavar="S", default="1.0", help="seconds between frames")
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.set_defaults(func=cmd_demo)
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
