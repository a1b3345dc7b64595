"""The plan dialog (P): divide the machine between several processes, see it, confirm.

Its processes are the tagged ones (space in the process table), or the
selected finding's, or a finding's fix that moves several processes (then
the fix is the first choice). Every change of strategy, housekeeping cores
or the memory switch recomputes the partition at once (pure model code, no
I/O) and redraws the map (one colour per process) and the table (now →
target, CPUs, the memory that moves, refusals). What needs the OS — each
process's cgroup cpuset, its owner, whether it is a kernel thread — is
asked once, in a worker (``aside``). A plan its cpusets forbid says why and
cannot be applied. Apply asks first (and again for another user's process
or a kernel thread), then sends one ``PlanRequest``: the Monitor applies
every move or none and answers with a message; a failure keeps the dialog
open with the reason. ``u`` undoes the newest applied plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from numaview.diagnose.findings import PinPlan
from numaview.model.frame import Frame, ProcessSample
from numaview.model.partition import STRATEGIES, Partition, PartitionError, partition
from numaview.model.topology import Topology
from numaview.pinning.group import Move, moves_of, refusals
from numaview.render.partition import colour_slots, plan_table
from numaview.render.units import MISSING
from numaview.stream.bundle import PlanRequest
from numaview.tui.screens.aside import aside
from numaview.tui.screens.confirm import ConfirmScreen
from numaview.tui.screens.plan_choices import (
    FIX,
    Checks,
    check,
    confirm_text,
    default_strategy,
    fix_moves,
    fix_partition,
    foreign_text,
    member,
    strategy_text,
)
from numaview.tui.widgets.planmap import PlanMap

if TYPE_CHECKING:
    from numaview.pinning.apply import Pinner
    from numaview.pinning.group import PlanEvent
    from numaview.stream.monitor import Monitor

SHORT_H = 36  # below this many rows the dialog drops its spacing
MAX_BOX_W = 110  # #plan-box's width in app.tcss
KEYS = "↑↓ strategy · enter apply · m memory · u undo last plan · esc cancel"
BAD_HOUSEKEEPING = "housekeeping: type a whole number of cores (0 keeps none free)"


@dataclass(frozen=True, slots=True)
class FixPreset:
    """A finding whose fix moves several processes: shown as the first choice."""

    label: str  # the plan's name in the event and the recording
    plans: tuple[PinPlan, ...]
    moves: tuple[Move, ...]
    move_memory: bool


class PlanDone(Message):
    def __init__(self, event: PlanEvent | None, error: str | None) -> None:
        super().__init__()
        self.event = event
        self.error = error


class PlanScreen(ModalScreen["PlanEvent | None"]):
    """Divide the machine; dismissed with the applied (or undone) plan, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("m", "toggle_memory", "Memory"),
        Binding("u", "undo_plan", "Undo last plan"),
        Binding("enter", "apply", "Apply"),
    ]

    def __init__(
        self,
        topology: Topology,
        frame: Frame | None,
        procs: Sequence[ProcessSample],
        pinner: Pinner,
        monitor: Monitor,
        *,
        plans: tuple[str, ...] = (),
        preset: FixPreset | None = None,
    ) -> None:
        super().__init__()
        self.topology = topology
        self.frame = frame
        self.procs = tuple(procs)
        self.pinner = pinner
        self.monitor = monitor
        self.plans = plans  # applied plans that can be undone, newest last
        self.preset = preset
        self.strategy = FIX if preset is not None else default_strategy(topology)
        self.checks: Checks | None = None  # the worker's answers (cpusets, owners)
        self.part: Partition | None = None  # the plan on screen (None: it cannot be made)
        self.moves: list[Move] = []  # what Apply sends
        self.error = ""  # why the plan cannot be made or applied
        self.failure = ""  # why the last request failed
        self.applying = False

    # -- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        n = len(self.procs)
        title = (
            f"Plan: the finding's fix, {n} processes ({self.preset.label})"
            if self.preset is not None
            else f"Plan: divide the machine between {n} process{'' if n == 1 else 'es'}"
        )
        with Vertical(id="plan-box"):
            yield Static(title, id="plan-title", markup=False)
            with Horizontal(id="plan-top"):
                yield OptionList(*self._options(), id="plan-strategies", compact=True)
                with Vertical(id="plan-options"):
                    with Horizontal(id="plan-house"):
                        yield Static("housekeeping cores ", id="plan-house-label")
                        yield Input("0", id="plan-housekeeping", compact=True, max_length=4)
                    memory = self.preset.move_memory if self.preset is not None else False
                    yield Checkbox("move memory too (m)", memory, id="plan-memory", compact=True)
            yield PlanMap(self.topology, id="plan-map")
            yield Static("", id="plan-note", markup=False)
            with VerticalScroll(id="plan-table-box"):
                yield Static("", id="plan-table", markup=False)
            yield Static("", id="plan-error", markup=False)
            with Horizontal(id="plan-buttons"):
                yield Button("Apply", id="plan-apply", compact=True)
                yield Button("Undo last plan (u)", id="plan-undo", compact=True)
                yield Button("Cancel", id="plan-cancel", compact=True)
            yield Static(KEYS, id="plan-keys", markup=False)

    def _options(self) -> list[Option]:
        ids = ([FIX] if self.preset is not None else []) + list(STRATEGIES)
        return [Option(Text(strategy_text(s)), id=s) for s in ids]

    def on_resize(self) -> None:
        # At 80×24 the margins would push the table and the buttons off screen.
        self.set_class(self.app.size.height < SHORT_H, "-short")

    def on_mount(self) -> None:
        self.on_resize()
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(self.strategy)
        options.focus()
        pinner, pids = self.pinner, [p.pid for p in self.procs]
        aside(self, self.monitor.threaded, lambda: check(pinner, pids), self._checked, "checks")
        self._recompute()

    def _checked(self, checks: Checks) -> None:
        if self.is_attached:
            self.checks = checks
            self._recompute()

    # -- the plan --------------------------------------------------------------------

    def choose(self, strategy: str) -> None:
        """Highlight a strategy (as the arrow keys do) and recompute."""
        options = self.query_one(OptionList)
        options.highlighted = options.get_option_index(strategy)
        if strategy != self.strategy:
            self.strategy = strategy
            self._recompute()

    def _housekeeping(self) -> int:
        text = self.query_one("#plan-housekeeping", Input).value.strip()
        if not text:
            return 0
        if not text.isdigit() or not text.isascii():
            raise PartitionError(BAD_HOUSEKEEPING)
        return int(text)

    def _memory(self) -> bool:
        return self.query_one("#plan-memory", Checkbox).value

    def _recompute(self) -> None:
        """A new choice: the partition again (pure), its map, table and refusals."""
        self.part, self.moves, self.error, self.failure = None, [], "", ""
        cpusets = self.checks.cpusets if self.checks is not None else {}
        memory = self._memory()
        try:
            if self.preset is not None and self.strategy == FIX:
                part = fix_partition(self.topology, self.procs, self.preset.plans, cpusets, memory)
                moves = fix_moves(self.preset.moves, part)
            else:
                members = [member(p, cpusets.get(p.pid)) for p in self.procs]
                part = partition(
                    self.topology,
                    members,
                    self.strategy,
                    housekeeping=self._housekeeping(),
                    move_memory=memory,
                    frame=self.frame,
                )
                moves = moves_of(part)
        except PartitionError as exc:
            self.error = str(exc)
        else:
            self.part, self.moves = part, moves
            self.error = refusals(part) or self._gone(moves)
        self._paint()

    def _gone(self, moves: Sequence[Move]) -> str:
        gone = self.checks.gone if self.checks is not None else {}
        return "; ".join(f"pid {m.pid} ({m.name}): {gone[m.pid]}" for m in moves if m.pid in gone)

    def ready(self) -> bool:
        """Apply can go: a plan, nothing refused, the checks back, no request pending."""
        return (
            self.part is not None
            and bool(self.moves)
            and not self.error
            and self.checks is not None
            and not self.applying
        )

    def table_text(self) -> str:
        if self.part is None:
            return MISSING
        width = min(self.app.size.width, MAX_BOX_W) - 4
        return "\n".join(plan_table(self.part, self.frame, self.topology, width))

    def _paint(self) -> None:
        part = self.part
        names = (
            [(s.pid, s.name) for s in part.shares]
            if part
            else [(p.pid, p.name) for p in self.procs]
        )
        self.query_one(PlanMap).show_plan(
            colour_slots(part) if part is not None else {},
            part.housekeeping if part is not None else (),
            [f"pid {pid} {name}" for pid, name in names],
        )
        table = Text(self.table_text(), no_wrap=True, overflow="ellipsis")
        self.query_one("#plan-table", Static).update(table)
        self.query_one("#plan-housekeeping", Input).disabled = self.strategy == FIX
        note = self.query_one("#plan-note", Static)
        note.update(self._note())
        note.display = bool(self._note())
        line = self.query_one("#plan-error", Static)
        why = self.error or self.failure
        line.update(f"✗ {why}")
        line.display = bool(why)
        self.query_one("#plan-apply", Button).disabled = not self.ready()
        self.query_one("#plan-undo", Button).disabled = not self.plans or self.applying

    def _note(self) -> str:
        if self.applying:
            return "applying…"
        if self.checks is None:
            return "checking each process's cgroup cpuset…"
        if self.strategy == FIX:
            return "the finding's fix names the CPUs itself: housekeeping does not apply"
        if len(self.procs) == 1:
            return "one process: it gets one share (tag two or more with space to divide)"
        return ""

    # -- events ----------------------------------------------------------------------

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option.id is not None and event.option.id != self.strategy:
            self.strategy = event.option.id
            self._recompute()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_apply()

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self._recompute()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_apply()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self._recompute()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "plan-apply":
            self.action_apply()
        elif event.button.id == "plan-undo":
            self.action_undo_plan()
        else:
            self.action_cancel()

    # -- actions ---------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_toggle_memory(self) -> None:
        self.query_one("#plan-memory", Checkbox).toggle()

    def action_apply(self) -> None:
        if not self.ready():
            self.app.bell()  # nothing valid, a refusal, the checks not back yet, or applying
            return
        moves = list(self.moves)
        self.app.push_screen(
            ConfirmScreen(confirm_text(moves)), lambda yes: self._confirmed(yes, moves)
        )

    def _confirmed(self, yes: bool | None, moves: list[Move]) -> None:
        if not yes:
            self._say_not_applied()
            return
        assert self.checks is not None
        users = {p.pid: p.user for p in self.procs}
        second = foreign_text(moves, self.checks, users)
        if second is None:
            self._submit(moves)
            return

        def again(yes: bool | None) -> None:
            if yes:
                self._submit(moves)
            else:
                self._say_not_applied()

        self.app.push_screen(ConfirmScreen(second), again)

    def _say_not_applied(self) -> None:
        self.failure = "not applied: nothing moved"
        self._paint()

    def _label(self) -> str:
        if self.preset is not None and self.strategy == FIX:
            return self.preset.label
        return self.part.label if self.part is not None else ""

    def _request(self, moves: Sequence[Move], label: str) -> None:
        self.applying, self.failure = True, ""
        self._paint()

        def reply(event: PlanEvent | None, error: str | None) -> None:
            self.post_message(PlanDone(event, error))  # from the sampling side

        self.monitor.submit(PlanRequest(tuple(moves), label, reply))

    def _submit(self, moves: Sequence[Move]) -> None:
        self._request(moves, self._label())

    def action_undo_plan(self) -> None:
        if not self.plans or self.applying:
            self.app.bell()
            return
        self._request((), self.plans[-1])

    def on_plan_done(self, message: PlanDone) -> None:
        self.applying = False
        if message.event is None:
            self.failure = message.error or "the plan failed"
            self._paint()
            return
        self.dismiss(message.event)
