"""What the Monitor hands the UI (one immutable Bundle per frame or action) and what it takes.

The UI only assigns a Bundle and paints it; everything in it was computed on
the sampling side. Requests go the other way, into the Monitor's inbox: a
pin, a mark, recording on/off, a replay move. Their results come back as
``Event``s in a later bundle, so the UI never waits on one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from numaview.diagnose.findings import Finding
from numaview.model.frame import Frame
from numaview.model.workload import Comparison, Measuring
from numaview.pinning.plan import Target

if TYPE_CHECKING:
    from numaview.pinning.apply import PinEvent
    from numaview.pinning.group import Move, PlanEvent

MAX_EVENTS = 64  # a bundle carries the newest events; the UI shows those it has not seen


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on the sampling side that the user should be told about.

    ``id`` increases by one per event: a bundle replaced in the UI's queue
    (``can_replace``) loses no event, since the next one carries it too.
    """

    id: int
    kind: str  # pin, plan, pin-failed, plan-failed, mark, recording, recording-error, replay
    text: str  # one line for the user
    title: str = ""
    severity: str = "information"  # information, warning, error (Textual's notify)
    mono: float | None = None  # the frame on screen when it happened
    pin: PinEvent | None = None
    plan: PlanEvent | None = None


@dataclass(frozen=True, slots=True)
class RecordingState:
    path: str
    name: str
    frames: int
    seconds: float


@dataclass(frozen=True, slots=True)
class ReplayState:
    first_time: float
    last_time: float
    position: float
    events: tuple[float, ...]  # times of the pins, marks and errors n/N jump between
    speed: float
    playing: bool


@dataclass(frozen=True, slots=True)
class Bundle:
    seq: int  # one per bundle, increasing
    frame: Frame | None
    findings: tuple[Finding, ...]
    events: tuple[Event, ...]  # the newest MAX_EVENTS, oldest first
    interval_s: float
    recording: RecordingState | None = None
    replay: ReplayState | None = None
    jumped: bool = False  # the frame is not the one after the last bundle's (a seek)
    comparisons: tuple[Comparison, ...] = ()  # before/after each pin, newest last
    measuring: tuple[Measuring, ...] = ()  # pins whose after-window is still open
    plans: tuple[str, ...] = ()  # applied plans one undo each takes back, newest last

    def new_events(self, seen: int) -> list[Event]:
        """Events with an id above ``seen``: what a UI that saw up to ``seen`` has to show."""
        return [e for e in self.events if e.id > seen]


# -- requests to the inbox ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PinRequest:
    """Pin (or undo) one process; ``reply`` is called on the sampling side with the result."""

    pid: int
    target: Target
    move_memory: bool = False
    reply: Callable[[PinEvent | None, str | None], None] | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """Apply several pins as one (``moves``), or undo the newest plan (``moves`` empty)."""

    moves: tuple[Move, ...]
    label: str
    reply: Callable[[PlanEvent | None, str | None], None] | None = field(
        default=None, compare=False
    )

    @property
    def undo(self) -> bool:
        return not self.moves


@dataclass(frozen=True, slots=True)
class MarkRequest:
    note: str


@dataclass(frozen=True, slots=True)
class StartRecording:
    path: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StopRecording:
    pass


@dataclass(frozen=True, slots=True)
class ReplayRequest:
    """A move through a recording: ``what`` is a ReplayControl method, ``arg`` its argument."""

    what: str  # play, step, speed, seek_by, seek_to, event, finding
    arg: Any = None


Request = PinRequest | PlanRequest | MarkRequest | StartRecording | StopRecording | ReplayRequest
