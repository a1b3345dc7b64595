"""``numaview pin``: the dashboard's re-pin as a command, for scripts and for machines without a UI.

Its own module because cli.py is at its size limit (cli.py imports this module
at its top, so this one imports cli.py's helpers only inside its functions).
The rules are cli.py's: one-line errors, exit 1 for "could not do it", exit 2
for bad arguments. A target that does not exist here (``--node 7`` on a one-node machine) is a bad
argument, exactly as if argparse had caught it: the PinError reason
``bad-target`` maps to 2, every other reason (gone, permission, kernel,
einval, offline, failed) to 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.cli.common import CliError
    from numaview.model.topology import Topology
    from numaview.model.workload import Comparison
    from numaview.pinning.apply import PinEvent
    from numaview.pinning.plan import PinError, Target
    from numaview.workload.hub import WorkloadHub

SHOWN_TIDS = 8  # thread ids listed per line before "+N more"

PIN_EPILOG = """\
Every thread of PID is set (psutil's cpu_affinity() sets only the main one),
the thread list is walked again for threads created meanwhile, and each mask
is read back; if any thread cannot be set, the ones already changed get their
old masks back and nothing is left half-done.

--undo puts back each thread's exact previous mask, also from a later run:
each pin saves them in $XDG_RUNTIME_DIR/numaview/undo-PID-STARTTIME.json
(else ~/.cache/numaview/), mode 0600, removed once undone. Pins stack: each
--undo takes back the latest.

--move-memory also moves the process's pages to the target's nodes
(migrate_pages(2)). If that fails the CPU pin stands (undo it with --undo),
the output says "memory not moved: ...", and the exit status is 1.

FSROOT/proc must be this machine's /proc (a container's view of the host, say):
the kernel calls act on the thread ids read there.

exit status:
  0  done (or, with --dry-run, would be done)
  1  refused or failed: the process is gone, a kernel thread, another user's
     (needs CAP_SYS_NICE), outside its cpuset; or memory could not be moved
  2  bad arguments, including a target this machine does not have (--node 7),
     and --undo with nothing to undo
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from numaview.cli.common import root_arg
    from numaview.cli.workload_args import add_workload_args

    p = sub.add_parser(
        "pin",
        help="re-pin every thread of a process to a node, L3, package or CPU list (or undo)",
        description="Set the CPU affinity of every thread of PID, verify it, and keep the old\n"
        "masks for --undo; optionally move its memory to the target's nodes.",
        epilog=PIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("pid", metavar="PID", type=int, help="the process to move")
    target = p.add_argument_group("target (exactly one)").add_mutually_exclusive_group(
        required=True
    )
    target.add_argument("--node", metavar="N", type=int, help="the CPUs of NUMA node N")
    target.add_argument("--l3", metavar="N", type=int, help="the CPUs sharing L3 domain N")
    target.add_argument("--package", metavar="N", type=int, help="the CPUs of package N")
    target.add_argument(
        "--gpu", metavar="K", type=int, help="the CPUs of the node GPU K hangs off (near it)"
    )
    target.add_argument("--cpus", metavar="LIST", help="a CPU list such as 0-3,8 or 0-31:2/4")
    target.add_argument(
        "--spread", action="store_true", help="every online CPU: let the scheduler spread it"
    )
    target.add_argument(
        "--undo", action="store_true", help="restore each thread's mask from before the last pin"
    )
    p.add_argument(
        "--move-memory",
        action="store_true",
        help="also move its pages to the target's nodes (migrate_pages)",
    )
    p.add_argument("--dry-run", action="store_true", help="change nothing; say what would move")
    p.add_argument("--json", action="store_true", help="print the pin event as JSON")
    p.add_argument(
        "--measure",
        metavar="S",
        help="with --metrics/--k6/--locust: measure S s before and after the pin (after"
        " --settle) and print the comparison",
    )
    p.add_argument("--settle", metavar="S", default="5", help="seconds after the pin not measured")
    add_workload_args(p, windows=False)
    root_arg(p)
    p.set_defaults(func=cmd_pin)


def _target(args: argparse.Namespace, topo: Topology) -> Target:
    from numaview.pinning import plan

    if args.undo:
        return plan.undo_target()
    if args.spread:
        return plan.spread_target(topo)
    if args.cpus is not None:
        return plan.cpus_target(topo, args.cpus)
    if args.node is not None:
        return plan.node_target(topo, args.node)
    if args.l3 is not None:
        return plan.l3_target(topo, args.l3)
    if args.gpu is not None:
        return plan.gpu_target(topo, args.gpu)
    return plan.package_target(topo, args.package)


def _error(exc: PinError) -> CliError:
    from numaview.cli.common import CliError, UsageError

    return UsageError(str(exc)) if exc.reason == "bad-target" else CliError(str(exc))


def thread_lines(event: PinEvent) -> list[str]:
    """One line per distinct (before, after): 300 threads usually share two or three masks."""
    from numaview.model.cpuset import format_cpulist

    groups: dict[tuple[tuple[int, ...], tuple[int, ...]], list[int]] = {}
    for t in event.threads:
        groups.setdefault((t.before, t.after), []).append(t.tid)
    lines = []
    for (before, after), tids in sorted(groups.items(), key=lambda g: min(g[1])):
        tids.sort()
        shown = ",".join(map(str, tids[:SHOWN_TIDS]))
        if len(tids) > SHOWN_TIDS:
            shown += f" (+{len(tids) - SHOWN_TIDS} more)"
        word = "thread" if len(tids) == 1 else "threads"
        lines.append(f"  {word} {shown}: {format_cpulist(before)} → {format_cpulist(after)}")
    return lines


def _measure_args(args: argparse.Namespace) -> tuple[WorkloadHub | None, float, float]:
    from numaview.cli.common import UsageError, seconds
    from numaview.cli.workload_args import workload_hub

    if args.measure is None:  # a config file's sources are for --measure only
        if args.metrics or args.k6 or args.locust:
            raise UsageError("--metrics (or --k6, --locust) with pin needs --measure S")
        return None, 0.0, 0.0
    hub = workload_hub(args, args.root, 1.0)
    if hub is None:
        raise UsageError("--measure needs --metrics URL (or --k6, --locust)")
    if args.dry_run:
        raise UsageError("--measure and --dry-run: nothing would move to measure")
    measure_s = seconds("--measure", args.measure, 1.0, 3600.0)
    return hub, measure_s, seconds("--settle", args.settle, 0.0, 600.0)


def cmd_pin(args: argparse.Namespace) -> int:
    from numaview.cli.common import EXIT_OK, CliError, UsageError, check_root
    from numaview.linux.sysfs import TopologyError, discover
    from numaview.pinning.apply import LivePinner
    from numaview.pinning.plan import PinError
    from numaview.pinning.undo_store import UndoStore

    if args.pid <= 0:
        raise UsageError(f"PID {args.pid}: must be a process id (1 or more)")
    check_root(args.root)
    try:
        target = _target(args, discover(args.root))
    except TopologyError as exc:
        raise CliError(str(exc)) from None
    except PinError as exc:
        raise _error(exc) from None
    pinner = LivePinner(args.root, store=UndoStore(root=args.root))
    hub, measure_s, settle_s = _measure_args(args)

    def pin() -> PinEvent:
        try:
            return pinner.apply(args.pid, target, args.move_memory, args.dry_run)
        except PinError as exc:
            raise _error(exc) from None
        except OSError as exc:  # a race the pinner did not foresee: still one line
            raise CliError(f"pid {args.pid}: {exc.strerror or exc}") from None

    comparisons: list[Comparison] = []
    if hub is None:
        event = pin()
    else:
        from numaview.cli.measure import measure_around

        done: list[PinEvent] = []

        def act() -> str:
            done.append(pin())
            return done[0].summary()

        comparisons = measure_around(hub, measure_s, settle_s, act)
        event = done[0]
    if args.json:
        out = event.to_dict()
        if hub is not None:
            out["comparisons"] = [c.to_dict() for c in comparisons]
        print(json.dumps(out, indent=1))
    else:
        print(event.summary())
        print("\n".join(thread_lines(event)))
        if hub is not None:
            from numaview.render.workload import comparison_text

            for c in comparisons:
                print()
                print(comparison_text(c))
    sys.stdout.flush()
    if event.memory is not None and event.memory.error:
        raise CliError(
            f"pid {args.pid}: CPUs pinned, but memory not moved: {event.memory.error}"
            f" (`numaview pin {args.pid} --undo` puts the CPUs back)"
        )
    return EXIT_OK
