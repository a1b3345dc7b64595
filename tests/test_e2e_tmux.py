"""numaview in a real terminal: tmux runs it, send-keys drives it, capture-pane reads it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

TMUX = shutil.which("tmux")


class Tmux:
    def __init__(self, session: str) -> None:
        self.session = session

    def run(self, *args: str) -> str:
        assert TMUX, "tmux is required; .ci/run installs it"
        return subprocess.run([TMUX, *args], check=True, capture_output=True, text=True).stdout

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def wait_for(self, pred: Callable[[str], bool], what: str, timeout: float = 15.0) -> str:
        end = time.monotonic() + timeout
        text = ""
        while time.monotonic() < end:
            text = self.screen()
            if pred(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"never saw {what}; last screen:\n{text}")

    def alive(self) -> bool:
        assert TMUX
        return (
            subprocess.run(
                [TMUX, "has-session", "-t", self.session], capture_output=True
            ).returncode
            == 0
        )


def start_tmux(session: str, width: int, height: int, cmd: str) -> None:
    """A tmux session in a session of its own, stdio detached from pytest's capture.

    Under pytest the pane's shell exports COLUMNS=80 and LINES=24, which
    would freeze a Textual app at 80×24 (numaview drops them: cli.trust_the_terminal).
    """
    assert TMUX, "tmux is required; .ci/run installs it"
    subprocess.run(
        [TMUX, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), cmd],
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _rows(screen: str) -> list[str]:
    """Process rows: lines that start with a pid after the table header."""
    lines = screen.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if "PID" in line and "CPU%" in line), len(lines)
    )
    return [line for line in lines[start + 1 :] if line.strip()[:1].isdigit()]


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    p = subprocess.Popen(["sleep", "300"])
    yield p
    p.kill()
    p.wait()


@pytest.fixture
def tmux_numaview(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    assert TMUX, "tmux is required; .ci/run installs it"
    session = f"nv-{uuid.uuid4().hex[:8]}"
    status = tmp_path / "exit"
    cmd = f"{sys.executable} -m numaview --interval 0.5; echo $? > {status}; sleep 5"
    subprocess.run(
        [TMUX, "new-session", "-d", "-s", session, "-x", "110", "-y", "32", cmd], check=True
    )
    t = Tmux(session)
    try:
        yield t, status
    finally:
        if t.alive():
            subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True)


def test_live_dashboard_in_a_real_terminal(
    tmux_numaview: tuple[Tmux, Path], sleeper: subprocess.Popen[bytes]
) -> None:
    t, status = tmux_numaview
    screen = t.wait_for(lambda s: "LIVE" in s and "PID" in s and "N0" in s, "the dashboard")
    assert "numaview" in screen
    # filter: only the sleeper's row is left
    time.sleep(1.0)  # let Textual finish its start-up terminal queries before typing
    t.keys("/")
    t.wait_for(lambda s: "filter processes" in s, "the filter box")
    t.keys("-l", "sleep 300")
    t.keys("Enter")
    screen = t.wait_for(
        lambda s: f"{sleeper.pid} " in s and "CPU%" in s and len(_rows(s)) == 1, "only the sleeper"
    )
    # select it: the heatmap legend gains the selection markers
    t.keys("Down")
    t.wait_for(lambda s: "threads now" in s, "the selection legend")
    # sort by memory
    t.keys("Escape")
    time.sleep(0.3)
    t.keys("F6")
    t.wait_for(lambda s: "RSS▼" in s, "sort by RSS")
    # pause and resume
    t.keys("Z")  # htop's freeze key (space tags the selected process)
    t.wait_for(lambda s: "PAUSED" in s, "PAUSED")
    t.keys("Z")
    t.wait_for(lambda s: "PAUSED" not in s and "LIVE" in s, "LIVE again")
    # help, then quit
    t.keys("?")
    t.wait_for(lambda s: "numaview — keys" in s, "the help screen")
    t.keys("Escape")  # an Escape followed at once by q would read as alt+q: wait in between
    t.wait_for(lambda s: "numaview — keys" not in s, "the help screen closed")
    t.keys("q")
    end = time.monotonic() + 10
    while not status.exists() and time.monotonic() < end:
        time.sleep(0.1)
    assert status.read_text().strip() == "0"
    # the terminal is restored: the shell line after numaview is plain text again
    assert "LIVE" not in t.screen()


def test_ctrl_c_restores_the_terminal_and_exits_0(tmux_numaview: tuple[Tmux, Path]) -> None:
    t, status = tmux_numaview
    t.wait_for(lambda s: "LIVE" in s and "PID" in s, "the dashboard")
    time.sleep(1.0)
    t.keys("C-c")
    end = time.monotonic() + 10
    while not status.exists() and time.monotonic() < end:
        time.sleep(0.1)
    assert status.read_text().strip() == "0"
    assert "PID" not in t.screen()  # the alternate screen is gone
