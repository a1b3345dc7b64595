"""Shrinking the real terminal under the dashboard: 20×10 says so, growing it back restores it."""

from __future__ import annotations

import sys
import uuid

import pytest

from tests.test_e2e_tmux import TMUX, Tmux, start_tmux

pytestmark = pytest.mark.real


def test_demo_shrunk_to_20x10_says_too_small_and_recovers() -> None:
    assert TMUX, "tmux is required; .ci/run installs it"
    session = f"nv-{uuid.uuid4().hex[:8]}"
    start_tmux(session, 100, 30, f"{sys.executable} -m numaview demo")
    t = Tmux(session)
    try:
        t.wait_for(lambda s: "SIMULATED" in s and "PID" in s, "the demo dashboard")
        t.run("resize-window", "-t", session, "-x", "20", "-y", "10")
        screen = t.wait_for(lambda s: "too small" in s, "the too-small notice")
        assert "20×10" in screen and "40×12" in screen
        assert t.alive()
        t.run("resize-window", "-t", session, "-x", "100", "-y", "30")
        t.wait_for(lambda s: "SIMULATED" in s and "PID" in s, "the dashboard back")
    finally:
        if t.alive():
            t.run("kill-session", "-t", session)


def test_columns_and_lines_are_dropped_only_for_a_real_terminal() -> None:
    import os

    from numaview.cli.dashboard import trust_the_terminal

    master, slave = os.openpty()
    r, w = os.pipe()
    try:
        env = {"COLUMNS": "80", "LINES": "24", "TERM": "xterm"}
        assert trust_the_terminal(env, slave) and env == {"TERM": "xterm"}
        env = {"COLUMNS": "80", "LINES": "24"}
        assert not trust_the_terminal(env, w) and env == {"COLUMNS": "80", "LINES": "24"}
        assert not trust_the_terminal({}, slave)
    finally:
        for fd in (master, slave, r, w):
            os.close(fd)
