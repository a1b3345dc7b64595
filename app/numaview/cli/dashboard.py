"""The dashboard commands: ``numaview`` (live) and ``numaview demo`` (the simulated machine).

textual is imported only inside ``run_ui``, so headless commands never load it.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from numaview.cli.common import EXIT_OK, CliError, check_root, interval_arg, sampler_options

if TYPE_CHECKING:
    from numaview.pinning.apply import Pinner
    from numaview.stream.source import FrameSource


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="the dashboard on a simulated 128-CPU, 4-node machine running a leaky load test",
        description="Open the dashboard on a simulated 2-socket, 4-node, 128-CPU machine"
        " (labelled SIMULATED) whose scripted load test shows every kind of leak.",
    )
    p.add_argument("--interval", metavar="S", default="1.0", help="seconds between frames")
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.set_defaults(func=cmd_demo)


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


def run_ui(source: FrameSource, pinner: Pinner | None) -> int:
    from numaview.tui.app import make_app

    trust_the_terminal(os.environ)
    app = make_app(source, pinner=pinner)
    code = app.run()
    return EXIT_OK if code is None else int(code)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from numaview.linux.sysfs import TopologyError, discover
    from numaview.sampler.sampler import Sampler
    from numaview.stream.source import SampledSource

    interval = interval_arg(args.interval)
    options = sampler_options(args)
    check_root(args.root)
    try:
        topo = discover(args.root)
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    from numaview.pinning.apply import LivePinner

    source = SampledSource(Sampler(args.root, topo, options), interval, kind="live")
    from numaview.pinning.undo_store import UndoStore

    # The same undo files as `numaview pin`: a pin made here can be undone there.
    return run_ui(source, LivePinner(args.root, store=UndoStore(root=args.root)))


def cmd_demo(args: argparse.Namespace) -> int:
    from numaview.demo.machine import SimulatedSampler
    from numaview.demo.pinner import SimulatedPinner
    from numaview.stream.source import SampledSource

    interval = interval_arg(args.interval)
    sim = SimulatedSampler(seed=args.seed)
    source = SampledSource(sim, interval, kind="simulated")
    return run_ui(source, SimulatedPinner(sim))
