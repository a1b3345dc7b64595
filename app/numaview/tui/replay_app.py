"""The dashboard over a recording: the live keys, plus keys that move through time.

A subclass of NumaviewApp (make_app picks it for a "replay" source) so that
app.py stays the live dashboard. Seeks do not go through FrameArrived: the
source refills its ring, and here the detectors start over on the last 30 s
before the position, so findings are those of that moment, not of the
frames played before the jump.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from numaview.diagnose.engine import HISTORY_S, Diagnoser
from numaview.model.frame import Frame
from numaview.record.replay import NAV_EVENTS, ReplaySource, parse_when
from numaview.tui.app import FrameArrived, NumaviewApp
from numaview.tui.keys import HELP_TEXT
from numaview.tui.screens.prompt import PromptScreen
from numaview.tui.widgets.header import HeaderBar
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
}
FINDING_SCAN_S = 600.0  # how far a next/previous-finding seek looks

REPLAY_BINDINGS: list[BindingType] = [
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

    source: ReplaySource

    def on_mount(self) -> None:
        super().on_mount()
        self.set_interval(0.5, self._show_state)  # playing stops by itself at the end
        self._show_state()

    def help_bindings(self) -> list[BindingType]:
        # Replay keys first; + and - (sampling interval) mean nothing for a recording.
        live = [b for b in NumaviewApp.BINDINGS if not _is(b, "sample_faster", "sample_slower")]
        return [*REPLAY_BINDINGS, *live]

    def _show_state(self) -> None:
        src = self.source
        self.query_one(HeaderBar).show(paused=not src.playing)
        shown = self.frame
        self.query_one(Timeline).show(
            first=src.first_time,
            last=src.last_time,
            position=shown.time if shown is not None else src.first_time,
            events=[e.time for e in src.events if e.kind in NAV_EVENTS],
            speed=src.speed,
            playing=src.playing,
        )

    def on_frame_arrived(self, message: FrameArrived) -> None:
        message.prevent_default()  # NumaviewApp's handler runs once, from here
        if message.frame is not self.source.ring.latest():
            return  # queued before a seek or step: no longer where the recording is
        super().on_frame_arrived(message)
        self._show_state()

    def jumped(self, frame: Frame | None) -> None:
        """After a seek: the detectors start over on the HISTORY_S before the position."""
        if frame is None:
            return
        self.diagnoser = Diagnoser(self.topology)
        self.findings = ()
        for f in self.source.ring.window(HISTORY_S):
            self.findings = self.diagnoser.update(f)
        self._diagnosed_seq = frame.seq
        self.latest = frame
        self.show_frame(frame)
        self._show_state()

    # -- keys ----------------------------------------------------------------------------

    def action_sample_faster(self) -> None:
        self.notify("a recording keeps its sampling interval; ] plays faster", timeout=3)

    def action_sample_slower(self) -> None:
        self.notify("a recording keeps its sampling interval; [ plays slower", timeout=3)

    def action_toggle_pause(self) -> None:
        self.source.toggle_playing()
        self._show_state()

    def action_replay_step(self, direction: int) -> None:
        before = self.source.frame
        frame = self.source.step(direction)
        if frame is None:
            self.notify("the end of the recording" if direction > 0 else "the start", timeout=2)
        elif direction > 0 and before is not None and frame.seq > before.seq:
            super().on_frame_arrived(FrameArrived(frame))  # the detectors go on from here
        else:
            self.jumped(frame)
        self._show_state()

    def action_replay_speed(self, direction: int) -> None:
        speed = self.source.step_speed(direction)
        self.notify(f"{speed:g}×", timeout=1)
        self._show_state()

    def action_replay_seek(self, seconds: int) -> None:
        self.jumped(self.source.seek_by(seconds))

    def action_replay_event(self, direction: int) -> None:
        hit = self.source.seek_event(direction)
        if hit is None:
            self.notify("no more events that way", timeout=2)
            return
        event, frame = hit
        self.jumped(frame)
        what = event.data.get("note") or event.data.get("target") or event.data.get("error") or ""
        self.notify(f"{event.kind} {what}".strip(), timeout=4)

    def action_replay_finding(self, direction: int) -> None:
        """Seek to where the raised findings change, found by a throwaway Diagnoser.

        Findings are recomputed, not read from the file (improved detectors
        apply to old recordings), so the scan runs them over the frames; it is
        bounded to FINDING_SCAN_S so a long recording cannot stall the screen.
        """
        cur = self.source.frame
        if cur is None:
            return
        d = Diagnoser(self.topology)
        if direction > 0:
            for f in self.source.ring.window(HISTORY_S):
                d.update(f)
            now = {x.key for x in d.current()}
            frames = self.source.reader.frames_between(cur.time + 1e-6, cur.time + FINDING_SCAN_S)
            for f in frames:
                keys = {x.key for x in d.update(f)}
                if keys != now:
                    self.jumped(self.source.seek(f.time))
                    self._say_change(now, keys)
                    return
        else:
            start = cur.time - FINDING_SCAN_S - HISTORY_S
            change, before, prev = None, set(), None
            for f in self.source.reader.frames_between(start, cur.time - 1e-6):
                keys = {x.key for x in d.update(f)}
                if prev is not None and keys != prev and f.time >= start + HISTORY_S:
                    change, before = f, prev
                prev = keys
            if change is not None:
                self.jumped(self.source.seek(change.time))
                self._say_change(before, {x.key for x in self.findings})
                return
        self.notify("the findings do not change within 10 min that way", timeout=3)

    def _say_change(self, before: set[str], after: set[str]) -> None:
        raised = sorted(after - before)
        cleared = sorted(before - after)
        parts = [f"raised {', '.join(raised)}"] * bool(raised) + [
            f"cleared {', '.join(cleared)}"
        ] * bool(cleared)
        self.notify("; ".join(parts) or "findings changed", timeout=5)

    def action_replay_goto(self) -> None:
        self.push_screen(
            PromptScreen("go to (seconds from the start, or HH:MM:SS):", placeholder="90"),
            self._goto,
        )

    def _goto(self, text: str | None) -> None:
        if text is None:
            return
        try:
            t = parse_when(text, self.source.first_time)
        except ValueError:
            self.notify(f"{text!r}: not seconds or HH:MM:SS", severity="warning", timeout=4)
            return
        self.jumped(self.source.seek(t))

    def _can_pin(self) -> bool:
        self.notify("re-pinning is disabled in replay (this is a recording)", severity="warning")
        return False


def _is(b: BindingType, *actions: str) -> bool:
    return isinstance(b, Binding) and b.action in actions
