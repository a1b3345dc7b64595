"""``numaview diagnose``: sample for a while, run the leak detectors, print what was found.

Its own module to keep cli.py under its size limit (cli.py imports this one at
its top, so this one imports cli.py's helpers only inside its functions).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.render.report import RunLog, WorkloadFigures
    from numaview.stream.ticker import Sampling

DURATION_MAX_S = 3600.0  # and --raise-after / --clear-after


def cmd_diagnose(args: argparse.Namespace) -> int:
    """Exit 1 on findings, so CI can gate on it; errors (also 1) are told apart by stderr."""
    import time

    from numaview.cli.common import (
        EXIT_FINDINGS,
        EXIT_OK,
        CliError,
        check_root,
        interval_arg,
        seconds,
    )
    from numaview.cli.workload_args import workload_hub
    from numaview.diagnose.findings import Thresholds
    from numaview.render.report import RunLog, StepClock, render_text, run, to_json, too_short
    from numaview.stream.factories import for_source
    from numaview.stream.source import ManualSource

    interval = interval_arg(args.interval)
    duration = seconds("--duration", args.duration, 0.0, DURATION_MAX_S, lo_open=True)
    thresholds = Thresholds(
        raise_after_s=seconds("--raise-after", args.raise_after, 0.0, DURATION_MAX_S),
        clear_after_s=seconds("--clear-after", args.clear_after, 0.0, DURATION_MAX_S),
    )
    hub = None if args.simulated else workload_hub(args, args.root, interval)
    sampler: Sampling
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    if args.simulated:
        from numaview.demo.machine import SimulatedSampler

        step = StepClock()
        sampler, clock, sleep = SimulatedSampler(seed=7, clock=step), step, step.sleep
    else:
        from numaview.linux.sysfs import TopologyError, discover
        from numaview.sampler.sampler import Sampler

        check_root(args.root)
        try:
            live = Sampler(args.root, discover(args.root))
        except TopologyError as exc:
            raise CliError(str(exc)) from None
        sampler, clock = live, live.clock
    warning = too_short(duration, interval, thresholds)
    if warning:
        print(f"numaview: warning: {warning}", file=sys.stderr)
    # The dashboard's pipeline, inline: every frame through the same Monitor.
    source = ManualSource(sampler, kind="headless", interval_s=interval)
    monitor = for_source(source, thresholds=thresholds, threaded=False, workload=hub)
    log = RunLog()
    monitor.start(lambda b: log.add(b.frame, b.findings) if b.frame is not None else None)
    log.interrupted = run(source.push, clock, duration, interval, sleep)
    monitor.stop()
    diagnoser, topo = monitor.diagnoser, sampler.topology
    if log.interrupted:
        print(f"numaview: interrupted at {log.duration_s:g} s; reporting so far", file=sys.stderr)
    host = topo.host.hostname
    load = run_figures(log)
    if args.json:
        print(json.dumps(to_json(log, diagnoser.ever, host, load), indent=1))
    else:
        label = f"{host} (simulated)" if args.simulated else host
        print(render_text(log, diagnoser.ever, topo, label, load))
    return EXIT_FINDINGS if diagnoser.ever else EXIT_OK


def run_figures(log: RunLog) -> list[WorkloadFigures]:
    """Each workload source's figures from its first to its newest good sample."""
    from numaview.render.report import WorkloadFigures
    from numaview.workload.figures import figures_between

    out = []
    for src in {**log.workload_first, **dict.fromkeys(log.workload_errors)}:
        first, last = log.workload_first.get(src), log.workload_last.get(src)
        if first is None or last is None or first.mono is None or last.mono is None:
            out.append(WorkloadFigures(src, "", None, 0.0, {}, log.workload_errors.get(src)))
            continue
        figs = figures_between(first, last) if last.mono > first.mono else dict(last.figures)
        out.append(
            WorkloadFigures(
                src,
                last.server,
                last.pid,
                round(last.mono - first.mono, 1),
                figs,
                log.workload_errors.get(src),
            )
        )
    return out


DIAGNOSE_EPILOG = """\
exit status:
  0  no findings
  1  findings were raised; or numaview could not run (a bad --root, say): then,
     and only then, stderr has a line starting "numaview: error:"
  2  bad arguments
Ctrl+C stops the run early and prints what was found so far.

--simulated: try the detectors without a leaky machine: the simulated 128-CPU,
4-node machine of `numaview demo` (seed 7), on a fake clock that moves on by
--interval per frame without sleeping, so `numaview diagnose --simulated
--duration 12` takes well under a second and raises all seven kinds.
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from numaview.cli.common import INTERVAL_MAX_S, INTERVAL_MIN_S, root_arg
    from numaview.diagnose.findings import Thresholds  # plain data: cheap, no textual

    base = Thresholds()
    p = sub.add_parser(
        "diagnose",
        help="sample for a while and print the placement leaks found (exit 1 if any)",
        description="Sample the machine every --interval seconds for --duration seconds, run the\n"
        "leak detectors on every frame, and print each finding raised during the run,\n"
        "most severe first: the evidence, why it costs, and a re-pin that would fix it.",
        epilog=DIAGNOSE_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    root_arg(p)
    p.add_argument(
        "--duration",
        metavar="S",
        default="10",
        help=f"seconds to sample, more than 0 and at most {DURATION_MAX_S:g} (default 10);"
        " a finding needs --raise-after plus two intervals to be raised",
    )
    p.add_argument(
        "--interval",
        metavar="S",
        default="1.0",
        help=f"seconds between samples, {INTERVAL_MIN_S:g} to {INTERVAL_MAX_S:g} (default 1.0)",
    )
    p.add_argument(
        "--raise-after",
        metavar="S",
        default=repr(base.raise_after_s),
        help=f"a finding must hold this long to be raised (default {base.raise_after_s:g})",
    )
    p.add_argument(
        "--clear-after",
        metavar="S",
        default=repr(base.clear_after_s),
        help=f"and be gone this long to be cleared (default {base.clear_after_s:g})",
    )
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    from numaview.cli.workload_args import add_workload_args

    add_workload_args(p, windows=False)
    p.add_argument(
        "--simulated",
        action="store_true",
        help="try the detectors without a leaky machine: the simulated machine of"
        " `numaview demo` on a fake clock, instant (ignores --root)",
    )
    p.set_defaults(func=cmd_diagnose)
