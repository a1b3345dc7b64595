"""Plans from the dashboard (P; Enter on a finding whose fix is a plan): the processes, the dialog.

A mixin of NumaviewApp to keep app.py small, on top of the pinning one (a
finding's fix that moves one process still opens the pin dialog). The
processes are the tagged ones (space, htop's habit), else those of the
finding under the cursor of the focused findings panel. The dialog asks the
pinner its questions in a worker and the plan itself is a request to the
Monitor, which applies it on the sampling side and sends a ``plan`` event.
"""

from __future__ import annotations

from collections.abc import Sequence

from numaview.diagnose.findings import Finding
from numaview.model.frame import ProcessSample
from numaview.pinning.plan import PinError
from numaview.stream.actions import moves_from
from numaview.stream.bundle import Bundle
from numaview.tui.pinning import PinningMixin
from numaview.tui.screens.plan import FixPreset, PlanScreen
from numaview.tui.screens.plan_choices import processes_of
from numaview.tui.widgets.findings import FindingsPanel
from numaview.tui.widgets.proctable import ProcessTable

NOTHING_TAGGED = "tag processes with space (or choose a finding) first"


class PlanningMixin(PinningMixin):
    """NumaviewApp's plan half; the attributes below (and PinningMixin's) are NumaviewApp's."""

    bundle: Bundle | None

    def action_toggle_tag(self) -> None:
        """Space from anywhere on the dashboard: the table's selected row (the palette's entry)."""
        self.query_one(ProcessTable).action_toggle_tag()

    def action_untag_all(self) -> None:
        n = self.query_one(ProcessTable).untag_all()
        self.notify(f"{n} untagged" if n else "nothing was tagged", timeout=2)

    def action_plan_processes(self) -> None:
        if not self._can_pin():
            return
        frame = self.frame
        if frame is None:
            self.notify("no frame yet: wait a moment", severity="warning", timeout=3)
            return
        table = self.query_one(ProcessTable)
        procs = processes_of(frame, table.tagged)
        if not procs:
            panel = self.query_one(FindingsPanel)
            finding = panel.selected if panel.has_focus else None
            if finding is not None:
                procs = [p for pid in finding.pids if (p := frame.process(pid)) is not None]
        if not procs:
            self.notify(NOTHING_TAGGED, severity="warning", timeout=4)
            return
        self._open_plan(procs, None)

    def _open_fix(self, finding: Finding | None) -> None:
        if finding is None or not finding.plan:
            super()._open_fix(finding)
            return
        if not self._can_pin() or self.frame is None:
            return
        frame = self.frame
        procs: list[ProcessSample] = []
        for plan in finding.plan:
            p = frame.process(plan.pid)
            if p is None or p.start_time != plan.start_time:
                self.notify(f"process {plan.pid} is gone", severity="warning", timeout=4)
                return
            procs.append(p)
        try:
            moves = moves_from(self.topology, finding.plan, {p.pid: p.name for p in procs})
        except PinError as exc:
            self.notify(f"this finding's fix cannot be applied: {exc}", severity="warning")
            return
        preset = FixPreset(
            f"{finding.kind} fix",
            finding.plan,
            tuple(moves),
            any(p.move_memory for p in finding.plan),
        )
        self._open_plan(procs, preset)

    def _open_plan(self, procs: Sequence[ProcessSample], preset: FixPreset | None) -> None:
        pinner = self.monitor.pinner
        assert pinner is not None
        bundle = self.bundle
        plans = bundle.plans if bundle is not None else ()
        self.push_screen(
            PlanScreen(
                self.topology, self.frame, procs, pinner, self.monitor, plans=plans, preset=preset
            )
        )
