"""``numaview diagnose``: one short run of the detectors, and its report as text or JSON.

Pure (no I/O, no clock of its own): the command hands in a way to tick (the
sampler feeding a Monitor, whose bundles fill the RunLog), its clock and a way
to wait, and writes out the strings, so the simulated run (a fake clock that
never sleeps) and the live one go through the same code, and the text can be
tested on frames made up in a test.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from numaview.diagnose.findings import SEVERITIES, Finding, PinPlan, Thresholds
from numaview.model.cpuset import format_cpulist
from numaview.model.frame import Frame
from numaview.model.topology import Topology
from numaview.model.workload import FIGURES, WorkloadSample
from numaview.render.labels import affinity_label
from numaview.render.workload import figure_value

WIDTH = 100
INDENT = "  "
MORE = "    "  # continuation of a finding's first line: deeper than its body


@dataclass
class RunLog:
    """Everything about a run the Diagnoser does not keep, gathered frame by frame.

    ``Diagnoser.ever`` holds only the latest version of each finding, so
    whether it is still raised at the end, when its latest episode began and
    which process a pid was are recorded here as the frames go by (a process
    may be gone by the end). ``since`` is taken from here, not from the
    findings, so it does not depend on the engine carrying it along.
    """

    start: float | None = None  # mono of the first frame
    last: float | None = None  # mono of the newest frame
    frames: int = 0
    errors: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    names: dict[int, str] = field(default_factory=dict)
    since: dict[str, float] = field(default_factory=dict)  # key -> mono its episode began
    cleared: dict[str, float] = field(default_factory=dict)  # key -> mono it was gone
    raised: frozenset[str] = frozenset()  # keys raised after the newest frame
    interrupted: bool = False
    # each workload source's first and newest good sample: its figures over the run
    workload_first: dict[str, WorkloadSample] = field(default_factory=dict)
    workload_last: dict[str, WorkloadSample] = field(default_factory=dict)
    workload_errors: dict[str, str] = field(default_factory=dict)

    def add(self, frame: Frame, raised: Iterable[Finding]) -> None:
        """Record one frame and the findings the Diagnoser returned for it."""
        if self.start is None:
            self.start = frame.mono
        self.last = frame.mono
        self.frames += 1
        for e in frame.errors:
            self.errors.setdefault(e, None)
        for w in frame.workload:
            if w.mono is not None and w.error is None:
                self.workload_first.setdefault(w.source, w)
                self.workload_last[w.source] = w
            elif w.error is not None:
                self.workload_errors[w.source] = w.error
        now = {f.key: f for f in raised}
        for key in now.keys() - self.raised:
            self.since[key] = frame.mono
            self.cleared.pop(key, None)
        for key in self.raised - now.keys():
            self.cleared[key] = frame.mono
        self.raised = frozenset(now)
        pids = {pid for f in now.values() for pid in _pids(f)} - self.names.keys()
        if pids:
            for p in frame.processes:
                if p.pid in pids:
                    self.names[p.pid] = p.name

    @property
    def duration_s(self) -> float:
        if self.start is None or self.last is None:
            return 0.0
        return round(self.last - self.start, 3)

    def at(self, mono: float) -> float:
        """Seconds into the run: monotonic stamps mean nothing outside this process."""
        return round(mono - (self.start or 0.0), 3)

    def ordered(self, ever: Mapping[str, Finding]) -> list[Finding]:
        """Every finding raised during the run, most severe first, ``since`` in run seconds."""
        out = [
            replace(f, since=self.at(self.since[k]) if k in self.since else None)
            for k, f in ever.items()
        ]
        # Within a severity, still raised before cleared: what is wrong now comes first.
        return sorted(out, key=lambda f: (f.rank[0], f.key in self.raised, f.rank[1]), reverse=True)


class StepClock:
    """``--simulated`` time: passes only when the run waits, so waiting costs nothing."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def too_short(duration: float, interval: float, t: Thresholds) -> str | None:
    """Why a run this short may find nothing, or None: it is run anyway, the user may know."""
    # the first frame has no rates; a finding then needs raise_after_s of frames, on the grid
    need = t.raise_after_s + 2 * interval
    if duration >= need:
        return None
    return (
        f"findings need at least {need:g} s to be raised (--raise-after"
        f" {t.raise_after_s:g} + 2 intervals); --duration {duration:g} may report none"
    )


def ticks(duration: float, interval: float) -> list[float]:
    """Offsets of the samples after the first: every interval, the last one at ``duration``."""
    n = int(duration / interval + 1e-9)
    out = [i * interval for i in range(1, n + 1)]
    if duration - n * interval > 1e-6:
        out.append(duration)
    return out


def run(
    tick: Callable[[], Frame],
    clock: Callable[[], float],
    duration: float,
    interval: float,
    sleep: Callable[[float], None],
) -> bool:
    """Tick on a fixed grid from the first frame, so a slow tick does not stretch the run.

    ``tick`` samples once and hands the frame on (to the Monitor, whose
    bundles fill the RunLog). Ctrl+C ends it early, and True says so: what
    was found until then is still worth printing.
    """
    try:
        first = tick()
        for offset in ticks(duration, interval):
            sleep(max(0.0, first.mono + offset - clock()))
            tick()
    except KeyboardInterrupt:
        return True
    return False


def _pids(f: Finding) -> tuple[int, ...]:
    return (*f.pids, *(p.pid for p in f.fixes))


def to_json(
    log: RunLog,
    ever: Mapping[str, Finding],
    host: str | None,
    workload: Sequence[WorkloadFigures] = (),
) -> dict[str, Any]:
    """Findings exactly as ``Finding.to_dict`` has them, so the UI and scripts agree."""
    return {
        "findings": [f.to_dict() for f in log.ordered(ever)],
        "duration_s": log.duration_s,
        "frames": log.frames,
        "host": host,
        "errors": list(log.errors),
        "workload": [w.to_dict() for w in workload],
    }


@dataclass(frozen=True, slots=True)
class WorkloadFigures:
    """A source's figures over the whole run (``figures``: None where it could not say)."""

    source: str
    server: str
    pid: int | None
    seconds: float
    figures: Mapping[str, float | None]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "server": self.server,
            "pid": self.pid,
            "seconds": self.seconds,
            "figures": dict(self.figures),
            "error": self.error,
        }


def workload_lines(workload: Sequence[WorkloadFigures]) -> list[str]:
    lines: list[str] = []
    for w in workload:
        head = f"{w.server or '?'} ({w.source})"
        if w.pid is not None:
            head += f", pid {w.pid}"
        if w.error is not None and not any(v is not None for v in w.figures.values()):
            lines.append(f"{INDENT}{head}: no figures ({w.error})")
            continue
        lines.append(f"{INDENT}{head}, over {w.seconds:g} s:")
        shown = [
            f"{spec.label} {figure_value(spec.name, w.figures.get(spec.name))}"
            for spec in FIGURES
            if w.figures.get(spec.name) is not None
        ]
        lines += _wrap(" · ".join(shown) or "no figures", INDENT + INDENT, INDENT + INDENT)
    return lines


def _place(cpus: Sequence[int], topo: Topology) -> str:
    """Name the target the way the topology does when it can (``node 0``), with its CPUs."""
    listed = format_cpulist(cpus)
    label = affinity_label(cpus, topo)
    if label == "all":
        return f"all CPUs ({listed})"
    if label.startswith("node"):
        nodes = label[4:]
        word = "nodes" if "+" in nodes else "node"
        return f"{word} {nodes} (CPUs {listed})"
    if label.startswith("L3 "):
        return f"{label} (CPUs {listed})"
    return ""


def _move_text(plan: PinPlan, topo: Topology, names: Mapping[int, str]) -> str:
    name = names.get(plan.pid)
    who = f"pid {plan.pid}" + (f" ({name})" if name else "")
    where = _place(plan.cpus, topo)
    if not where:
        where = f"CPUs {format_cpulist(plan.cpus)}"
        # the detector's own words say why these CPUs (idle cores, one thread each)
        if plan.target and not plan.target.startswith(("node ", "nodes ")):
            where += f" ({plan.target})"
    memory = "memory moves with it" if plan.move_memory else "memory stays"
    return f"{who} to {where}, {memory}"


def fix_text(
    plan: PinPlan | None,
    topo: Topology,
    names: Mapping[int, str],
    group: Sequence[PinPlan] = (),
) -> str:
    """One sentence a person can act on (or ``numactl``/``taskset`` by hand)."""
    if group:
        moves = "; ".join(_move_text(p, topo, names) for p in group)
        return f"fix: plan, applied as one: move {moves}"
    if plan is None:
        return "fix: none"
    return f"fix: move {_move_text(plan, topo, names)}"


def _wrap(text: str, first: str, rest: str) -> list[str]:
    return textwrap.wrap(
        text,
        WIDTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_on_hyphens=False,  # keep cpu lists (0-15,64-79) and kind names whole
    )


def _status(f: Finding, log: RunLog) -> str:
    t = "?" if f.since is None else f"{f.since:g}"
    if f.key in log.raised:
        return f"raised at {t} s, still raised at the end"
    gone = log.cleared.get(f.key)
    later = f" (at {log.at(gone):g} s)" if gone is not None else ""
    return f"was raised at {t} s, cleared later{later}"


def render_finding(f: Finding, log: RunLog, topo: Topology) -> list[str]:
    """``[critical] cross-node  evidence``, then why, when, and the fix, indented."""
    lines = _wrap(f"[{f.severity}] {f.kind}  {f.evidence}", "", MORE)
    for s in f.symptoms:  # the other detectors' view of the same cause
        if s.key != f.key:
            lines += _wrap(f"also {s.kind}: {s.evidence}", INDENT, INDENT + INDENT)
    lines += _wrap(f.explanation, INDENT, INDENT)
    lines.append(INDENT + _status(f, log))
    lines += _wrap(fix_text(f.fix, topo, log.names, f.plan), INDENT, INDENT + "     ")
    return lines


def _counts(findings: Sequence[Finding]) -> str:
    by = [(s, sum(f.severity == s for f in findings)) for s in reversed(SEVERITIES)]
    return ", ".join(f"{n} {s}" for s, n in by if n)


def render_text(
    log: RunLog,
    ever: Mapping[str, Finding],
    topo: Topology,
    host: str | None,
    workload: Sequence[WorkloadFigures] = (),
) -> str:
    """The whole report: a summary line, the load test, each finding, then sampling errors."""
    findings = log.ordered(ever)
    # tenths of a second: a tick that ran a millisecond late is no news (JSON keeps ms)
    head = [f"host {host or '?'}: {round(log.duration_s, 1):g} s, {log.frames} frames"]
    if log.interrupted:
        head[0] += " (interrupted: what was found so far)"
    if findings:
        still = sum(f.key in log.raised for f in findings)
        n = len(findings)
        head.append(
            f"{n} finding{'s' if n != 1 else ''}: {_counts(findings)};"
            f" {still} still raised at the end"
        )
    else:
        head.append("No findings.")
    lines = [line for h in head for line in _wrap(h, "", INDENT)]
    if workload:
        lines += ["", "Load test:", *workload_lines(workload)]
    for f in findings:
        lines.append("")
        lines += render_finding(f, log, topo)
    if log.errors:
        lines += ["", f"Errors while sampling ({len(log.errors)}):"]
        for e in log.errors:
            lines += _wrap(e, INDENT, INDENT + INDENT)
    return "\n".join(lines)
