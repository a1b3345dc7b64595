"""The demo's load test end to end: pins change its figures, the Monitor compares them,
the recording keeps the samples and the comparison, ``numaview compare`` agrees."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from numaview.cli.parser import main
from numaview.demo.machine import SimulatedSampler
from numaview.demo.pinner import SimulatedPinner
from numaview.model.frame import Frame
from numaview.model.workload import Comparison, FigureChange
from numaview.pinning.plan import l3_target, node_target
from numaview.record.reader import Reader
from numaview.render.report import StepClock
from numaview.stream.bundle import Bundle, PinRequest
from numaview.stream.factories import for_source
from numaview.stream.measure import Windows
from numaview.stream.monitor import Monitor
from numaview.stream.source import ManualSource

LLAMA, VLLM_A, VLLM_B = 4121, 5200, 5300
URL = {
    LLAMA: "http://127.0.0.1:8080/metrics",
    VLLM_A: "http://127.0.0.1:8001/metrics",
    VLLM_B: "http://127.0.0.1:8002/metrics",
}


class Demo:
    def __init__(self) -> None:
        self.clock = StepClock()
        self.sim = SimulatedSampler(seed=7, clock=self.clock)
        self.source = ManualSource(self.sim, kind="simulated", interval_s=1.0)
        self.monitor: Monitor = for_source(
            self.source, pinner=SimulatedPinner(self.sim), windows=Windows(10.0, 3.0, 10.0)
        )
        self.bundles: list[Bundle] = []
        self.monitor.start(self.bundles.append)

    def run(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.sleep(1.0)
            self.source.push()

    @property
    def frame(self) -> Frame:
        f = self.bundles[-1].frame
        assert f is not None
        return f

    def comparison(self, pid: int) -> Comparison:
        return next(c for c in self.bundles[-1].comparisons if c.source == URL[pid])


def change(c: Comparison, figure: str) -> FigureChange:
    return next(ch for ch in c.changes if ch.figure == figure)


def test_demo_publishes_figures_for_its_three_servers() -> None:
    d = Demo()
    d.run(12)
    by = {w.source: w for w in d.frame.workload}
    assert set(by) == set(URL.values())
    assert by[URL[VLLM_A]].server == "vllm" and by[URL[LLAMA]].server == "llamacpp"
    assert by[URL[VLLM_B]].pid == VLLM_B
    for w in by.values():
        assert w.figures["out_tok_s"] is not None and w.figures["out_tok_s"] > 0
    assert by[URL[VLLM_A]].figures["ttft_p99_s"] is not None
    assert by[URL[LLAMA]].figures["itl_mean_s"] is not None


def test_moving_vllm_b_off_the_shared_l3_raises_both_throughputs() -> None:
    d = Demo()
    d.run(20)
    replies: list[object] = []
    d.monitor.submit(
        PinRequest(VLLM_B, l3_target(d.sim.topology, 5), reply=lambda e, err: replies.append(err))
    )
    assert replies == [None]
    assert d.bundles[-1].measuring, "a pin with workload sources opens a measurement"
    d.run(14)
    assert not d.bundles[-1].measuring
    for pid in (VLLM_A, VLLM_B):
        ch = change(d.comparison(pid), "out_tok_s")
        assert ch.better is True and ch.beyond_noise is True
        assert ch.change_pct is not None and ch.change_pct > 40, ch
    events = [e for e in d.bundles[-1].events if e.kind == "compare"]
    assert len(events) == 3  # one per source


def test_moving_llama_servers_memory_home_lowers_its_token_latency() -> None:
    d = Demo()
    d.run(20)
    d.monitor.submit(PinRequest(LLAMA, node_target(d.sim.topology, 1), move_memory=True))
    d.run(16)
    ch = change(d.comparison(LLAMA), "itl_mean_s")
    assert ch.better is True and ch.beyond_noise is True
    assert ch.change_pct is not None and ch.change_pct < -25, ch
    # the server that did not move is not called better or worse beyond noise
    same = change(d.comparison(VLLM_A), "out_tok_s")
    assert not same.beyond_noise, same


def test_recorded_samples_and_comparison_replay_and_compare_agree(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "demo.numaview"
    d = Demo()
    d.monitor.start_recording(str(path), {})
    d.run(20)
    d.monitor.submit(PinRequest(VLLM_B, l3_target(d.sim.topology, 5)))
    d.run(14)
    live = change(d.comparison(VLLM_B), "out_tok_s")
    d.monitor.stop()
    with Reader(path) as r:
        frames = list(r)
        assert all(len(f.workload) == 3 for f in frames[1:])
        kept = [e for e in r.events("compare")]
        assert {e.data["source"] for e in kept} == set(URL.values())
    assert main(["compare", str(path), "--window", "10", "--settle", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1 and out[0]["pin"] == 1
    got = next(c for c in out[0]["comparisons"] if c["source"] == URL[VLLM_B])
    again = next(ch for ch in got["changes"] if ch["figure"] == "out_tok_s")
    assert again["after"] == pytest.approx(live.after, rel=1e-6)
    assert again["before"] == pytest.approx(live.before, rel=1e-6)
    assert main(["compare", str(path)]) == 0
    text = capsys.readouterr().out
    assert "pin 1: moved pid 5300" in text and "better" in text
    assert main(["compare", str(path), "--event", "2"]) == 1
    assert "no pin 2" in capsys.readouterr().err
    assert main(["export", str(path), "--what", "workload", "--format", "json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {r["source"] for r in rows} == set(URL.values())
    assert any(r["out_tok_s"] for r in rows)


def test_a_format_1_recording_still_opens_and_has_no_workload(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """tests/data/recording-v1.numaview: made by numaview before workload samples (format 1.0)."""
    path = Path(__file__).parent / "data" / "recording-v1.numaview"
    with Reader(path) as r:
        frames = list(r)
    assert len(frames) >= 3
    assert all(f.version == 1 and f.workload == () for f in frames)
    assert main(["compare", str(path)]) == 0
    assert "no pins recorded" in capsys.readouterr().out
    assert main(["export", str(path), "--what", "workload"]) == 0


def test_findings_name_the_load_tests_servers() -> None:
    d = Demo()
    d.run(12)
    evidence = " | ".join(f.evidence for f in d.bundles[-1].findings)
    assert "vllm-a [vllm :8001] (5200) + vllm-b [vllm :8002] (5300)" in evidence, evidence
    assert "pid 4121 llama-server [llamacpp :8080]" in evidence, evidence


def test_replay_shows_the_recorded_comparison_once_past_its_after_window(tmp_path: Path) -> None:
    from numaview.record.replay import ReplaySource

    path = tmp_path / "demo.numaview"
    d = Demo()
    d.monitor.start_recording(str(path), {})
    d.run(20)
    d.monitor.submit(PinRequest(VLLM_B, l3_target(d.sim.topology, 5)))
    pin_mono = d.frame.mono
    d.run(16)
    d.monitor.stop()
    src = ReplaySource(Reader(path), threaded=False)
    m = for_source(src, threaded=False)
    assert m.recorded is not None and len(m.recorded.comparisons) == 3
    got: list[Bundle] = []
    m.start(got.append)
    before, after = m.recorded.at(pin_mono - 1), m.recorded.at(pin_mono + 1)
    assert before == ((), ())
    assert after[0] == () and len(after[1]) == 1  # counting down
    done, pending = m.recorded.at(pin_mono + 14)
    assert {c.source for c in done} == set(URL.values()) and pending == ()
    m.stop()
