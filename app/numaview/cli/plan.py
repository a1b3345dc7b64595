"""``numaview plan``: divide the machine between several processes, as one transaction.

The dashboard's P as a command. Two samples ``--interval`` apart give each
chosen process's load, threads and memory per node; the partition comes from
model/partition.py, is printed (or ``--json``), and with ``--apply`` every
thread of every process is pinned, read back, and all of them rolled back
when one fails. ``--undo`` takes the newest applied plan back, every process
to its exact previous masks, also from a later run. Exit codes are pin's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from numaview.model.frame import Frame, ProcessSample
    from numaview.pinning.apply import LivePinner
    from numaview.pinning.group import PlanEvent

PLAN_EPILOG = """\
Processes: --pids 4121,5200 or --name vllm (a substring of the name or the
command line; repeat it for several). Strategies:
  node     one NUMA node each (several per node when there are more processes
           than nodes, each a share of whole cores)
  l3       one L3 domain each (AMD CCX, Intel SNC cluster)
  package  one package (socket) each
  cores    the same number of whole cores each, inside one node where it fits
Shares are whole cores: two processes never get the two hardware threads of
one core. --housekeeping N keeps the first N cores (CPU 0's first) free for
the OS and interrupts. A process keeps the node or domain its memory is on
when it can (the biggest memory chooses first). A share outside a process's
cgroup cpuset is refused, and nothing is applied.

Without --apply (or --dry-run) the plan is only printed. --dry-run also
reads every thread's mask and says what would move. --apply pins every
thread of every process and reads each mask back; if any fails, the
processes already pinned get their exact previous masks back and the error
says why. --move-memory moves each one's pages to its new nodes once every
CPU pin held (migrate_pages(2)). --undo restores every process of the newest
applied plan (kept in $XDG_RUNTIME_DIR/numaview/, as pin's undo files).

exit status:
  0  done (or would be done, or printed)
  1  refused or failed (nothing left changed): a process is gone, a kernel
     thread, another user's (needs CAP_SYS_NICE), outside its cpuset
  2  bad arguments: no such strategy here, more processes than cores,
     nothing to undo
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from numaview.cli.common import root_arg
    from numaview.model.partition import STRATEGIES

    p = sub.add_parser(
        "plan",
        help="divide the machine between several processes (one node, L3 or package each)",
        description="Compute a partition of the CPUs between several processes and, with\n"
        "--apply, pin all of them as one transaction (all or none); --undo takes it back.",
        epilog=PLAN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    who = p.add_argument_group("processes (one of)").add_mutually_exclusive_group()
    who.add_argument("--pids", metavar="LIST", help="process ids, comma-separated")
    who.add_argument(
        "--name", metavar="TEXT", action="append", help="processes whose name or command has TEXT"
    )
    who.add_argument("--undo", action="store_true", help="restore every process of the last plan")
    p.add_argument(
        "--strategy",
        choices=tuple(STRATEGIES),
        help="how to divide (default: node with several nodes, else l3, else cores)",
    )
    p.add_argument("--housekeeping", metavar="N", type=int, default=0, help="cores kept free")
    p.add_argument("--move-memory", action="store_true", help="move each one's pages along")
    act = p.add_mutually_exclusive_group()
    act.add_argument("--apply", action="store_true", help="pin them all (all or nothing)")
    act.add_argument("--dry-run", action="store_true", help="check every thread, change nothing")
    p.add_argument("--json", action="store_true", help="print the plan (and result) as JSON")
    p.add_argument(
        "--interval", metavar="S", default="1", help="seconds between the two samples (load)"
    )
    root_arg(p)
    p.set_defaults(func=cmd_plan)


def _default_strategy(topo_nodes: int, l3: int) -> str:
    return "node" if topo_nodes > 1 else "l3" if l3 > 1 else "cores"


def _chosen(args: argparse.Namespace, frame: Frame) -> list[ProcessSample]:
    from numaview.cli.common import CliError, UsageError

    me = os.getpid()
    if args.pids is not None:
        try:
            pids = sorted({int(x) for x in args.pids.split(",") if x.strip()})
        except ValueError:
            raise UsageError(f"--pids {args.pids}: not a list of process ids") from None
        if not pids or min(pids) <= 0:
            raise UsageError(f"--pids {args.pids}: process ids are 1 or more")
        found = {p.pid: p for p in frame.processes}
        gone = [pid for pid in pids if pid not in found]
        if gone:
            raise CliError(f"no process {', '.join(map(str, gone))} (gone, or never was)")
        return [found[pid] for pid in pids]
    texts = args.name or []
    got = [
        p
        for p in frame.processes
        if p.pid != me
        and not p.kernel_thread
        and any(t in p.name or t in (p.cmdline or "") for t in texts)
    ]
    if not got:
        raise CliError(f"no process matches {' or '.join(map(repr, texts))}")
    return sorted(got, key=lambda p: p.pid)


def _sample(args: argparse.Namespace) -> tuple[Frame, list[ProcessSample]]:
    """Two samples ``--interval`` apart: the chosen processes with their load and memory."""
    from numaview.cli.common import interval_arg
    from numaview.sampler.sampler import Sampler, SamplerOptions

    interval = interval_arg(args.interval)
    options = SamplerOptions(
        top_n=0,
        refresh_every=1,
        numa_k=256,
        numa_per_tick=256,
        numa_budget=1.0,
        threads_top=256,
        thread_files=0,
    )
    sampler = Sampler(args.root, args.topology, options)
    first = sampler.sample()
    procs = _chosen(args, first)
    sampler.processes.restrict([p.pid for p in procs])  # the rest is not needed again
    for p in procs:
        sampler.reread(p.pid)
    time.sleep(max(0.0, first.mono + interval - sampler.clock()))
    frame = sampler.sample()
    now = {p.pid: p for p in frame.processes}
    gone = [p.pid for p in procs if p.pid not in now]
    if gone:
        from numaview.cli.common import CliError

        raise CliError(f"process {', '.join(map(str, gone))} exited while it was being sampled")
    return frame, [now[p.pid] for p in procs]


def cmd_plan(args: argparse.Namespace) -> int:
    from numaview.cli.common import EXIT_OK, CliError, UsageError, check_root, discover_or_fail
    from numaview.model.partition import Member, PartitionError, partition
    from numaview.pinning.apply import LivePinner
    from numaview.pinning.group import PlanError, apply_moves, moves_of, refusals
    from numaview.pinning.undo_store import UndoStore
    from numaview.render.partition import plan_text

    check_root(args.root)
    pinner = LivePinner(args.root, store=UndoStore(root=args.root))
    if args.undo:
        return _undo(pinner, args)
    if args.pids is None and not args.name:
        raise UsageError("choose the processes: --pids LIST or --name TEXT (or --undo)")
    if args.housekeeping < 0:
        raise UsageError(f"--housekeeping {args.housekeeping}: must be 0 or more")
    topo = args.topology = discover_or_fail(args.root)
    frame, procs = _sample(args)
    strategy = args.strategy or _default_strategy(
        sum(1 for n in topo.nodes if n.cpus), len(topo.l3)
    )
    members = [Member.of(p, allowed=pinner.cpuset(p.pid)) for p in procs]
    try:
        part = partition(
            topo,
            members,
            strategy,
            housekeeping=args.housekeeping,
            move_memory=args.move_memory,
            frame=frame,
        )
    except PartitionError as exc:
        raise UsageError(str(exc)) from None
    out: dict[str, object] = {"plan": part.to_dict()}
    if not args.json:
        print(plan_text(part, frame, topo))
    refused = refusals(part)
    if part.refused:
        _emit(args, out)
        raise CliError(f"plan refused, nothing changed: {refused}")
    if not (args.apply or args.dry_run):
        if not args.json:
            print("(nothing changed: --dry-run checks every thread, --apply applies it)")
        _emit(args, out)
        return EXIT_OK
    moves = moves_of(part)
    if not moves:
        if not args.json:
            print("every process is already where the plan puts it: nothing to do")
        _emit(args, out)
        return EXIT_OK
    try:
        event = apply_moves(pinner, moves, part.label, dry_run=args.dry_run)
    except PlanError as exc:
        _emit(args, out)
        raise (UsageError if exc.reason == "bad-target" else CliError)(str(exc)) from None
    if not args.dry_run:
        _save(pinner, event)
    out["result"] = event.to_dict()
    if not args.json:
        _print_event(event)
    _emit(args, out)
    return EXIT_OK


def _emit(args: argparse.Namespace, out: dict[str, object]) -> None:
    if args.json:
        print(json.dumps(out, indent=1))
    sys.stdout.flush()


def _print_event(event: PlanEvent) -> None:
    from numaview.cli.pin import thread_lines

    print(event.summary())
    for pin in event.pins:
        print(f" {pin.summary()}")
        print("\n".join(f" {line}" for line in thread_lines(pin)))


def _save(pinner: LivePinner, event: PlanEvent) -> None:
    """Keep the plan's members for a later ``--undo`` (their masks are in their own files)."""
    from numaview.pinning.group import members_of
    from numaview.pinning.plan import PinError

    assert pinner.store is not None
    members = []
    for m in members_of(event):
        try:
            start = pinner.identity(m.pid)[0]
        except PinError:
            continue  # exited right after its pin: nothing to restore later
        members.append((m.pid, start, m.name, m.memory_home))
    try:
        pinner.store.push_plan(event.label, members)
    except PinError as exc:
        print(f"numaview: warning: {exc}; --undo will not find this plan", file=sys.stderr)


def _undo(pinner: LivePinner, args: argparse.Namespace) -> int:
    from numaview.cli.common import EXIT_OK, CliError, UsageError
    from numaview.pinning.group import Member, PlanError, undo_plan
    from numaview.pinning.plan import PinError

    assert pinner.store is not None
    try:
        saved = pinner.store.last_plan()
    except PinError as exc:
        raise CliError(str(exc)) from None
    if saved is None:
        raise UsageError("no plan to undo")
    path, label, members = saved
    alive = []
    for pid, start, name, home in members:
        try:
            same = pinner.identity(pid)[0] == start
        except PinError:
            same = False
        if same:
            alive.append(Member(pid, name, home))
    if not alive:
        pinner.store.drop_plan(path)
        raise CliError("every process of the last plan is gone: nothing to restore")
    try:
        event = undo_plan(pinner, label, alive)
    except PlanError as exc:
        pinner.store.drop_plan(path)
        raise CliError(str(exc)) from None
    pinner.store.drop_plan(path)
    if args.json:
        print(json.dumps(event.to_dict(), indent=1))
    else:
        _print_event(event)
    if len(alive) < len(members):
        print(
            f"numaview: {len(members) - len(alive)} process(es) of the plan are gone",
            file=sys.stderr,
        )
    return EXIT_OK
