"""Record this machine headless, then replay it in a real terminal (tmux)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.test_e2e_tmux import TMUX, Tmux, start_tmux

pytestmark = pytest.mark.real


def _marker(screen: str) -> float:
    """Where the timeline's ▮ sits along its bar, 0 (start) to 1 (end); -1 if not shown."""
    for line in screen.splitlines():
        if "▮" in line and "paused" in line:
            bar = line.split(" ", 1)[0]  # the bar runs up to the first space
            return bar.index("▮") / max(len(bar) - 1, 1) if "▮" in bar else -1.0
    return -1.0


def test_record_then_replay_in_a_real_terminal(tmp_path: Path) -> None:
    rec = tmp_path / "here.nvrec"
    r = subprocess.run(
        [sys.executable, "-m", "numaview", "record", "-o", str(rec), "--duration", "5s",
         "--interval", "0.5"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert TMUX, "tmux is required; .ci/run installs it"
    session = f"nv-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "exit"
    start_tmux(
        session, 120, 36, f"{sys.executable} -m numaview replay {rec}; echo $? > {status}; sleep 5"
    )
    t = Tmux(session)
    try:
        t.wait_for(lambda s: "REPLAY" in s and "PID" in s, "the replay dashboard")
        time.sleep(1.0)  # let Textual finish its start-up terminal queries before typing
        t.keys("Space")
        t.wait_for(lambda s: "paused" in s and "PAUSED" in s, "paused")
        t.keys("Right")  # +10 s: past the end of a 5 s recording, so to its last frame
        t.wait_for(lambda s: _marker(s) > 0.8, "the timeline's marker at the end")
        t.keys("Left")  # -10 s: back to the first frame
        t.wait_for(lambda s: _marker(s) == 0.0, "the timeline's marker at the start")
        t.keys("q")
        end = time.monotonic() + 10
        while not status.exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert status.read_text().strip() == "0"
    finally:
        if t.alive():
            subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True)
