"""The load test in a real terminal: the strip, a pin from a finding, the before/after panel.

Two runs in tmux: the demo (the whole loop: see the leak, apply its fix, read
the comparison) and the live dashboard with a real HTTP server's metrics.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.test_e2e_tmux import TMUX, Tmux, start_tmux
from tests.test_workload_real import Load, Server, start_server

pytestmark = pytest.mark.real


@pytest.fixture
def session() -> Iterator[str]:
    name = f"nv-{uuid.uuid4().hex[:8]}"
    yield name
    assert TMUX
    subprocess.run([TMUX, "kill-session", "-t", name], capture_output=True)


def test_demo_loop_strip_fix_and_comparison_in_tmux(session: str) -> None:
    cmd = f"{sys.executable} -m numaview demo --compare-window 5 --settle 2; sleep 5"
    start_tmux(session, 160, 50, cmd)
    t = Tmux(session)
    screen = t.wait_for(
        lambda s: "llamacpp · pid 4121" in s and "tok/s" in s and "findings" in s,
        "the load strip and findings",
    )
    assert "vllm :8001" in screen and "TTFT p99" in screen
    time.sleep(1.0)  # Textual's start-up queries
    # the first finding is llama-server's memory on the other node: apply its fix
    t.keys("f")
    t.wait_for(lambda s: "cross-node: pid 4121" in s, "the findings browser")
    t.keys("Enter")
    t.wait_for(
        lambda s: "suggested fix" in s and "Pin pid 4121" in s, "the pin dialog with the fix"
    )
    time.sleep(0.5)
    t.keys("Enter")
    t.wait_for(lambda s: "measuring after pin" in s, "the measurement countdown", timeout=10)
    screen = t.wait_for(
        lambda s: "before" in s and "ITL mean" in s and "better" in s,
        "the before/after panel",
        timeout=20,
    )
    line = next(x for x in screen.splitlines() if "ITL mean" in x and "better" in x)
    assert "→" in line and "-" in line  # a latency that went down
    t.keys("C")  # C hides the panel
    t.wait_for(lambda s: "measuring after pin" not in s and "better" not in s, "panel hidden")


def test_live_dashboard_shows_a_real_servers_figures_and_marks_its_row(session: str) -> None:
    server: Server = start_server(work_ms=2.0)
    load = Load([server], per_server=2)
    try:
        cmd = (
            f"{sys.executable} -m numaview --interval 0.5 --metrics {server.url}"
            " --throughput app_requests_total --latency app_request_seconds; sleep 5"
        )
        start_tmux(session, 140, 40, cmd)
        t = Tmux(session)
        screen = t.wait_for(
            lambda s: f"custom · pid {server.proc.pid}" in s and "req/s" in s,
            "the load strip with the server's pid",
        )
        assert "E2E p99" in screen
        time.sleep(1.0)
        t.keys("/")
        t.wait_for(lambda s: "filter processes" in s, "the filter box")
        t.keys("-l", "loadserver")
        t.keys("Enter")
        screen = t.wait_for(
            lambda s: any(str(server.proc.pid) in x and "◆ custom" in x for x in s.splitlines()),
            "the server's row marked",
        )
    finally:
        load.close()
        server.proc.kill()
        server.proc.wait()
