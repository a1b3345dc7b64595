"""The dashboard over a recording: the live keys, plus keys that move through time.

A subclass of NumaviewApp (make_app picks it when the Monitor has a replay
control) so that app.py stays the live dashboard. Every key is a request to
the Monitor (stream/replay_control.py), which moves the recording, starts
the detectors over on the 30 s before the position, and sends one bundle
with the replay state for the timeline; nothing here reads the file.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from numaview.stream.bundle import ReplayRequest
from numaview.tui.app import BundleArrived, NumaviewApp
from numaview.tui.keys import HELP_TEXT
from numaview.tui.screens.prompt import PromptScreen
from numaview.tui.widgets.header import HeaderBar
from numaview.tui.widgets.proctable import ProcessTable
from numaview.tui.widgets.timeline import Timeline

REPLAY_HELP = {
    "toggle_pause": "play / pause the recording",
    "replay_step(1)": "one frame forward (pauses)",
    "replay_step(-1)": "one frame back (pauses)",
    "replay_speed(-1)": "slower: 60×, 10×, 2×, 1×",
    "replay_speed(1)": "faster: 1×, 2×, 10×, 60×",
    "replay_seek(-10)": "back 10 s",
    "replay_seek(10)": "forward 10 s",
    "replay_seek(-60)": "back 60 s",
    "replay_seek(60)": "forward 60 s",
    "replay_event(1)": "next event (pin, mark, sampler error)",
    "replay_event(-1)": "previous event",
    "replay_finding(1)": "next moment the findings change (raised or cleared), within 10 min",
    "replay_finding(-1)": "previous moment the findings changed, within 10 min",
    "replay_goto": "go to a time: seconds from the start or HH:MM:SS",
    "pin_process": "disabled in replay (this is a recording)",
    "plan_processes": "disabled in replay (this is a recording)",
    "toggle_tag": "play / pause the recording",  # space: nothing to tag in a recording
}

REPLAY_BINDINGS: list[BindingType] = [
    # A player's habit: space plays and pauses (Z as well); a recording has nothing to tag.
    Binding("space", "toggle_pause", "Play/pause", show=False),
    Binding("full_stop", "replay_step(1)", "Step", show=False),
    Binding("comma", "replay_step(-1)", "Step back", show=False),
    Binding("left_square_bracket", "replay_speed(-1)", "Slower", show=False),
    Binding("right_square_bracket", "replay_speed(1)", "Faster"),
    Binding("left", "replay_seek(-10)", "−10 s", show=False),
    Binding("right", "replay_seek(10)", "+10 s", show=False),
    Binding("shift+left", "replay_seek(-60)", "−60 s", show=False),
    Binding("shift+right", "replay_seek(60)", "+60 s", show=False),
    Binding("n", "replay_event(1)", "Next event"),
    Binding("N", "replay_event(-1)", "Previous event", show=False),
    Binding("right_curly_bracket", "replay_finding(1)", "Next finding change", show=False),
    Binding("left_curly_bracket", "replay_finding(-1)", "Previous finding change", show=False),
    Binding("g", "replay_goto", "Go to"),
]
REPLAY_KEY_NAMES = {
    "full_stop": ".",
    "comma": ",",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "left": "←",
    "right": "→",
    "shift+left": "shift+←",
    "shift+right": "shift+→",
}


class ReplayApp(NumaviewApp):
    BINDINGS: ClassVar[list[BindingType]] = REPLAY_BINDINGS
    HELP_TEXTS: ClassVar[dict[str, str]] = {**HELP_TEXT, **REPLAY_HELP}
    KEY_NAMES: ClassVar[dict[str, str]] = REPLAY_KEY_NAMES

    def help_bindings(self) -> list[BindingType]:
        # Replay keys first; + and - (sampling interval) mean nothing for a recording.
        live = [b for b in NumaviewApp.BINDINGS if not _is(b, "sample_faster", "sample_slower")]
        return [*REPLAY_BINDINGS, *live]

    def on_mount(self) -> None:  # Textual runs NumaviewApp.on_mount too (every class's handler)
        self.query_one(ProcessTable).taggable = False  # space goes on to play / pause

    def on_bundle_arrived(self, message: BundleArrived) -> None:
        super().on_bundle_arrived(message)
        self._show_state()
        # Textual calls every class's handler in the MRO: without this, NumaviewApp's
        # would run again after this one and paint every bundle twice.
        message.prevent_default()

    def _show_state(self) -> None:
        state = self.bundle.replay if self.bundle is not None else None
        if state is None:
            return
        self.query_one(HeaderBar).show(paused=not state.playing)
        self.query_one(Timeline).show(
            first=state.first_time,
            last=state.last_time,
            position=state.position,
            events=list(state.events),
            speed=state.speed,
            playing=state.playing,
        )

    def _ask(self, what: str, arg: object = None) -> None:
        self.monitor.submit(ReplayRequest(what, arg))

    # -- keys ----------------------------------------------------------------------------

    def action_sample_faster(self) -> None:
        self.notify("a recording keeps its sampling interval; ] plays faster", timeout=3)

    def action_sample_slower(self) -> None:
        self.notify("a recording keeps its sampling interval; [ plays slower", timeout=3)

    def action_toggle_pause(self) -> None:
        self._ask("play")

    def action_replay_step(self, direction: int) -> None:
        self._ask("step", direction)

    def action_replay_speed(self, direction: int) -> None:
        self._ask("speed", direction)

    def action_replay_seek(self, seconds: int) -> None:
        self._ask("seek_by", seconds)

    def action_replay_event(self, direction: int) -> None:
        self._ask("event", direction)

    def action_replay_finding(self, direction: int) -> None:
        self._ask("finding", direction)

    def action_replay_goto(self) -> None:
        self.push_screen(
            PromptScreen("go to (seconds from the start, or HH:MM:SS):", placeholder="90"),
            self._goto,
        )

    def _goto(self, text: str | None) -> None:
        if text is not None:
            self._ask("seek_to", text)

    def _can_pin(self) -> bool:
        self.notify("re-pinning is disabled in replay (this is a recording)", severity="warning")
        return False


def _is(b: BindingType, *actions: str) -> bool:
    return isinstance(b, Binding) and b.action in actions
