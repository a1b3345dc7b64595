"""The dashboard commands: ``numaview`` (live) and ``numaview demo`` (the simulated machine).

textual is imported only inside ``run_ui``, so headless commands never load it.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from numaview.cli.common import EXIT_OK, discover_or_fail, interval_arg, sampler_options
from numaview.cli.workload_args import windows_arg, workload_hub

if TYPE_CHECKING:
    from numaview.stream.monitor import Monitor


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="the dashboard on a simulated 128-CPU, 4-node machine running a leaky load test",
        description="Open the dashboard on a simulated 2-socket, 4-node, 128-CPU machine"
        " (labelled SIMULATED) whose scripted load test shows every kind of leak.",
    )
    p.add_argument("--interval", metavar="S", default="1.0", help="seconds between frames")
    p.add_argument("--seed", type=int, default=7, help="scenario seed (default 7)")
    p.add_argument(
        "--compare-window", metavar="S", default="30", help="seconds measured around a pin (30)"
    )
    p.add_argument("--settle", metavar="S", default="5", help="seconds after a pin not measured")
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


def run_ui(monitor: Monitor) -> int:
    from numaview.tui.app import make_app

    trust_the_terminal(os.environ)
    app = make_app(monitor)
    code = app.run()
    return EXIT_OK if code is None else int(code)


def cmd_dashboard(args: argparse.Namespace) -> int:
    from numaview.stream import factories

    interval = interval_arg(args.interval)
    options = sampler_options(args)
    hub = workload_hub(args, args.root, interval)
    windows = windows_arg(args)
    topo = discover_or_fail(args.root)
    return run_ui(factories.live(args.root, topo, options, interval, hub, windows))


def cmd_demo(args: argparse.Namespace) -> int:
    from numaview.stream import factories

    return run_ui(factories.demo(args.seed, interval_arg(args.interval), windows_arg(args)))
